package systemtest_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/sim"
)

// gateSim is the target of BenchmarkGateRates: small latencies so a trial
// takes about two seconds, 5% per-token jitter, and the run-to-run noise
// under test.
func gateSim(seed uint64, slowdown float64) sim.Config {
	return sim.Config{TTFT: 5 * time.Millisecond, ITL: 2 * time.Millisecond, MaxNumSeqs: 64, Jitter: 0.05,
		RunCV: 0.05, Slowdown: slowdown, Seed: seed}
}

// measureRepeats runs n repeats of one cell against s, a new run (a new
// speed draw) before each, and combines them as the sweep does.
func measureRepeats(b *testing.B, s *sim.Instance, n int) results.Cell {
	plan := load.Plan{VUs: 4, Iterations: 12}
	var runs []results.Cell
	for range n {
		s.Server.NewRun()
		res, err := measurement.Run(context.Background(), measurement.Spec{Target: target(s.URL), Payload: "n16", Plan: plan}, payloads)
		if err != nil {
			b.Fatal(err)
		}
		if res.Stats.Successes != int64(plan.Iterations) {
			b.Fatalf("%d of %d succeeded: %v", res.Stats.Successes, plan.Iterations, res.Stats.Errors)
		}
		runs = append(runs, results.NewCell("n16", plan, res.Stats, nil))
	}
	return results.Combine(runs)
}

// BenchmarkGateRates measures the regression gate on the simulator's noise
// model (run-to-run CV 5%, per-token jitter 5%) at PERF_REPEATS=5 a side
// with the default tolerance, alpha and max CV: the share of gated cells
// that fail against an unchanged target (false failures) and against a
// 15% slower one (detection). GATE_TRIALS sets the trials (default 40;
// docs/benchmarks.md has two 600-trial runs). Each trial draws new speeds.
func BenchmarkGateRates(b *testing.B) {
	trials := 40
	if v, err := strconv.Atoi(os.Getenv("GATE_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	const repeats = 5
	// The same measurements judged at several tolerances: the power curve
	// behind the default.
	tolerances := []float64{0.03, 0.05, gate.DefaultTolerance, 0.10}
	for range b.N {
		falseFail, detected := make([]int, len(tolerances)), make([]int, len(tolerances))
		noisy := 0
		for i := range trials {
			start := func(slowdown float64, seed uint64) *sim.Instance {
				s, err := sim.Start(gateSim(seed, slowdown), "")
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			base, same, slow := start(1, uint64(3*i+1)), start(1, uint64(3*i+2)), start(1.15, uint64(3*i+3))
			bc, sc, wc := measureRepeats(b, base, repeats), measureRepeats(b, same, repeats), measureRepeats(b, slow, repeats)
			for _, s := range []*sim.Instance{base, same, slow} {
				_ = s.Close()
			}
			for k, tol := range tolerances {
				g := gate.Gate{Tolerance: tol, Alpha: gate.DefaultAlpha, MaxCV: gate.DefaultMaxCV}
				unchanged := gate.Compare(bc, sc, g)
				if unchanged.Regressed {
					falseFail[k]++
				}
				if gate.Compare(bc, wc, g).Regressed {
					detected[k]++
				}
				if tol == gate.DefaultTolerance && len(unchanged.Noisy()) > 0 {
					noisy++
				}
			}
		}
		for k, tol := range tolerances {
			ff, det := float64(falseFail[k])/float64(trials), float64(detected[k])/float64(trials)
			b.Logf("%d trials, %d repeats a side, tolerance %g, alpha %g: false failures %d (%.1f%%), detection %d (%.1f%%)",
				trials, repeats, tol, gate.DefaultAlpha, falseFail[k], 100*ff, detected[k], 100*det)
			if tol == gate.DefaultTolerance {
				b.ReportMetric(100*ff, "false-fail-%")
				b.ReportMetric(100*det, "detect-%")
			}
		}
		b.Logf("unchanged cells with a metric too noisy to gate on (CV > %g): %d", gate.DefaultMaxCV, noisy)
	}
}
