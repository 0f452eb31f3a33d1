package report

import (
	"fmt"
	"math"
	"strings"

	"github.com/llm-platform/harness/internal/load"
)

// workersSection is the distributed sweep's part of the load self-check:
// which worker pods drove each cell, the load each applied and its own
// self-check, their clocks, and the shares lost. Empty when this process
// drove the sweep.
func (r doc) workersSection() string {
	var rows strings.Builder
	var most, bound float64
	driven := 0
	for _, c := range r.Cells {
		lc := c.LoadCheck
		if lc == nil || len(lc.Workers) == 0 {
			continue
		}
		driven++
		if lc.ClockOffsetMs >= most {
			most, bound = lc.ClockOffsetMs, lc.ClockBoundMs
		}
		for _, w := range lc.Workers {
			share := fmt.Sprintf("%.4g req/s", w.OfferedRPS)
			if w.OfferedRPS == 0 {
				share = load.VUs(w.VUs)
			}
			cpu := fmt.Sprintf("%.0f%%", 100*w.CPUShare)
			if w.CPULimit > 0 {
				cpu += fmt.Sprintf(" of %.3g", w.CPULimit)
			}
			state := w.Verdict
			if w.Lost != "" {
				state = "**lost**: " + w.Lost
			}
			fmt.Fprintf(&rows, "| %s | %d | %s | %s | %s | %d | %s | %s | %s | %+.2f ± %.2f | %s |\n", c.Name(), w.Index, or(w.Pod), or(w.Node), share,
				w.Requests, dash(w.AchievedRPS, "%.4g"), dash(w.LagP99Ms, "%.2f"), cpu, w.ClockOffsetMs, w.ClockBoundMs, state)
		}
	}
	if driven == 0 {
		return ""
	}
	return fmt.Sprintf("### Load from worker pods\n\n%d worker pods (image `%s`) drove %d cells; this process coordinated and merged their HDR histograms exactly. "+
		"Each cell's shares: closed loop, its VUs split across the workers; open loop, the schedule interleaved by request index, so the workers' starts together are the single schedule. "+
		"Clocks: each worker's offset from this process, NTP-style through the API server (± half the round trip); the largest was %.2f ms ± %.2f ms. "+
		"A lost share makes its cell incomplete (PERF_STRICT_LOAD=1 fails it).\n\n"+
		"| cell | worker | pod | node | share | requests | achieved req/s | lag p99 ms | CPU | clock offset ms | self-check |\n|---|--:|---|---|--:|--:|--:|--:|--:|--:|---|\n%s\n",
		r.Settings.Workers, r.Settings.WorkerImage, driven, most, bound, rows.String())
}

func or(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func dash(v float64, format string) string {
	if v == 0 || math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf(format, v)
}
