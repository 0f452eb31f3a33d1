package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/llm-platform/harness/internal/sample"
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

// MetricDelta compares one metric with the baseline.
type MetricDelta struct {
	Name string `json:"name"`
	// Baseline and Current are the medians over each side's repeats.
	Baseline float64 `json:"baseline"`
	Current  float64 `json:"current"`
	// DeltaPct is (current - baseline) / baseline, in percent.
	DeltaPct float64 `json:"delta_pct"`
	// HigherIsBetter says which way is a regression.
	HigherIsBetter bool `json:"higher_is_better"`
	// P is the one-sided Mann-Whitney p-value for "the current repeats
	// are worse than the baseline's"; 1 when the test cannot run.
	P float64 `json:"p"`
	// Noisy is set when either side's CV exceeds Gate.MaxCV: the metric
	// is reported but not gated.
	Noisy     bool `json:"noisy"`
	Regressed bool `json:"regressed"`
}

// Comparison is a cell compared with its baseline cell.
type Comparison struct {
	Metrics []MetricDelta `json:"metrics"`
	// Regressed: at least one metric moved the wrong way by more than the
	// tolerance with p < alpha.
	Regressed bool `json:"regressed"`
	// Inconclusive says why the test could not decide (too few repeats),
	// "" when it could.
	Inconclusive string `json:"inconclusive,omitempty"`
	// BaselineRepeats and Repeats are the sample sizes compared.
	BaselineRepeats int `json:"baseline_repeats"`
	Repeats         int `json:"repeats"`
}

// Compare judges cur against base: a metric regresses only when its median
// moved the wrong way by more than the tolerance and a one-sided Mann-Whitney U test between the two
// sides' repeats gives p < alpha. With too few repeats for any p below
// alpha, the comparison is inconclusive and regresses nothing.
func Compare(base, cur Entry, g Gate) Comparison {
	c := Comparison{BaselineRepeats: len(base.Repeats), Repeats: len(cur.Repeats)}
	testable := sample.MinP(c.BaselineRepeats, c.Repeats) < g.Alpha
	if !testable {
		k := sample.MinRepeats(g.Alpha)
		c.Inconclusive = fmt.Sprintf("inconclusive: needs PERF_REPEATS ≥ %d on both sides (baseline %d, this run %d)", k, c.BaselineRepeats, c.Repeats)
	}
	for _, m := range GateMetrics {
		bv, cv := m.values(base.Repeats), m.values(cur.Repeats)
		b, v := round3(sample.Median(bv)), round3(sample.Median(cv))
		d := MetricDelta{Name: m.Name, Baseline: b, Current: v, HigherIsBetter: m.HigherIsBetter, P: 1}
		if b != 0 {
			d.DeltaPct = math.Round((v-b)/b*1000) / 10
		}
		bs, cs := sample.Summarize(bv), sample.Summarize(cv)
		d.Noisy = g.MaxCV > 0 && (bs.CV > g.MaxCV || cs.CV > g.MaxCV)
		if testable {
			if m.HigherIsBetter {
				d.P = sample.MannWhitneyGreater(cv, bv) // worse: the baseline's are greater
			} else {
				d.P = sample.MannWhitneyGreater(bv, cv) // worse: the current ones are greater
			}
			d.P = math.Round(d.P*1e4) / 1e4
		}
		worse := v - b
		if m.HigherIsBetter {
			worse = b - v
		}
		d.Regressed = testable && !d.Noisy && b > 0 && worse > g.Tolerance*b && d.P < g.Alpha
		c.Regressed = c.Regressed || d.Regressed
		c.Metrics = append(c.Metrics, d)
	}
	return c
}

// Noisy lists the metrics not gated for noise.
func (c Comparison) Noisy() []string {
	var out []string
	for _, m := range c.Metrics {
		if m.Noisy {
			out = append(out, m.Name)
		}
	}
	return out
}

// Reasons describes the regressed metrics, one line each.
func (c Comparison) Reasons(g Gate) []string {
	var out []string
	for _, m := range c.Metrics {
		if m.Regressed {
			out = append(out, fmt.Sprintf("baseline: %s %s -> %s (%+.1f%%, tolerance %s%%, p = %s < %g)",
				m.Name, trim(m.Baseline), trim(m.Current), m.DeltaPct, Percent(g.Tolerance), trim(m.P), g.Alpha))
		}
	}
	return out
}

// Warning is the line a cell's report carries when its gate could not
// decide, "" otherwise.
func (c Comparison) Warning() string {
	var parts []string
	if c.Inconclusive != "" {
		parts = append(parts, c.Inconclusive)
	}
	if n := c.Noisy(); len(n) > 0 {
		parts = append(parts, "too noisy to gate on: "+strings.Join(n, ", "))
	}
	return strings.Join(parts, "; ")
}

// trim formats a figure with at most three decimals and no trailing zeros.
func trim(x float64) string { return strconv.FormatFloat(round3(x), 'f', -1, 64) }
