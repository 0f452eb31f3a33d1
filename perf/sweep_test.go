package perf_test

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/sweep"
)

// entries are the table's rows: every cell (payload x concurrency, x rate)
// once per repeat, the repeats interleaved across the sweep
// (sweep.Config.Schedule).
func entries() []TableEntry {
	var out []TableEntry
	for _, c := range suite.cfg.Schedule() {
		out = append(out, Entry(c.SpecName(), Label(c.Labels()...), c))
	}
	return out
}

// The table is Ordered so cells run as configured (repeats interleaved,
// each payload by rising concurrency) rather than in Ginkgo's default
// order, which sorts entries that share a code location by name ("16 VUs"
// before "2 VUs"): the report, an interrupted run and a GPU's thermal
// history all read in sweep order. ContinueOnFailure keeps one failed cell
// from skipping the rest. With PERF_SEARCH the matrix gives way to one
// capacity search per payload, whose probes are the cells.
var _ = Describe("perf sweep", Label("perf"), Serial, Ordered, ContinueOnFailure, func() {
	if suite.cfg.Search != "" {
		for _, p := range suite.cfg.Payloads {
			It("finds the capacity of "+p, Label("payload:"+p, "search:"+suite.cfg.Search), func(ctx SpecContext) {
				suite.runner.OnProbe(func(pr capacity.Probe) { AddReportEntry("probe", sweep.ProbeLine(suite.cfg.Search, pr)) })
				_, err := suite.runner.Search(ctx, p)
				Expect(err).NotTo(HaveOccurred())
				res := suite.runner.Results()
				AddReportEntry("capacity of "+p, report.CapacitySentence(&res, p))
			})
		}
		return
	}
	DescribeTable("cell",
		func(ctx SpecContext, c sweep.Repeat) {
			rc, final, err := suite.runner.RunCell(ctx, c)
			Expect(err).NotTo(HaveOccurred())
			AddReportEntry(c.SpecName(), fmt.Sprintf("%d requests, %d ok, %.2f RPS, %.1f tok/s, TTFT p50/p95 %.1f/%.1f ms, E2E p95 %.1f ms: %s",
				rc.Requests, rc.Successes, rc.RPS, rc.OutputTokS, rc.TTFT.P50, rc.TTFT.P95, rc.E2E.P95, rc.Verdict))
			if !final || rc.Verdict == results.Interrupted {
				return // judged with its last repeat; or Ginkgo is stopping the suite and the reports say so
			}
			if rc.Baseline != nil && rc.Baseline.Warning() != "" {
				AddReportEntry("gate warning", rc.Baseline.Warning())
			}
			Expect(rc.Reasons).To(BeEmpty(), "cell %s", c.Name())
		},
		entries(),
	)
})
