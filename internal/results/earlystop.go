package results

// The early-stop rules' names, as results.json and the report write them.
const (
	RuleOverSaturated = "over-saturated"
	RuleSLOBroken     = "SLO broken early"
)

// EarlyStop is why a cell stopped early (package earlystop decides it).
type EarlyStop struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
	// AfterRequests is how many requests had finished when it fired.
	AfterRequests int64 `json:"after_requests"`
}

// OverSaturated reports whether the open-loop rule stopped the cell: the
// server was falling behind its arrivals for good.
func (e *EarlyStop) OverSaturated() bool { return e != nil && e.Rule == RuleOverSaturated }
