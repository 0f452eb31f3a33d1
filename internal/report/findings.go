package report

import (
	"fmt"

	"github.com/llm-platform/harness/internal/load"
)

// Knee thresholds: a step up in concurrency is past the saturation knee
// when RPS grows by less than half as much as concurrency did while p95 E2E
// grows by more than kneeLatencyGrowth.
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
	P95Growth             float64 // ratio next/at of p95 E2E
	// Max is the highest concurrency measured (for "kept scaling up to").
	Max int
}

// FindKnee looks for the saturation knee in a payload's closed-loop cells.
func FindKnee(cells []Entry) Knee {
	k := Knee{}
	for i := 0; i+1 < len(cells); i++ {
		a, b := cells[i], cells[i+1]
		k.Max = b.Concurrency
		if a.RPS <= 0 || a.E2E.P95 <= 0 || a.Concurrency <= 0 {
			continue
		}
		conc := float64(b.Concurrency) / float64(a.Concurrency)
		rps := b.RPS / a.RPS
		p95 := b.E2E.P95 / a.E2E.P95
		if (rps-1) < kneeEfficiency*(conc-1) && p95-1 > kneeLatencyGrowth {
			return Knee{Found: true, At: a.Concurrency, Next: b.Concurrency, RPSGrowth: rps, ConcGrowth: conc, P95Growth: p95, Max: cells[len(cells)-1].Concurrency}
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
	return fmt.Sprintf("saturation knee at %s: going to %s (x%.3g) raised RPS by %+.0f%% while p95 E2E rose %+.0f%%",
		load.VUs(k.At), load.VUs(k.Next), k.ConcGrowth, (k.RPSGrowth-1)*100, (k.P95Growth-1)*100)
}

// MeetsSLOs reports whether a cell meets the run's SLOs (on p95) without
// errors beyond the allowed rate.
func (r *Results) MeetsSLOs(c Entry) bool {
	s := r.Settings
	return c.ErrorRate() <= s.MaxErrorRate &&
		(s.SLOTTFTms == 0 || c.TTFT.P95 <= s.SLOTTFTms) &&
		(s.SLOE2Ems == 0 || c.E2E.P95 <= s.SLOE2Ems)
}

// BestCell returns the payload's closed-loop cell with the highest RPS
// that meets the SLOs, if any.
func (r *Results) BestCell(payload string) (Entry, bool) {
	var best Entry
	found := false
	for _, c := range r.closedCells(payload) {
		if r.MeetsSLOs(c) && (!found || c.RPS > best.RPS) {
			best, found = c, true
		}
	}
	return best, found
}

// ClassMeaning says what an error class usually means on this platform.
var ClassMeaning = map[string]string{
	"timeout":          "the server went silent (no headers, or no bytes for the idle timeout): a stalled backend or a proxy holding the connection",
	"client_abort":     "the harness's request deadline ended the request; NGINX logs it as 499 (client closed request) when no response header had been sent yet, e.g. a long non-streamed generation: not a server stall",
	"http_4xx":         "the request was refused: wrong model name (404), body too large (413), missing or wrong API key (401/403)",
	"http_429":         "rate limited by vLLM or the ingress",
	"http_5xx":         "server or proxy error: 504 is the ingress proxy read timeout cutting a long generation, 502/503 a backend down or not ready",
	"conn_refused":     "nothing listening: pod not ready, wrong port or address",
	"conn_reset":       "the connection was dropped: a pod killed or a proxy reset mid-request",
	"stream_truncated": "the stream ended without [DONE]: a proxy cut it or the server died mid-generation",
	"bad_event":        "the server sent an event that is not JSON, or no choices at all",
	"other":            "a transport error of another kind; the raw records (-records) keep its text",
}
