package accuracy

import (
	"context"
	"sync"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/record"
)

// Interleaved is a load.Doer that follows each of the harness's requests
// with one of the reference's on the same virtual user, so the two are
// interleaved request by request under the same load: the same server
// state, the same machine, the same moment. Only the harness's record goes
// to the engine's sink; the reference's timings are kept here.
type Interleaved struct {
	harness load.Doer
	ref     *Reference

	mu      sync.Mutex
	timings []Timing
	errs    []error
}

var _ load.Doer = (*Interleaved)(nil)

// Interleave wraps the harness's client.
func Interleave(harness load.Doer, ref *Reference) *Interleaved {
	return &Interleaved{harness: harness, ref: ref}
}

// Do runs the harness's request, then the reference's.
func (i *Interleaved) Do(ctx context.Context, rec *record.Record) {
	i.harness.Do(ctx, rec)
	t, err := i.ref.Do(ctx)
	i.mu.Lock()
	defer i.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			i.errs = append(i.errs, err)
		}
		return
	}
	i.timings = append(i.timings, t)
}

// Reset forgets what was recorded (the warm-up's requests, say).
func (i *Interleaved) Reset() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.timings, i.errs = nil, nil
}

// Timings returns the reference's requests so far, and its failures.
func (i *Interleaved) Timings() ([]Timing, []error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]Timing(nil), i.timings...), append([]error(nil), i.errs...)
}

// Samples are a set of requests' TTFTs, ITLs (every gap) and E2Es, the
// samples Compare takes.
type Samples struct {
	TTFT, ITL, E2E []time.Duration
}

// ReferenceFigures collects the figures of reference timings.
func ReferenceFigures(ts []Timing) Samples {
	var f Samples
	for _, t := range ts {
		f.TTFT = append(f.TTFT, t.TTFT())
		f.ITL = append(f.ITL, t.Gaps()...)
		f.E2E = append(f.E2E, t.E2E())
	}
	return f
}

// HarnessFigures collects the same figures from the harness's records
// (successful ones only).
func HarnessFigures(recs []record.Record) Samples {
	var f Samples
	for _, r := range recs {
		if !r.Succeeded() {
			continue
		}
		f.TTFT = append(f.TTFT, r.TTFT())
		f.ITL = append(f.ITL, r.ChunkGaps...)
		f.E2E = append(f.E2E, r.E2E())
	}
	return f
}

// CompareFigures compares each figure of the harness with the
// reference's, with the given allowance.
func CompareFigures(harness, reference Samples, allowance time.Duration) []Check {
	return []Check{
		CompareMedian("TTFT p50", allowance, Median(harness.TTFT), len(harness.TTFT), reference.TTFT),
		CompareMedian("ITL p50", allowance, Median(harness.ITL), len(harness.ITL), reference.ITL),
		CompareMedian("E2E p50", allowance, Median(harness.E2E), len(harness.E2E), reference.E2E),
	}
}

// Recorder is a load.Sink that keeps a copy of every harness record, for
// HarnessFigures.
type Recorder struct {
	mu   sync.Mutex
	recs []record.Record
}

var _ load.Sink = (*Recorder)(nil)

// Add keeps a copy of rec (the engine reuses it after the call).
func (r *Recorder) Add(_ int, rec *record.Record) {
	c := *rec
	c.ChunkGaps = append([]time.Duration(nil), rec.ChunkGaps...)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, c)
}

// Figures returns the kept records' figures.
func (r *Recorder) Figures() Samples {
	r.mu.Lock()
	defer r.mu.Unlock()
	return HarnessFigures(r.recs)
}
