// Package gate judges a cell's repeats: against a stored run's (Compare:
// a one-sided exact Mann–Whitney test per gated metric with a tolerance on
// the median, noisy metrics set aside), against another run shown side by
// side (Differences), and against the cell's own plan (CheckLoad: was the
// load applied as planned, or was the client or the server the limit).
// It reads and returns results values, so the gate's verdicts are the
// file's.
package gate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/llm-platform/harness/internal/results"

	"github.com/llm-platform/harness/internal/nonparam"
)

// The gate's defaults. With PERF_REPEATS=5 on both sides, the smallest
// one-sided Mann-Whitney p is 1/252 = 0.004, so α = 0.05 is reachable;
// with 3 it is 0.05 exactly and never below, so 4 repeats a side is the
// least that can gate (sample.MinRepeats). The tolerance is the smallest
// change worth failing for, not the noise filter: the test is. Their
// measured error rates on the simulator's noise model are in
// docs/benchmarks.md.
const (
	DefaultTolerance = 0.07
	DefaultAlpha     = 0.05
	DefaultMaxCV     = 0.10
)

// Gate is how a cell is judged against its baseline cell.
type Gate struct {
	// Tolerance is the relative change of the median worth failing for.
	Tolerance float64
	// Alpha is the significance level of the one-sided test.
	Alpha float64
	// MaxCV: a metric whose repeats vary more (either side) is not gated.
	MaxCV float64
}

// Compare judges cur against base: a metric regresses only when its median
// moved the wrong way by more than the tolerance and a one-sided Mann-Whitney U test between the two
// sides' repeats gives p < alpha. With too few repeats for any p below
// alpha, the comparison is inconclusive and regresses nothing.
func Compare(base, cur results.Cell, g Gate) results.Comparison {
	c := results.Comparison{Mode: results.ModeBaseline, BaselineRepeats: len(base.Repeats), Repeats: len(cur.Repeats)}
	testable := nonparam.MinP(c.BaselineRepeats, c.Repeats) < g.Alpha
	if !testable {
		k := nonparam.MinRepeats(g.Alpha)
		c.Inconclusive = fmt.Sprintf("inconclusive: needs PERF_REPEATS ≥ %d on both sides (baseline %d, this run %d)", k, c.BaselineRepeats, c.Repeats)
	}
	for _, m := range results.GateMetrics {
		bv, cv := m.Values(base.Repeats), m.Values(cur.Repeats)
		b, v := results.Round3(nonparam.Median(bv)), results.Round3(nonparam.Median(cv))
		d := results.MetricDelta{Name: m.Name, Baseline: b, Current: v, HigherIsBetter: m.HigherIsBetter, P: 1}
		if b != 0 {
			d.DeltaPct = percent((v - b) / b)
		}
		bs, cs := nonparam.Summarize(bv), nonparam.Summarize(cv)
		d.Noisy = g.MaxCV > 0 && (bs.CV > g.MaxCV || cs.CV > g.MaxCV)
		if testable {
			if m.HigherIsBetter {
				d.P = nonparam.MannWhitneyGreater(cv, bv) // worse: the baseline's are greater
			} else {
				d.P = nonparam.MannWhitneyGreater(bv, cv) // worse: the current ones are greater
			}
			d.P = math.Round(d.P*1e4) / 1e4
		}
		worse := v - b
		if m.HigherIsBetter {
			worse = b - v
		}
		d.Detectable = baselineDetectable(max(bs.CV, cs.CV), c.BaselineRepeats, c.Repeats, g)
		d.Regressed = testable && !d.Noisy && b > 0 && worse > g.Tolerance*b && d.P < g.Alpha
		c.Regressed = c.Regressed || d.Regressed
		c.Metrics = append(c.Metrics, d)
	}
	return c
}

// Reasons describes c's regressed metrics, one line each, with the gate
// that judged them.
func Reasons(c results.Comparison, g Gate) []string {
	var out []string
	for _, m := range c.Metrics {
		if m.Regressed {
			out = append(out, fmt.Sprintf("baseline: %s %s -> %s (%+.1f%%, tolerance %s%%, p = %s < %g)",
				m.Name, results.Trim(m.Baseline), results.Trim(m.Current), m.DeltaPct, results.Percent(g.Tolerance), results.Trim(m.P), g.Alpha))
		}
	}
	return out
}

// baselineDetectable is the smallest change the Mann–Whitney test detects
// with power 0.8 between n and m repeats of the given CV: the two-sample
// normal approximation, (z(1-α)+z(0.8))·CV·√(1/n+1/m), widened by the
// test's efficiency against the t test (3/π). It sees only the spread
// within a run: a restart's is invisible to it.
func baselineDetectable(cv float64, n, m int, g Gate) *results.Detectable {
	if n < 1 || m < 1 {
		return nil
	}
	z := distuv.UnitNormal.Quantile(1-g.Alpha) + power80
	within := z * cv * math.Sqrt((1/float64(n)+1/float64(m))*math.Pi/3)
	return detectable(within, within, 0, g.Tolerance)
}
