package report

import (
	"sort"

	"github.com/llm-platform/harness/internal/chart"
	"github.com/llm-platform/harness/internal/results"
)

// Chart file names, beside report.md.
const (
	ChartRPS     = "rps.svg"
	ChartLatency = "latency-p95.svg"
	ChartTTFT    = "ttft.svg"
)

// payloadNames lists the payloads of r's cells in first-seen order.
func (r doc) payloadNames() []string {
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
func (r doc) closedCells(payload string) []results.Cell {
	var out []results.Cell
	for _, c := range r.Cells {
		if c.Payload == payload && c.Mode == "closed" && c.Verdict != results.Interrupted {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Concurrency < out[j].Concurrency })
	return out
}

func (r doc) seriesOf(name string, dashed bool, f func(results.Cell) float64) []chart.Line {
	var out []chart.Line
	for i, p := range r.payloadNames() {
		s := chart.Line{Name: p + name, Color: i, Dashed: dashed}
		for _, c := range r.closedCells(p) {
			s.Points = append(s.Points, chart.Point{X: float64(c.Concurrency), Y: f(c)})
		}
		if len(s.Points) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Charts renders the report's charts, by file name. A chart with no
// closed-loop cells to draw is left out.
func (r doc) charts() map[string][]byte {
	out := map[string][]byte{}
	add := func(file string, c chart.Chart) {
		if len(c.Series) > 0 {
			out[file] = c.SVG()
		}
	}
	add(ChartRPS, chart.Chart{Title: "Requests per second against concurrency", XLabel: "concurrent VUs", YLabel: "RPS", LogX: true,
		Series: r.seriesOf("", false, func(c results.Cell) float64 { return c.RPS })})
	add(ChartLatency, chart.Chart{Title: "p95 end-to-end latency against concurrency", XLabel: "concurrent VUs", YLabel: "ms", LogX: true,
		Series: r.seriesOf(" E2E p95", false, func(c results.Cell) float64 { return c.E2E.P95 })})
	ttft := append(r.seriesOf(" p50", false, func(c results.Cell) float64 { return c.TTFT.P50 }), r.seriesOf(" p95", true, func(c results.Cell) float64 { return c.TTFT.P95 })...)
	add(ChartTTFT, chart.Chart{Title: "Time to first token against concurrency", XLabel: "concurrent VUs", YLabel: "ms", LogX: true, Series: ttft})
	r.capacityCharts(add)
	return out
}
