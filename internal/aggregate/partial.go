package aggregate

import (
	"fmt"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/llm-platform/harness/internal/record"
)

// Partial is an Aggregator's state as a load generator ships it to the
// process that reports (the distributed sweep's workers to the harness):
// the histograms in HdrHistogram's compressed V2 encoding (the
// interchange form every HdrHistogram implementation reads; hdrhistogram-go
// writes it base64), the counts, and the span on the generator's own
// clock. Merge folds several into one cell's Figures exactly: percentiles
// never average, histograms add, so the merged percentiles are those of one
// histogram fed every sample.
type Partial struct {
	Histograms map[string]string `json:"histograms"`
	// The counts, as in Figures.
	Requests         int64                  `json:"requests"`
	Successes        int64                  `json:"successes"`
	Good             int64                  `json:"good"`
	OutputTokens     int64                  `json:"output_tokens"`
	UsageMismatches  int64                  `json:"usage_mismatches"`
	PromptTokens     int64                  `json:"prompt_tokens"`
	PromptMismatches int64                  `json:"prompt_mismatches"`
	Errors           map[record.Class]int64 `json:"errors,omitempty"`
	// First, Last and LastStart bound the requests on the generator's
	// clock: the first start, the last end, the last start.
	First     time.Time `json:"first,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	LastStart time.Time `json:"last_start,omitzero"`
	// Recovery is the generator's longest outage (Figures.Recovery).
	Recovery time.Duration `json:"recovery"`
}

// histograms names a shard's histograms on the wire.
func (s *shard) histograms() map[string]*hdrhistogram.Histogram {
	return map[string]*hdrhistogram.Histogram{"ttft": s.ttft, "itl": s.itl, "tpot": s.tpot, "e2e": s.e2e,
		"queue": s.queue, "response_ttft": s.respTTFT, "response_e2e": s.respE2E}
}

// Export is the Aggregator's state so far.
func (a *Aggregator) Export() (Partial, error) {
	m := a.collect()
	p := Partial{Histograms: map[string]string{}, Requests: m.requests, Successes: m.successes, Good: m.good,
		OutputTokens: m.tokens, UsageMismatches: m.mismatch, PromptTokens: m.prompt, PromptMismatches: m.promptMismatch,
		Errors: m.errors, First: m.first, Last: m.last, LastStart: m.lastStart, Recovery: a.recovery()}
	for name, h := range m.histograms() {
		b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			return Partial{}, fmt.Errorf("aggregate: encoding %s: %w", name, err)
		}
		p.Histograms[name] = string(b)
	}
	return p, nil
}

// Merge folds the generators' partials into one cell's figures. shift[i],
// when given, is subtracted from partial i's instants: the generator's
// clock offset from the reporting process's, so the cell's span is on one
// clock. Recovery is the longest of the generators' own (an outage is seen
// per generator). A partial that does not decode is an error naming it.
func Merge(parts []Partial, shift []time.Duration) (Figures, error) {
	m := newShard()
	var recovery time.Duration
	for i, p := range parts {
		s := newShard()
		for name, h := range s.histograms() {
			enc, ok := p.Histograms[name]
			if !ok {
				return Figures{}, fmt.Errorf("aggregate: partial %d: no %s histogram", i, name)
			}
			d, err := hdrhistogram.Decode([]byte(enc))
			if err != nil {
				return Figures{}, fmt.Errorf("aggregate: partial %d: %s: %w", i, name, err)
			}
			h.Merge(d)
		}
		var off time.Duration
		if i < len(shift) {
			off = shift[i]
		}
		move := func(t time.Time) time.Time {
			if t.IsZero() {
				return t
			}
			return t.Add(-off)
		}
		s.requests, s.successes, s.good, s.tokens = p.Requests, p.Successes, p.Good, p.OutputTokens
		s.mismatch, s.prompt, s.promptMismatch = p.UsageMismatches, p.PromptTokens, p.PromptMismatches
		for k, v := range p.Errors {
			s.errors[k] = v
		}
		s.first, s.last, s.lastStart = move(p.First), move(p.Last), move(p.LastStart)
		m.merge(s)
		recovery = max(recovery, p.Recovery)
	}
	return m.figures(recovery), nil
}
