package results

import (
	"fmt"
	"strconv"

	"github.com/llm-platform/harness/internal/nonparam"
)

// Objective is one SLO a probe must meet: the median over the repeats of
// Metric's value at most Limit (or at least, with AtLeast).
type Objective struct {
	Metric  string  `json:"metric"`
	Limit   float64 `json:"limit"`
	AtLeast bool    `json:"at_least,omitempty"`
}

// String is the objective as a person writes it: "ttft_p95_ms ≤ 500".
func (o Objective) String() string {
	op := "≤"
	if o.AtLeast {
		op = "≥"
	}
	return fmt.Sprintf("%s %s %s", o.Metric, op, strconv.FormatFloat(o.Limit, 'g', 4, 64))
}

// CapacityProbe is one load a capacity search tried, and what it showed.
type CapacityProbe struct {
	Load    float64 `json:"load"`
	Verdict string  `json:"verdict"`
	// Values holds each metric's value per repeat, in the order they ran.
	Values map[string][]float64 `json:"values"`
	// Broken names the objectives the probe broke with confidence.
	Broken []string `json:"broken,omitempty"`
	// P holds each objective's one-sided sign-test p-value for the
	// decision taken (for "held" on a pass, "broken" on a fail).
	P map[string]float64 `json:"p,omitempty"`
}

// Repeats is how many repeats the probe ran.
func (p CapacityProbe) Repeats() int {
	for _, v := range p.Values {
		return len(v)
	}
	return 0
}

// Median is metric's median over the probe's repeats.
func (p CapacityProbe) Median(metric string) float64 { return nonparam.Median(p.Values[metric]) }

// Capacity is a capacity search's answer.
type Capacity struct {
	Kind       string      `json:"kind"`
	Objectives []Objective `json:"objectives"`
	// Value is the highest load shown to pass (0 when even Start failed).
	Value float64 `json:"value"`
	// Lo and Hi bracket the capacity: Lo passed, Hi did not (Hi is 0 when
	// nothing up to Max failed).
	Lo float64 `json:"lo"`
	Hi float64 `json:"hi"`
	// Binding names the objectives broken at Hi: what limits the capacity.
	Binding []string `json:"binding,omitempty"`
	// Complete is false when the budget or the context ended the search
	// before the bracket reached its resolution; Note says which.
	Complete bool            `json:"complete"`
	Note     string          `json:"note,omitempty"`
	Probes   []CapacityProbe `json:"probes"`
	// Duration is the search's wall time in seconds.
	DurationS float64 `json:"duration_s"`
}
