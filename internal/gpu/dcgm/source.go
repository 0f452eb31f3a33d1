package dcgm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/llm-platform/harness/internal/gpu"
)

const (
	// DefaultInterval is dcgm-exporter's collection interval (its -c,
	// DCGM_EXPORTER_INTERVAL, 30000 ms), assumed until readings show it.
	DefaultInterval = 30 * time.Second
	// pollEvery is the least time between two fetches of a round: a new
	// reading is seen within it. Await polls as often.
	pollEvery = time.Second
	// fetchTimeout bounds one fetch.
	fetchTimeout = 10 * time.Second
)

// Getter fetches the exporter's /metrics once.
type Getter func(ctx context.Context) ([]byte, error)

// URL is a Getter of an exporter's /metrics URL (PERF_DCGM_URL).
func URL(c *http.Client, url string) Getter {
	return func(ctx context.Context) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		return b, err
	}
}

// Exporter is a gpu.Paced source over one exporter, for the GPUs Match
// picked. A reading is an answer whose figures for those GPUs differ from
// the one before (the exporter serves its last collection until the
// next); its time is when it was first seen, within pollEvery of its
// collection.
type Exporter struct {
	get     Getter
	devices []gpu.Device

	mu        sync.Mutex
	cur       map[string]Exported // by UUID: the reading in force
	seen      time.Time           // when it was first seen
	fetched   time.Time
	gaps      []time.Duration // between readings seen one after another
	lastError error
}

// Open reads the exporter once, picks the GPUs w names, and returns the
// Exporter. where says how the exporter was reached (for the report). Errors
// wrap gpu.ErrNoGPU: no answer, no GPU, none that serves the model.
func Open(ctx context.Context, get Getter, w Want, where string) (*Exporter, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	b, err := get(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: DCGM exporter %s: %v", gpu.ErrNoGPU, where, err)
	}
	gpus, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w: DCGM exporter %s: %v", gpu.ErrNoGPU, where, err)
	}
	picked, how, err := Match(gpus, w)
	if err != nil {
		return nil, fmt.Errorf("%w: DCGM exporter %s: %v", gpu.ErrNoGPU, where, err)
	}
	s := &Exporter{get: get, cur: map[string]Exported{}, seen: time.Now(), fetched: time.Now()}
	for _, g := range picked {
		d := gpu.Device{Index: g.Index, Name: g.Model, UUID: g.UUID, Driver: g.Driver, Source: "dcgm", Match: how, Exporter: where,
			GPM: hasAny(g, "DCGM_FI_PROF_SM_ACTIVE", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE")}
		var smp gpu.Sample
		g.fill(&smp)
		d.MemoryTotalMB = int64(smp.MemTotalMiB)
		s.devices = append(s.devices, d)
		s.cur[g.UUID] = g
	}
	return s, nil
}

func hasAny(g Exported, names ...string) bool {
	for _, n := range names {
		if _, ok := g.Values[n]; ok {
			return true
		}
	}
	return false
}

// Devices are the GPUs that serve the model.
func (s *Exporter) Devices() []gpu.Device { return s.devices }

// Sample fills the reading in force for device i, fetching first when
// the last fetch is older than pollEvery. A failed fetch keeps the
// reading in force (it is not new, so nothing is folded twice).
func (s *Exporter) Sample(i int, out *gpu.Sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.fetched) >= pollEvery {
		s.fetch()
	}
	g, ok := s.cur[s.devices[i].UUID]
	out.Time = s.seen
	if !ok {
		out.Missing = out.Read
		return
	}
	g.fill(out)
}

// fetch reads the exporter and takes its answer as a new reading when
// the figures of the GPUs sampled changed. s.mu is held.
func (s *Exporter) fetch() {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	now := time.Now()
	s.fetched = now
	b, err := s.get(ctx)
	var gpus []Exported
	if err == nil {
		gpus, err = Parse(b)
	}
	if s.lastError = err; err != nil {
		return
	}
	next := map[string]Exported{}
	changed := false
	for _, g := range gpus {
		if prev, ok := s.cur[g.UUID]; ok {
			next[g.UUID] = g
			changed = changed || !maps.Equal(prev.Values, g.Values)
		}
	}
	if len(next) != len(s.cur) {
		changed = true // a GPU left the answer: its fields go missing from now on
	}
	if changed {
		s.gaps = append(s.gaps, now.Sub(s.seen))
		s.cur, s.seen = next, now
	}
}

// Interval is the exporter's collection interval: the median gap between
// readings seen after the first (the first gap runs from Open, not from a
// reading), else DefaultInterval.
func (s *Exporter) Interval() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.gaps) < 2 {
		return DefaultInterval
	}
	g := slices.Clone(s.gaps[1:])
	slices.Sort(g)
	return g[len(g)/2]
}

// Await fetches every pollEvery until a reading first seen after t is in
// force, or ctx ends.
func (s *Exporter) Await(ctx context.Context, t time.Time) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		s.mu.Lock()
		if !s.seen.After(t) {
			s.fetch()
		}
		ok, lastErr := s.seen.After(t), s.lastError
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("dcgm: no reading after %s: %w", t.Format(time.TimeOnly), ctx.Err()), lastErr)
		case <-tick.C:
		}
	}
}

// Close releases nothing: the exporter is read over HTTP.
func (s *Exporter) Close() error { return nil }

var _ gpu.Paced = (*Exporter)(nil)
