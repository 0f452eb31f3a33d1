package report

import (
	"strings"

	"github.com/llm-platform/harness/internal/results"
)

// unsupported lists a cell's percentiles that its sample cannot support,
// as "TTFT p95, E2E p95, E2E p99" ("" when none), for JUnit and the
// findings.
func unsupported(c results.Cell) string {
	var out []string
	for _, m := range []struct {
		name string
		d    results.Dist
	}{{"TTFT", c.TTFT}, {"ITL", c.ITL}, {"TPOT", c.TPOT}, {"E2E", c.E2E}} {
		for _, p := range m.d.Unsupported {
			out = append(out, m.name+" "+p)
		}
	}
	return strings.Join(out, ", ")
}

// supportMark is the mark report.md puts after a percentile its sample
// cannot support, explained under the table.
const supportMark = "†"

// marked renders v, marked when d's sample cannot support percentile p.
func marked(d results.Dist, p, v string) string {
	if d.Supports(p) {
		return v
	}
	return v + supportMark
}

// supportLegend explains the mark under a table that has one.
const supportLegend = supportMark + " a percentile of fewer requests (or ITL gaps) than it needs: p90 needs 10, p95 20, p99 100 per repeat. " +
	"With fewer it is the sample's maximum or next to it, not a tail estimate; raise PERF_ITERATIONS_PER_VU (or PERF_REQUESTS) " +
	"for a tail you can act on. The findings do not rest on such a figure.\n\n"
