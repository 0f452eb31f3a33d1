package gate

import (
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/nonparam"
	"github.com/llm-platform/harness/internal/results"
)

// repeatsOf is a cell whose repeats have these RPS figures and the same
// latencies, so that only rps can move.
func repeatsOf(rps ...float64) results.Cell {
	c := results.Cell{}
	for _, r := range rps {
		c.Repeats = append(c.Repeats, results.Repeat{RPS: r, OutputTokS: 640, TTFTp50: 20, TTFTp95: 25, ITLp50: 8, TPOTp50: 8, E2Ep95: 600})
	}
	return c
}

func rpsOf(t *testing.T, c results.Comparison) results.MetricDelta {
	t.Helper()
	for _, m := range c.Metrics {
		if m.Name == "rps" {
			return m
		}
	}
	t.Fatal("no rps in the comparison")
	return results.MetricDelta{}
}

// TestCompareBoundaries: each threshold of the gate, met exactly, does not
// fail; just past it, does. 5 separated repeats a side give p = 1/252,
// 0.004 once rounded.
func TestCompareBoundaries(t *testing.T) {
	base := repeatsOf(99, 99.5, 100, 100.5, 101)
	g := Gate{Tolerance: 0.25, Alpha: 0.05}
	for _, tc := range []struct {
		name     string
		cur      results.Cell
		g        Gate
		regress  bool
		deltaPct float64
	}{
		{"exactly the tolerance worse", repeatsOf(74, 74.5, 75, 75.5, 76), g, false, -25},
		{"past the tolerance", repeatsOf(73.9, 74.4, 74.9, 75.4, 75.9), g, true, -25.1},
		{"p equal to alpha", repeatsOf(50, 51, 52, 53, 54), Gate{Tolerance: 0.25, Alpha: 0.004}, false, -48},
		{"p below alpha", repeatsOf(50, 51, 52, 53, 54), Gate{Tolerance: 0.25, Alpha: 0.0041}, true, -48},
	} {
		m := rpsOf(t, Compare(base, tc.cur, tc.g))
		if m.Regressed != tc.regress || m.DeltaPct != tc.deltaPct || m.Baseline != 100 {
			t.Errorf("%s: regressed %v (want %v), delta %v%% (want %v), baseline %v, p %v", tc.name, m.Regressed, tc.regress, m.DeltaPct, tc.deltaPct, m.Baseline, m.P)
		}
	}
	if m := rpsOf(t, Compare(base, repeatsOf(50, 51, 52, 53, 54), g)); m.P != 0.004 {
		t.Errorf("separated, 5 a side: p = %v, want 0.004 (1/252 rounded)", m.P)
	}
}

// TestCompareNeedsRepeats: at alpha 0.05, 3 repeats a side can reach p =
// 0.05 and no lower: inconclusive; 4 a side can.
func TestCompareNeedsRepeats(t *testing.T) {
	g := Gate{Tolerance: 0.07, Alpha: 0.05}
	c := Compare(repeatsOf(100, 101, 102), repeatsOf(50, 51, 52), g)
	if c.Inconclusive == "" || c.Regressed || !strings.Contains(c.Inconclusive, "PERF_REPEATS ≥ 4") {
		t.Errorf("3 a side: %+v", c)
	}
	if c := Compare(repeatsOf(100, 101, 102, 103), repeatsOf(50, 51, 52, 53), g); c.Inconclusive != "" || !c.Regressed {
		t.Errorf("4 a side: %+v", c)
	}
}

// TestCompareNoise: a metric whose repeats' CV is exactly MaxCV is gated;
// above it, set aside as too noisy; MaxCV 0 gates every metric.
func TestCompareNoise(t *testing.T) {
	base := repeatsOf(90, 95, 100, 105, 110)
	cur := repeatsOf(60, 62, 64, 66, 68)
	cv := nonparam.Summarize([]float64{90, 95, 100, 105, 110}).CV
	for _, tc := range []struct {
		maxCV float64
		noisy bool
	}{{cv, false}, {cv * 0.99, true}, {0, false}} {
		m := rpsOf(t, Compare(base, cur, Gate{Tolerance: 0.07, Alpha: 0.05, MaxCV: tc.maxCV}))
		if m.Noisy != tc.noisy || m.Regressed == tc.noisy {
			t.Errorf("MaxCV %v (the baseline's CV %v): noisy %v, regressed %v; want noisy %v", tc.maxCV, cv, m.Noisy, m.Regressed, tc.noisy)
		}
	}
}
