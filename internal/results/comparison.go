package results

import (
	"strconv"
	"strings"
)

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
	// PTwoNights is the history gate's second test: this run and the one
	// before it together against the pool (1 when it cannot run).
	PTwoNights float64 `json:"p_two_nights,omitempty"`
	// Pool is what the history gate compared with (ModeHistory only).
	Pool *Pool `json:"pool,omitempty"`
	// Detectable is the smallest change this comparison could detect.
	Detectable *Detectable `json:"detectable,omitempty"`
}

// Comparison is a cell compared with its baseline cell.
type Comparison struct {
	// Mode is ModeBaseline or ModeHistory ("" in schemas before 6:
	// baseline).
	Mode    string        `json:"mode,omitempty"`
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

// Trim formats a figure with at most three decimals and no trailing zeros.
func Trim(x float64) string { return strconv.FormatFloat(Round3(x), 'f', -1, 64) }

// Percent renders a fraction as a percentage to four significant digits,
// so 0.07 reads "7", not "7.000000000000001".
func Percent(fraction float64) string { return strconv.FormatFloat(fraction*100, 'g', 4, 64) }

// The gate's modes (Comparison.Mode).
const (
	// ModeBaseline compares a cell's repeats with one stored run's
	// (PERF_BASELINE).
	ModeBaseline = "baseline"
	// ModeHistory compares a cell with the runs of its history since the
	// last change point or acceptance (PERF_HISTORY).
	ModeHistory = "history"
)

// Pool is what the history gate compared one metric with: the medians of
// the runs since the last change point or acceptance.
type Pool struct {
	// Runs are the pooled runs' history files, oldest first, and Medians
	// each one's median of the metric.
	Runs    []string  `json:"runs"`
	Medians []float64 `json:"medians"`
	// Since says where the pool starts: "the first run", "change point at
	// FILE" or "accepted at FILE: REASON".
	Since string `json:"since"`
	// Unaccepted names the run where a regression nobody accepted began
	// (a change point to a worse level); the pool ends before it, so every
	// later run keeps failing until the change is accepted.
	Unaccepted string `json:"unaccepted_change,omitempty"`
	// Left out are the latest runs that failed the history gate on this
	// metric: a change may be starting there, so they are not the
	// reference.
	LeftOut int `json:"left_out,omitempty"`
	// Previous is the median of the run just before this one (0: none),
	// which the two-night test pairs with this run; PreviousPooled says it
	// is the pool's last run (the two-night test then pools without it).
	Previous       float64 `json:"previous,omitempty"`
	PreviousPooled bool    `json:"previous_pooled,omitempty"`
}

// Detectable is the smallest change of a metric the gate could detect at
// this run's noise, at its α and power 0.8, in percent of the reference,
// and its parts: Within is what this run's repeats contribute (more
// requests or repeats lower it), Between what the spread between runs
// contributes (only more nights lower its share; absent from a baseline
// comparison, which cannot see it). Floor says the gate's tolerance, not
// the noise, is the limit.
type Detectable struct {
	Pct        float64 `json:"pct"`
	WithinPct  float64 `json:"within_pct"`
	BetweenPct float64 `json:"between_pct,omitempty"`
	Floor      bool    `json:"tolerance_floor,omitempty"`
	// TwoNightsPct is the history gate's two-night test's figure: this run
	// and the next together (absent from a baseline comparison).
	TwoNightsPct float64 `json:"two_nights_pct,omitempty"`
}
