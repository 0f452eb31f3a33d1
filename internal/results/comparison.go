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
