package report

import (
	"fmt"
	"strings"

	"github.com/llm-platform/harness/internal/results"

	"github.com/llm-platform/harness/internal/load"
)

// Knee thresholds: a step up in concurrency is past the saturation knee
// when RPS grows by less than half as much as concurrency did while p95 E2E
// grows by more than kneeLatencyGrowth. Where either cell has too few
// requests for a p95 (MinSamples), the step is judged on p50 E2E instead.
const (
	kneeEfficiency    = 0.5
	kneeLatencyGrowth = 0.20
)

// Knee describes where a payload's RPS stopped scaling.
type Knee struct {
	Found bool
	// At is the last concurrency before the knee; Next the one after.
	At, Next              int
	RPSGrowth, ConcGrowth float64 // ratios next/at
	// LatencyGrowth is the ratio next/at of E2E at Percentile: p95, or
	// p50 where either cell's sample cannot support a p95.
	LatencyGrowth float64
	Percentile    string
	// Max is the highest concurrency measured (for "kept scaling up to").
	Max int
}

// FindKnee looks for the saturation knee in a payload's closed-loop cells.
func FindKnee(cells []results.Cell) Knee {
	k := Knee{}
	for i := 0; i+1 < len(cells); i++ {
		a, b := cells[i], cells[i+1]
		k.Max = b.Concurrency
		pct, at, next := "p95", a.E2E.P95, b.E2E.P95
		if !a.E2E.Supports("p95") || !b.E2E.Supports("p95") {
			pct, at, next = "p50", a.E2E.P50, b.E2E.P50
		}
		if a.RPS <= 0 || at <= 0 || a.Concurrency <= 0 {
			continue
		}
		conc := float64(b.Concurrency) / float64(a.Concurrency)
		rps := b.RPS / a.RPS
		lat := next / at
		if (rps-1) < kneeEfficiency*(conc-1) && lat-1 > kneeLatencyGrowth {
			return Knee{Found: true, At: a.Concurrency, Next: b.Concurrency, RPSGrowth: rps, ConcGrowth: conc, LatencyGrowth: lat, Percentile: pct, Max: cells[len(cells)-1].Concurrency}
		}
	}
	if len(cells) == 1 {
		k.Max = cells[0].Concurrency
	}
	return k
}

// String is the finding in a sentence.
func (k Knee) String() string {
	if !k.Found {
		return "no saturation knee: RPS kept scaling up to " + load.VUs(k.Max)
	}
	return fmt.Sprintf("saturation knee at %s: going to %s (x%.3g) raised RPS by %+.0f%% while %s E2E rose %+.0f%%",
		load.VUs(k.At), load.VUs(k.Next), k.ConcGrowth, (k.RPSGrowth-1)*100, k.Percentile, (k.LatencyGrowth-1)*100)
}

// MeetsSLOs reports whether a cell meets the run's SLOs (on p95) without
// errors beyond the allowed rate.
func (r doc) meetsSLOs(c results.Cell) bool {
	s := r.Settings
	return c.ErrorRate() <= s.MaxErrorRate &&
		(s.SLOTTFTms == 0 || c.TTFT.P95 <= s.SLOTTFTms) &&
		(s.SLOE2Ems == 0 || c.E2E.P95 <= s.SLOE2Ems)
}

// BestCell returns the payload's closed-loop cell with the highest RPS
// that meets the SLOs, if any, among the cells whose sample supports the
// p95 the SLOs are set on; unjudged counts the cells left out for too few
// requests.
func (r doc) bestCell(payload string) (best results.Cell, found bool, unjudged int) {
	for _, c := range r.closedCells(payload) {
		if (r.Settings.SLOTTFTms > 0 && !c.TTFT.Supports("p95")) || (r.Settings.SLOE2Ems > 0 && !c.E2E.Supports("p95")) {
			unjudged++
			continue
		}
		if r.meetsSLOs(c) && (!found || c.RPS > best.RPS) {
			best, found = c, true
		}
	}
	return best, found, unjudged
}

// ClassMeaning says what an error class usually means on this platform.
var ClassMeaning = map[string]string{
	"timeout":          "the server went silent (no headers, or no bytes for the idle timeout): a stalled backend or a proxy holding the connection",
	"client_abort":     "the harness's request deadline ended the request; NGINX logs it as 499 (client closed request) when no response header had been sent yet, e.g. a long non-streamed generation: not a server stall",
	"http_4xx":         "the request was refused: wrong model name (404), body too large (413), missing or wrong API key (401/403)",
	"context_overflow": "the prompt plus max_tokens exceed the model's context window (max_model_len in /v1/models): the server refused the request before any work; shorten the prompt or lower max_tokens",
	"http_429":         "rate limited by vLLM or the ingress",
	"http_5xx":         "server or proxy error: 504 is the ingress proxy read timeout cutting a long generation, 502/503 a backend down or not ready",
	"conn_refused":     "nothing listening: pod not ready, wrong port or address",
	"conn_reset":       "the connection was dropped: a pod killed or a proxy reset mid-request",
	"stream_truncated": "the stream ended without [DONE]: a proxy cut it or the server died mid-generation",
	"bad_event":        "the server sent an event that is not JSON, or no choices at all",
	"other":            "a transport error of another kind; the raw records (-records) keep its text",
}

// pct turns a fraction into a percentage, keeping nil.
func pct(f *float64) *float64 {
	if f == nil {
		return nil
	}
	v := *f * 100
	return &v
}

// Thresholds at which the server's side explains a knee.
const (
	kvPressure    = 0.90 // KV cache at least this full
	queueingShare = 0.10 // requests waited at least this share of their E2E to be scheduled
)

// serverPressure says what the server reported at a cell that explains
// saturation: KV cache pressure, preemptions, server-side queueing; "" when
// nothing (or nothing exposed).
func serverPressure(c results.Cell) string {
	s := c.Server
	if s == nil {
		return ""
	}
	var why []string
	if s.KVCacheUsagePeak != nil && *s.KVCacheUsagePeak >= kvPressure {
		why = append(why, fmt.Sprintf("the KV cache peaked at %.0f%%", *s.KVCacheUsagePeak*100))
	}
	if s.Preemptions != nil && *s.Preemptions > 0 {
		why = append(why, fmt.Sprintf("%.0f sequences were preempted for want of KV cache", *s.Preemptions))
	}
	if s.QueueMeanMs != nil && c.E2E.Mean > 0 && *s.QueueMeanMs >= queueingShare*c.E2E.Mean {
		why = append(why, fmt.Sprintf("requests waited %.0f ms on average to be scheduled (%.0f%% of their E2E)", *s.QueueMeanMs, 100**s.QueueMeanMs/c.E2E.Mean))
	}
	return strings.Join(why, ", ")
}

// kneeCause says what the server reported at the first cell past the knee,
// when it explains it: the "why" a team otherwise digs out by hand.
func kneeCause(k Knee, cells []results.Cell) string {
	if !k.Found {
		return ""
	}
	for _, c := range cells {
		if c.Concurrency == k.Next {
			if why := serverPressure(c); why != "" {
				return fmt.Sprintf("the knee coincides with the server's own saturation: at %s %s.", load.VUs(c.Concurrency), why)
			}
		}
	}
	return ""
}

// kvFinding says whether the KV cache was ever the limit: its peak over
// every cell, when the target exposes it.
func (r doc) kvFinding() string {
	var peak float64
	var where string
	seen := false
	for _, c := range r.Cells {
		if c.Server == nil || c.Server.KVCacheUsagePeak == nil {
			continue
		}
		if v := *c.Server.KVCacheUsagePeak; !seen || v > peak {
			peak, where, seen = v, c.Name(), true
		}
	}
	switch {
	case !seen:
		return ""
	case peak < 0.5:
		return fmt.Sprintf("- **KV cache is not the limit**: its usage peaked at %.1f%% (%s).\n", peak*100, where)
	}
	return fmt.Sprintf("- **KV cache**: its usage peaked at %.1f%% (%s).\n", peak*100, where)
}
