// Package scrape reads a vLLM server's Prometheus /metrics before and after
// a cell and reports what the server itself counted in between: requests,
// tokens, and its own view of TTFT and end-to-end latency. The harness
// compares these with what it measured at the client, which is how a proxy's
// overhead or a miscounted token shows up.
//
// The text format is parsed with github.com/prometheus/common/expfmt, the
// Prometheus project's own parser, so every exposition vLLM produces reads
// the same way Prometheus would read it.
package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"

	"github.com/llm-platform/harness/internal/results"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/llm-platform/harness/internal/openai"
)

// maxBody bounds a scrape: vLLM's exposition is tens of KiB.
const maxBody = 8 << 20

// The vLLM metrics read. vLLM names its counters with the _total suffix
// (what prometheus_client exposes); some simulators use the bare name: both
// are read.
var names = map[string]func(*Snapshot) *Value{
	"vllm:num_requests_running":    func(s *Snapshot) *Value { return &s.Running },
	"vllm:num_requests_waiting":    func(s *Snapshot) *Value { return &s.Waiting },
	"vllm:request_success_total":   func(s *Snapshot) *Value { return &s.Successes },
	"vllm:request_success":         func(s *Snapshot) *Value { return &s.Successes },
	"vllm:generation_tokens_total": func(s *Snapshot) *Value { return &s.GenerationTokens },
	"vllm:generation_tokens":       func(s *Snapshot) *Value { return &s.GenerationTokens },
	"vllm:prompt_tokens_total":     func(s *Snapshot) *Value { return &s.PromptTokens },
	"vllm:prompt_tokens":           func(s *Snapshot) *Value { return &s.PromptTokens },
	"vllm:kv_cache_usage_perc":     func(s *Snapshot) *Value { return &s.KVCacheUsage },
	"vllm:num_preemptions_total":   func(s *Snapshot) *Value { return &s.Preemptions },
	"vllm:num_preemptions":         func(s *Snapshot) *Value { return &s.Preemptions },
	// vLLM V1's prefix cache, counted in tokens.
	"vllm:prefix_cache_queries_total": func(s *Snapshot) *Value { return &s.PrefixQueries },
	"vllm:prefix_cache_queries":       func(s *Snapshot) *Value { return &s.PrefixQueries },
	"vllm:prefix_cache_hits_total":    func(s *Snapshot) *Value { return &s.PrefixHits },
	"vllm:prefix_cache_hits":          func(s *Snapshot) *Value { return &s.PrefixHits },
}

// The histograms read: their sums and counts give the server's own means.
const (
	mTTFT  = "vllm:time_to_first_token_seconds"
	mE2E   = "vllm:e2e_request_latency_seconds"
	mQueue = "vllm:request_queue_time_seconds"
)

// ErrNoVLLMMetrics means the endpoint answered but exposes no vLLM metric.
var ErrNoVLLMMetrics = errors.New("scrape: no vllm:* metrics exposed")

// Value is one metric's value, and whether the target exposes it at all: a
// metric it lacks is unknown, never 0.
type Value struct {
	V  float64
	OK bool
}

// Of is an exposed value.
func Of(v float64) Value { return Value{V: v, OK: true} }

// Snapshot is the vLLM metrics at one instant, summed over label sets
// (several models or engines on one server add up).
type Snapshot struct {
	Running, Waiting   Value
	Successes          Value
	GenerationTokens   Value
	PromptTokens       Value
	TTFTSum, TTFTCount Value
	E2ESum, E2ECount   Value
	// KVCacheUsage is the KV cache's used fraction (vLLM's
	// kv_cache_usage_perc, 0 to 1, despite its name); Preemptions counts
	// sequences preempted for want of KV cache; QueueSum and QueueCount are
	// the time requests waited to be scheduled.
	KVCacheUsage         Value
	Preemptions          Value
	QueueSum, QueueCount Value
	// PrefixQueries and PrefixHits are the prefix cache's queried and
	// cached prompt tokens.
	PrefixQueries, PrefixHits Value
}

// Take scrapes e's /metrics.
func Take(ctx context.Context, hc *http.Client, e openai.Endpoint) (Snapshot, error) {
	req, err := e.NewRequest(ctx, "/metrics")
	if err != nil {
		return Snapshot{}, fmt.Errorf("scrape: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Snapshot{}, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return Snapshot{}, fmt.Errorf("scrape: /metrics: HTTP %s", resp.Status)
	}
	return Parse(io.LimitReader(resp.Body, maxBody))
}

// Parse reads a text exposition.
func Parse(r io.Reader) (Snapshot, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Snapshot{}, fmt.Errorf("scrape: parse: %w", err)
	}
	var s Snapshot
	found := false
	for name, f := range families {
		switch name {
		case mTTFT:
			s.TTFTSum, s.TTFTCount = histogram(f)
		case mE2E:
			s.E2ESum, s.E2ECount = histogram(f)
		case mQueue:
			s.QueueSum, s.QueueCount = histogram(f)
		default:
			dst, ok := names[name]
			if !ok {
				continue
			}
			*dst(&s) = Of(value(f))
		}
		found = true
	}
	if !found {
		return Snapshot{}, ErrNoVLLMMetrics
	}
	return s, nil
}

func value(f *dto.MetricFamily) float64 {
	var v float64
	for _, m := range f.GetMetric() {
		switch {
		case m.GetCounter() != nil:
			v += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			v += m.GetGauge().GetValue()
		case m.GetUntyped() != nil:
			v += m.GetUntyped().GetValue()
		}
	}
	return v
}

func histogram(f *dto.MetricFamily) (sum, count Value) {
	for _, m := range f.GetMetric() {
		if h := m.GetHistogram(); h != nil {
			sum, count = Of(sum.V+h.GetSampleSum()), Of(count.V+float64(h.GetSampleCount()))
		}
	}
	return sum, count
}

// Delta is what the server counted between two snapshots: results.json's
// type (package results owns the file's shape), which Since fills.
type Delta = results.ServerDelta

// Since returns the change from before to s. A counter that went down (the
// server restarted mid-cell) yields the after value, as Prometheus' rate()
// treats a reset.
func (s Snapshot) Since(before Snapshot) Delta {
	return Delta{
		Requests:           counterDelta(before.Successes, s.Successes),
		GenerationTokens:   counterDelta(before.GenerationTokens, s.GenerationTokens),
		PromptTokens:       counterDelta(before.PromptTokens, s.PromptTokens),
		TTFTMeanMs:         meanMs(counterDelta(before.TTFTSum, s.TTFTSum), counterDelta(before.TTFTCount, s.TTFTCount)),
		E2EMeanMs:          meanMs(counterDelta(before.E2ESum, s.E2ESum), counterDelta(before.E2ECount, s.E2ECount)),
		RunningAfter:       gauge(s.Running),
		WaitingAfter:       gauge(s.Waiting),
		KVCacheUsagePeak:   peak(before.KVCacheUsage, s.KVCacheUsage),
		Preemptions:        counterDelta(before.Preemptions, s.Preemptions),
		QueueMeanMs:        meanMs(counterDelta(before.QueueSum, s.QueueSum), counterDelta(before.QueueCount, s.QueueCount)),
		PrefixCacheHitRate: ratio(counterDelta(before.PrefixHits, s.PrefixHits), counterDelta(before.PrefixQueries, s.PrefixQueries)),
	}
}

// ratio is a/b, nil when either is unknown or b is 0.
func ratio(a, b *float64) *float64 {
	if a == nil || b == nil || *b == 0 {
		return nil
	}
	r := math.Round(*a / *b * 1e4) / 1e4
	return &r
}

// Peak raises d's KV cache peak to what a snapshot taken during the cell
// saw: the two ends alone would miss a peak in between.
func Peak(d *Delta, during Snapshot) {
	if !during.KVCacheUsage.OK {
		return
	}
	if d.KVCacheUsagePeak == nil || during.KVCacheUsage.V > *d.KVCacheUsagePeak {
		v := during.KVCacheUsage.V
		d.KVCacheUsagePeak = &v
	}
}

// peak is the larger of two gauge readings, nil when neither exists.
func peak(a, b Value) *float64 {
	switch {
	case a.OK && b.OK:
		v := math.Max(a.V, b.V)
		return &v
	case b.OK:
		return &b.V
	case a.OK:
		return &a.V
	}
	return nil
}

func gauge(v Value) *float64 {
	if !v.OK {
		return nil
	}
	return &v.V
}

// counterDelta is after - before. A counter absent before but present after
// started from 0: a labelled counter has no series until its first
// increment (vLLM's request_success_total before any request finished).
func counterDelta(before, after Value) *float64 {
	if !after.OK {
		return nil
	}
	d := after.V - before.V
	if after.V < before.V {
		d = after.V
	}
	return &d
}

func meanMs(sum, count *float64) *float64 {
	if sum == nil || count == nil {
		return nil
	}
	m := 0.0
	if *count > 0 {
		m = math.Round(*sum / *count * 1e6) / 1e3
	}
	return &m
}
