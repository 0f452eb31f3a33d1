package report

import (
	"sort"
)

// Chart file names, beside report.md.
const (
	ChartRPS     = "rps.svg"
	ChartLatency = "latency-p95.svg"
	ChartTTFT    = "ttft.svg"
)

// payloadNames lists the payloads of r's cells in first-seen order.
func (r *Results) payloadNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, c := range r.Cells {
		if !seen[c.Payload] {
			seen[c.Payload] = true
			names = append(names, c.Payload)
		}
	}
	return names
}

// closedCells returns the payload's closed-loop cells by concurrency.
func (r *Results) closedCells(payload string) []Entry {
	var out []Entry
	for _, c := range r.Cells {
		if c.Payload == payload && c.Mode == "closed" && c.Verdict != Interrupted {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Concurrency < out[j].Concurrency })
	return out
}

func (r *Results) seriesOf(name string, dashed bool, f func(Entry) float64) []Series {
	var out []Series
	for i, p := range r.payloadNames() {
		s := Series{Name: p + name, Color: i, Dashed: dashed}
		for _, c := range r.closedCells(p) {
			s.Points = append(s.Points, Point{X: float64(c.Concurrency), Y: f(c)})
		}
		if len(s.Points) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Charts renders the report's charts, by file name. A chart with no
// closed-loop cells to draw is left out.
func (r *Results) Charts() map[string][]byte {
	out := map[string][]byte{}
	add := func(file string, c Chart) {
		if len(c.Series) > 0 {
			out[file] = c.SVG()
		}
	}
	add(ChartRPS, Chart{Title: "Requests per second against concurrency", XLabel: "concurrent VUs", YLabel: "RPS", LogX: true,
		Series: r.seriesOf("", false, func(c Entry) float64 { return c.RPS })})
	add(ChartLatency, Chart{Title: "p95 end-to-end latency against concurrency", XLabel: "concurrent VUs", YLabel: "ms", LogX: true,
		Series: r.seriesOf(" E2E p95", false, func(c Entry) float64 { return c.E2E.P95 })})
	ttft := append(r.seriesOf(" p50", false, func(c Entry) float64 { return c.TTFT.P50 }), r.seriesOf(" p95", true, func(c Entry) float64 { return c.TTFT.P95 })...)
	add(ChartTTFT, Chart{Title: "Time to first token against concurrency", XLabel: "concurrent VUs", YLabel: "ms", LogX: true, Series: ttft})
	r.capacityCharts(add)
	return out
}
