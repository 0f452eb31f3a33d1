package gate

import (
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/results"
)

// historyCell is a cell of 5 repeats whose every latency is itl times a
// fixed shape and whose throughput is its inverse: one number moves every
// gated metric.
func historyCell(itl float64) results.Cell {
	var reps []results.Cell
	for _, e := range []float64{0.998, 0.999, 1, 1.001, 1.002} {
		f := itl / 8 * e
		reps = append(reps, results.OneRepeat(results.Cell{Mode: "closed", RPS: 10 / f, OutputTokS: 640 / f, Errors: map[string]int64{},
			TTFT: results.Dist{P50: 20 * f, P95: 30 * f}, ITL: results.Dist{P50: 8 * f}, TPOT: results.Dist{P50: 8.1 * f}, E2E: results.Dist{P95: 600 * f}}))
	}
	return results.Combine(reps)
}

// poolsOf is every metric's pool from the ITL medians of earlier runs (the
// other metrics scaled alike), prev the run before this one.
func poolsOf(itls []float64, prev float64, prevPooled bool) map[string]results.Pool {
	out := map[string]results.Pool{}
	for _, m := range results.GateMetrics {
		p := results.Pool{Since: "the first run", PreviousPooled: prevPooled}
		for _, x := range itls {
			p.Medians = append(p.Medians, m.Of(historyCell(x).MedianRepeat()))
		}
		if prev > 0 {
			p.Previous = m.Of(historyCell(prev).MedianRepeat())
		}
		out[m.Name] = p
	}
	return out
}

func TestAgainstHistory(t *testing.T) {
	g := HistoryGate{Tolerance: DefaultTolerance, Alpha: DefaultAlpha, MinRuns: DefaultMinRuns}
	pool := []float64{8, 8.4, 7.7, 8.2, 7.9, 8.1}
	metric := func(c results.Comparison, name string) results.MetricDelta {
		for _, m := range c.Metrics {
			if m.Name == name {
				return m
			}
		}
		t.Fatalf("no %s", name)
		return results.MetricDelta{}
	}
	// Too few runs: nothing gated, said so.
	c := AgainstHistory(poolsOf(pool[:4], 0, false), historyCell(12), g)
	if c.Regressed || !strings.HasPrefix(c.Inconclusive, "no history gate yet: 4 runs since the first run") || c.Mode != results.ModeHistory {
		t.Errorf("4 runs: %+v", c)
	}
	// Within the pool's spread: passes, with a detectable change.
	c = AgainstHistory(poolsOf(pool, 8.1, true), historyCell(8.3), g)
	if d := metric(c, "itl_p50_ms"); c.Regressed || c.Inconclusive != "" || d.Detectable == nil || d.Detectable.Pct < 7 || d.Detectable.TwoNightsPct == 0 {
		t.Errorf("8.3 against %v: %+v", pool, c)
	}
	// 40% slower: fails on every metric, the throughputs included.
	c = AgainstHistory(poolsOf(pool, 8.1, true), historyCell(11.2), g)
	for _, m := range c.Metrics {
		if !m.Regressed || m.P >= 0.0075 {
			t.Errorf("40%% slower: %s not regressed (p %v)", m.Name, m.P)
		}
	}
	// 40% faster: never a failure.
	if c = AgainstHistory(poolsOf(pool, 8.1, true), historyCell(5.6), g); c.Regressed {
		t.Errorf("faster failed: %+v", c)
	}
	// A tight pool: a significant 4% change is within the tolerance.
	tight := []float64{8, 8.01, 7.99, 8.005, 7.995, 8}
	c = AgainstHistory(poolsOf(tight, 8, true), historyCell(8.32), g)
	if d := metric(c, "itl_p50_ms"); c.Regressed || d.P > 0.001 || !d.Detectable.Floor {
		t.Errorf("4%% against a tight pool: regressed %v, p %v, detectable %+v", c.Regressed, d.P, d.Detectable)
	}
	// Two nights each 12% slower: neither alone, both together fail.
	one := AgainstHistory(poolsOf(pool, 8.1, true), historyCell(8.96), g)
	two := AgainstHistory(poolsOf(pool, 8.96, false), historyCell(8.96), g)
	d1, d2 := metric(one, "itl_p50_ms"), metric(two, "itl_p50_ms")
	if d1.Regressed || !d2.Regressed || d2.PTwoNights >= d2.P {
		t.Errorf("12%% slower: one night regressed %v (p %v), two nights %v (p %v, two-night p %v)", d1.Regressed, d1.P, d2.Regressed, d2.P, d2.PTwoNights)
	}
	if r := HistoryReasons(two); len(r) == 0 || !strings.Contains(r[0], "against 6 runs since the first run") {
		t.Errorf("reasons %q", r)
	}
}
