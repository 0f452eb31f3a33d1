package report

import (
	"fmt"
	"math"
	"strconv"
)

// DefaultTolerance is the relative change beyond which a metric regresses.
const DefaultTolerance = 0.10

// LatencyFloorMs is the absolute change a latency must also exceed to
// regress: at small latencies scheduling noise alone is more than 10%.
const LatencyFloorMs = 2.0

// MetricDelta compares one metric with the baseline.
type MetricDelta struct {
	Name     string  `json:"name"`
	Baseline float64 `json:"baseline"`
	Current  float64 `json:"current"`
	// DeltaPct is (current - baseline) / baseline, in percent.
	DeltaPct float64 `json:"delta_pct"`
	// HigherIsBetter says which way is a regression.
	HigherIsBetter bool `json:"higher_is_better"`
	Regressed      bool `json:"regressed"`
}

// Comparison is a cell compared with its baseline cell.
type Comparison struct {
	Metrics   []MetricDelta `json:"metrics"`
	Regressed bool          `json:"regressed"`
	// Confirmed is set when a regression reproduced on a re-run of the
	// cell; an unconfirmed one is reported as noise and does not fail.
	Confirmed bool `json:"confirmed"`
}

// Compare compares cur with base under tolerance (a fraction, e.g. 0.10):
// RPS and output tok/s regress when lower by more than the tolerance; p95
// TTFT and p95 E2E when higher by more than the tolerance and by more than
// LatencyFloorMs.
func Compare(base, cur Cell, tolerance float64) Comparison {
	var c Comparison
	add := func(name string, b, v float64, higherBetter bool, floor float64) {
		d := MetricDelta{Name: name, Baseline: b, Current: v, HigherIsBetter: higherBetter}
		if b != 0 {
			d.DeltaPct = math.Round((v-b)/b*1000) / 10
		}
		worse := v - b
		if higherBetter {
			worse = b - v
		}
		d.Regressed = b > 0 && worse > tolerance*b && worse > floor
		c.Regressed = c.Regressed || d.Regressed
		c.Metrics = append(c.Metrics, d)
	}
	add("rps", base.RPS, cur.RPS, true, 0)
	add("output_tokens_per_s", base.OutputTokS, cur.OutputTokS, true, 0)
	add("ttft_p95_ms", base.TTFT.P95, cur.TTFT.P95, false, LatencyFloorMs)
	add("e2e_p95_ms", base.E2E.P95, cur.E2E.P95, false, LatencyFloorMs)
	return c
}

// Reasons describes the regressed metrics, one line each.
func (c Comparison) Reasons(tolerance float64) []string {
	var out []string
	for _, m := range c.Metrics {
		if m.Regressed {
			out = append(out, fmt.Sprintf("baseline: %s %s -> %s (%+.1f%%, tolerance %.0f%%)",
				m.Name, trim(m.Baseline), trim(m.Current), m.DeltaPct, tolerance*100))
		}
	}
	return out
}

// trim formats a figure with at most three decimals and no trailing zeros.
func trim(x float64) string { return strconv.FormatFloat(round3(x), 'f', -1, 64) }
