package gate

import (
	"math/rand/v2"
	"testing"

	"github.com/llm-platform/harness/internal/results"
)

// modelRepeats draws n repeats of a cell under the simulator's noise
// model: a run speed 1 + cv*N(0,1) (times slowdown) that scales every
// latency and divides the throughput, and an independent per-metric
// measurement noise (per-token jitter and scheduling, averaged over the
// cell's requests).
func modelRepeats(rng *rand.Rand, n int, cv, slowdown, noise float64) results.Cell {
	var runs []results.Cell
	for range n {
		f := (1 + cv*rng.NormFloat64()) * slowdown
		e := func() float64 { return 1 + noise*rng.NormFloat64() }
		c := results.Cell{Mode: "closed", RPS: 10 / f * e(), OutputTokS: 640 / f * e(), Errors: map[string]int64{},
			TTFT: results.Dist{P50: 20 * f * e(), P95: 30 * f * e()}, ITL: results.Dist{P50: 8 * f * e()},
			TPOT: results.Dist{P50: 8.1 * f * e()}, E2E: results.Dist{P95: 600 * f * e()}}
		runs = append(runs, results.OneRepeat(c))
	}
	return results.Combine(runs)
}

// TestGateErrorRates holds the gate's defaults to the rates they were
// chosen for, at PERF_REPEATS=5 a side and run-to-run CV 5%: at most 5% of
// unchanged cells fail, and at least 95% of cells 15% slower fail. The
// draws are seeded, so the figures are the same on every run and machine;
// BenchmarkGateRates (make bench-gate) measures the same on the
// simulator itself, and docs/benchmarks.md has both.
func TestGateErrorRates(t *testing.T) {
	const trials, repeats, cv, noise = 4000, 5, 0.05, 0.01
	g := Gate{Tolerance: DefaultTolerance, Alpha: DefaultAlpha, MaxCV: DefaultMaxCV}
	rng := rand.New(rand.NewPCG(1, 2))
	var falseFail, detected int
	for range trials {
		if Compare(modelRepeats(rng, repeats, cv, 1, noise), modelRepeats(rng, repeats, cv, 1, noise), g).Regressed {
			falseFail++
		}
		if Compare(modelRepeats(rng, repeats, cv, 1, noise), modelRepeats(rng, repeats, cv, 1.15, noise), g).Regressed {
			detected++
		}
	}
	ff, det := float64(falseFail)/trials, float64(detected)/trials
	t.Logf("%d trials: false failures %.2f%%, detection %.2f%%", trials, 100*ff, 100*det)
	if ff > 0.05 || det < 0.95 {
		t.Errorf("false failures %.2f%% (want <= 5%%), detection %.2f%% (want >= 95%%)", 100*ff, 100*det)
	}
}
