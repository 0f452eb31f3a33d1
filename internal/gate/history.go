package gate

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/llm-platform/harness/internal/nonparam"
	"github.com/llm-platform/harness/internal/results"
)

// The history gate's shares of α: the one-night test runs at 15% of
// it, the two-night test at 60%, and the quarter left over covers
// the union over the seven gated metrics, which move together under a
// restart but not exactly. Chosen on the nightly model (docs/benchmarks.md):
// this split gave the best two-night detection at a false-failure rate a
// night within α.
const oneNightShare, twoNightShare = 0.15, 0.6

// DefaultMinRuns is how many runs since the last change point the history
// gate needs (PERF_HISTORY_MIN_RUNS): with fewer, the spread between
// runs is too poorly known to gate on (a t quantile with 3 degrees of
// freedom is 1.6 times the normal one).
const DefaultMinRuns = 5

// HistoryGate is how a cell is judged against its run history.
type HistoryGate struct {
	// Tolerance is the relative change worth failing for (the same as the
	// baseline gate's).
	Tolerance float64
	// Alpha is the false-failure rate a night allows; it is split
	// between the one-night and the two-night test.
	Alpha float64
	// MinRuns is the fewest pooled runs that can gate.
	MinRuns int
}

// AgainstHistory judges cur against each gated metric's pool: the medians
// of the runs since the last change point or acceptance.
//
// The statistics: a metric's run medians are taken on a log scale, where a
// restart's speed factor and a slowdown both add; the pool's mean and
// standard deviation then predict the next run, and a one-sided t
// prediction test (n-1 degrees of freedom) asks whether this run is above
// the prediction interval. The pool's spread is the spread between runs,
// each run's own noise included, so a restart that moves every figure by a
// few percent is noise here, which a comparison of repeats with one stored
// run cannot know. One night cannot reach 95% detection of a change of
// three between-run standard deviations at a 5% false-failure rate, so a
// second test pairs this run with the one before it (their mean, whose
// spread is smaller by √2) against the pool without that run; each test
// runs at a share of α (oneNightShare, twoNightShare), so a night's
// false-failure rate stays within α. A metric regresses when either test
// is significant and the change it measured exceeds the tolerance in the
// worse direction.
func AgainstHistory(pools map[string]results.Pool, cur results.Cell, g HistoryGate) results.Comparison {
	c := results.Comparison{Mode: results.ModeHistory, Repeats: len(cur.Repeats)}
	for _, m := range results.GateMetrics {
		p := pools[m.Name]
		v := results.Round3(nonparam.Median(m.Values(cur.Repeats)))
		d := results.MetricDelta{Name: m.Name, Current: v, HigherIsBetter: m.HigherIsBetter, P: 1, PTwoNights: 1, Pool: &p}
		c.BaselineRepeats = max(c.BaselineRepeats, len(p.Medians))
		if len(p.Medians) < g.MinRuns || v <= 0 {
			c.Metrics = append(c.Metrics, d)
			continue
		}
		sign := 1.0 // log-scale change in the worse direction
		if m.HigherIsBetter {
			sign = -1
		}
		logs := logsOf(p.Medians)
		mean, sd := stat.MeanStdDev(logs, nil)
		d.Baseline = results.Round3(math.Exp(mean))
		d.DeltaPct = percent(v/math.Exp(mean) - 1)
		shift := sign * (math.Log(v) - mean)
		p1 := predictionP(shift, sd, len(logs), 1)
		d.P = results.Round4(p1)
		d.Regressed = p1 < g.Alpha*oneNightShare && math.Expm1(shift) > g.Tolerance
		if pair, pooled := twoNights(p, logs); len(pooled) >= g.MinRuns-1 && pair > 0 {
			pm, psd := stat.MeanStdDev(pooled, nil)
			shift2 := sign * ((math.Log(pair)+math.Log(v))/2 - pm)
			p2 := predictionP(shift2, psd, len(pooled), 2)
			d.PTwoNights = results.Round4(p2)
			d.Regressed = d.Regressed || p2 < g.Alpha*twoNightShare && math.Expm1(shift2) > g.Tolerance
		}
		d.Detectable = historyDetectable(cur.Stats[m.Name], len(cur.Repeats), sd, len(logs), g)
		c.Regressed = c.Regressed || d.Regressed
		c.Metrics = append(c.Metrics, d)
	}
	if n := maxPooled(c.Metrics); n < g.MinRuns {
		c.Inconclusive = fmt.Sprintf("no history gate yet: %d runs since %s, needs PERF_HISTORY_MIN_RUNS = %d", n, sinceOf(pools), g.MinRuns)
	}
	return c
}

// twoNights returns the run before this one and the pool's logs without
// it, for the two-night test (0 when there is no previous run).
func twoNights(p results.Pool, logs []float64) (float64, []float64) {
	if p.Previous <= 0 {
		return 0, nil
	}
	if p.PreviousPooled {
		return p.Previous, logs[:len(logs)-1]
	}
	return p.Previous, logs
}

// predictionP is the one-sided p of a mean of k new runs lying shift above
// the mean of n pooled runs with standard deviation sd: Student's t with
// n-1 degrees of freedom on shift / (sd·√(1/k + 1/n)).
func predictionP(shift, sd float64, n, k int) float64 {
	if n < 2 {
		return 1
	}
	se := sd * math.Sqrt(1/float64(k)+1/float64(n))
	if se == 0 {
		if shift > 0 {
			return 0
		}
		return 1
	}
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}.Survival(shift / se)
}

// power80 is z(0.8), the normal quantile that gives a test power 0.8.
const power80 = 0.8416212335729143

// historyDetectable is HistoryDetectable at this run's noise: its own
// part from its repeats' CV, the rest of the pool's spread between runs.
func historyDetectable(s results.Summary, repeats int, sd float64, n int, g HistoryGate) *results.Detectable {
	within := medianSE(s.CV, repeats)
	return HistoryDetectable(within, math.Sqrt(max(sd*sd-within*within, 0)), n, g)
}

// HistoryDetectable is the smallest change the history gate detects with
// power 0.8 when a run's median has the relative standard error within
// (this run's repeats) and runs spread between each other by between
// (restarts), both on a log scale, with n runs pooled. One night:
// (t(1−α·15%) + z(0.8))·s·√(1+1/n); two nights: (t(1−α·60%) +
// z(0.8))·s·√(1/2+1/n); s² = within² + between². The parts are each
// alone's share of the one-night figure: more requests or repeats shrink
// within; nothing a run can set shrinks between, only the second night.
func HistoryDetectable(within, between float64, n int, g HistoryGate) *results.Detectable {
	if n < 2 {
		return nil
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(n - 1)}
	q1, q2 := t.Quantile(1-g.Alpha*oneNightShare)+power80, t.Quantile(1-g.Alpha*twoNightShare)+power80
	sd := math.Hypot(within, between)
	k := math.Sqrt(1 + 1/float64(n))
	d := detectable(math.Expm1(q1*sd*k), math.Expm1(q1*within*k), math.Expm1(q1*between*k), g.Tolerance)
	d.TwoNightsPct = percent(math.Expm1(q2 * sd * math.Sqrt(0.5+1/float64(n))))
	return d
}

// medianSE is the standard error of a median of n repeats with the given
// CV, relative: √(π/2)·CV/√n for normal repeats.
func medianSE(cv float64, n int) float64 {
	if n < 1 {
		return 0
	}
	return math.Sqrt(math.Pi/2) * cv / math.Sqrt(float64(n))
}

func detectable(total, within, between, tolerance float64) *results.Detectable {
	d := &results.Detectable{Pct: percent(total), WithinPct: percent(within), BetweenPct: percent(between)}
	if tolerance > total {
		d.Pct, d.Floor = percent(tolerance), true
	}
	return d
}

// percent is a fraction in percent, to one decimal: the results' deltas.
func percent(fraction float64) float64 { return math.Round(fraction*1000) / 10 }

func logsOf(xs []float64) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if x > 0 {
			out = append(out, math.Log(x))
		}
	}
	return out
}

// maxPooled is the largest pool of the metrics: the cell has no history
// gate only when no metric has one (a metric whose pool is short says so
// in its own row).
func maxPooled(ms []results.MetricDelta) int {
	n := 0
	for _, m := range ms {
		if m.Pool != nil {
			n = max(n, len(m.Pool.Medians))
		}
	}
	return n
}

func sinceOf(pools map[string]results.Pool) string {
	for _, m := range results.GateMetrics {
		if p, ok := pools[m.Name]; ok && p.Since != "" {
			return p.Since
		}
	}
	return "the first run"
}

// HistoryReasons describes c's regressed metrics, one line each, with
// what the history gate pooled and, for a regression nobody accepted,
// where it began.
func HistoryReasons(c results.Comparison) []string {
	var out []string
	for _, m := range c.Metrics {
		if !m.Regressed || m.Pool == nil {
			continue
		}
		line := fmt.Sprintf("history: %s %s -> %s (%+.1f%% against %d runs since %s; p = %s one night, %s two nights)",
			m.Name, results.Trim(m.Baseline), results.Trim(m.Current), m.DeltaPct, len(m.Pool.Medians), m.Pool.Since, results.Trim(m.P), results.Trim(m.PTwoNights))
		if m.Pool.Unaccepted != "" {
			line += "; a change point nobody accepted began at " + m.Pool.Unaccepted + " (make accept)"
		}
		out = append(out, line)
	}
	return out
}
