package report

import (
	"slices"
	"strings"
)

// MinSamples is the smallest sample each reported percentile rests on:
// 1/(1-q) values. With fewer, the q-th percentile is the sample's maximum
// or next to it (the p95 of 2 requests is the slower of the two), not an
// estimate of a tail, so report.md and junit.xml mark it and the findings
// do not rest on it.
var MinSamples = map[string]int64{"p90": 10, "p95": 20, "p99": 100}

// percentiles are the marked percentiles, in the order they are listed.
var percentiles = []string{"p90", "p95", "p99"}

// Supports reports whether the distribution's sample supports percentile
// p ("p95"). A distribution read from a schema before 5 carries no flags
// and supports every percentile, as it was reported then.
func (d Dist) Supports(p string) bool { return !slices.Contains(d.Unsupported, p) }

// flagSupport sets Unsupported from N.
func (d Dist) flagSupport() Dist {
	d.Unsupported = nil
	for _, p := range percentiles {
		if d.N < MinSamples[p] {
			d.Unsupported = append(d.Unsupported, p)
		}
	}
	return d
}

// unsupported lists a cell's percentiles that its sample cannot support,
// as "TTFT p95, E2E p95, E2E p99" ("" when none), for JUnit and the
// findings.
func (c Entry) unsupported() string {
	var out []string
	for _, m := range []struct {
		name string
		d    Dist
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
func marked(d Dist, p, v string) string {
	if d.Supports(p) {
		return v
	}
	return v + supportMark
}

// supportLegend explains the mark under a table that has one.
const supportLegend = supportMark + " a percentile of fewer requests (or ITL gaps) than it needs: p90 needs 10, p95 20, p99 100 per repeat. " +
	"With fewer it is the sample's maximum or next to it, not a tail estimate; raise PERF_ITERATIONS_PER_VU (or PERF_REQUESTS) " +
	"for a tail you can act on. The findings do not rest on such a figure.\n\n"
