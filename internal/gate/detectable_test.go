package gate

import (
	"math"
	"testing"
)

// h200Noise is the noise measured on an H200 running a TinyLlama-shaped
// server with continuous batching (PERF_REPEATS=5, 4 and 16 VUs, 16
// requests a VU): each metric's CV between the repeats of one run, and
// between server lifetimes (the lifetime medians; TTFT p50's was not
// measured apart and is taken as TTFT p95's). The middle of each measured
// range.
var h200Noise = []struct {
	metric               string
	repeatCV, lifetimeCV float64
}{
	{"itl_p50_ms", 0.025, 0.016},
	{"ttft_p50_ms", 0.25, 0.10},
	{"ttft_p95_ms", 0.12, 0.10},
	{"rps", 0.06, 0.05},
}

// TestDetectableOnTheH200 is how the GPU workflow's defaults were chosen:
// the smallest change the history gate detects (power 0.8, α 0.05) for
// each metric at the H200's noise, as the nightly's requests per VU and
// repeats vary, with 20 runs pooled. A repeat's CV is taken to shrink with
// the square root of its requests (measured at 16 a VU). The figures are
// logged (docs/benchmarks.md has them); the test holds what the choice
// rests on: the within-run part shrinks with requests and repeats, the
// between-run part does not move, and tripling the nightly's time (96
// requests a VU and 8 repeats against the default 48 and 5) lowers no
// metric's two-night figure by more than 6 points: the spread between
// lifetimes, which no setting of a run lowers, is most of TTFT's.
func TestDetectableOnTheH200(t *testing.T) {
	g := HistoryGate{Alpha: DefaultAlpha, MinRuns: DefaultMinRuns} // no tolerance: the statistical figure
	const pooled = 20
	at := func(repeatCV, lifetimeCV float64, perVU, repeats int) (one, two, within, between float64) {
		cv := repeatCV * math.Sqrt(16/float64(perVU))
		d := HistoryDetectable(medianSE(cv, repeats), lifetimeCV, pooled, g)
		return d.Pct, d.TwoNightsPct, d.WithinPct, d.BetweenPct
	}
	for _, n := range h200Noise {
		var last float64 = math.Inf(1)
		for _, plan := range []struct{ perVU, repeats int }{{16, 5}, {48, 3}, {48, 5}, {96, 5}, {96, 8}} {
			one, two, within, between := at(n.repeatCV, n.lifetimeCV, plan.perVU, plan.repeats)
			t.Logf("%-12s %3d requests a VU, %d repeats: one night %5.1f%% (within %4.1f, between %4.1f), two nights %5.1f%%",
				n.metric, plan.perVU, plan.repeats, one, within, between, two)
			if two >= one {
				t.Errorf("%s: two nights (%v%%) no better than one (%v%%)", n.metric, two, one)
			}
			if plan.repeats == 5 {
				if within > last {
					t.Errorf("%s: more requests raised the within-run part: %v > %v", n.metric, within, last)
				}
				last = within
			}
		}
		d1, d2, _, b1 := at(n.repeatCV, n.lifetimeCV, 48, 5)
		e1, e2, _, b2 := at(n.repeatCV, n.lifetimeCV, 96, 8)
		if b1 != b2 || d2-e2 > 6 {
			t.Errorf("%s: the default reaches %v%% / %v%%, triple the time %v%% / %v%% (between %v vs %v)", n.metric, d1, d2, e1, e2, b1, b2)
		}
	}
}
