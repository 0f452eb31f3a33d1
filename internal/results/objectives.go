package results

// The metrics a capacity search holds a probe's repeats to, by the names
// results.json uses.
const (
	MetricTTFTp95   = "ttft_p95_ms"
	MetricE2Ep95    = "e2e_p95_ms"
	MetricGoodRatio = "good_ratio" // goodput_rps / rps: the share of requests meeting every SLO
	MetricErrorRate = "error_rate"
)

// ObjectiveValues are one repeat's values of the search metrics. In open
// loop the latencies are response times, from each request's intended
// start: what a user of a server that is falling behind sees.
func (c Cell) ObjectiveValues() map[string]float64 {
	good := 0.0
	if c.RPS > 0 {
		good = c.GoodputRPS / c.RPS
	}
	ttft, e2e := c.TTFT.P95, c.E2E.P95
	if c.ResponseTTFT != nil && c.ResponseE2E != nil {
		ttft, e2e = c.ResponseTTFT.P95, c.ResponseE2E.P95
	}
	return map[string]float64{MetricTTFTp95: ttft, MetricE2Ep95: e2e, MetricGoodRatio: good, MetricErrorRate: c.ErrorRate()}
}
