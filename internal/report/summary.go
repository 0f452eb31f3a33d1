package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/llm-platform/harness/internal/results"
)

// FileSummary is the short Markdown a CI job shows on its page (GitHub's
// job summary): the verdict, each cell in one line, and what regressed.
// report.md is the full report.
const FileSummary = "summary.md"

// WriteSummary writes the run's short summary: what a team reads on the
// job's page before deciding whether to open report.md.
func (r doc) writeSummary(w io.Writer) error {
	var b strings.Builder
	failed, regressed := 0, 0
	for _, c := range r.Cells {
		if c.Verdict == results.Fail {
			failed++
		}
		if c.Baseline != nil && c.Baseline.Regressed {
			regressed++
		}
	}
	verdict := "passed"
	switch {
	case r.Interrupted:
		verdict = "interrupted"
	case failed > 0:
		verdict = "failed"
	}
	fmt.Fprintf(&b, "### perf: %s (%d of %d cells failed", verdict, failed, len(r.Cells))
	if r.Settings.Baseline != "" {
		fmt.Fprintf(&b, "; %d regressed against the baseline", regressed)
	}
	b.WriteString(")\n\n")
	if r.Settings.History != "" {
		b.WriteString(r.historySummary())
	}
	if r.Settings.Baseline == "" && r.Settings.History == "" {
		b.WriteString("No baseline: nothing was gated.\n\n")
	} else if r.Settings.Baseline != "" {
		fmt.Fprintf(&b, "Gated against `%s`: a metric regresses when its median is more than %s%% worse and a one-sided Mann–Whitney U test over the repeats gives p < %g.\n\n",
			r.Settings.Baseline, results.Percent(r.Settings.Tolerance), r.Settings.Alpha)
	}
	t := newTable(&b, "llrrrrl", "cell", "verdict", "RPS", "TTFT p50", "ITL p50", "E2E p95", "errors")
	for _, c := range r.Cells {
		t.row(c.Name(), c.Verdict, f2(c.RPS), f1(c.TTFT.P50), f1(c.ITL.P50), f1(c.E2E.P95), errorsCell(c))
	}
	b.WriteString("\n")
	for _, c := range r.Cells {
		if c.Verdict != results.Fail {
			continue
		}
		fmt.Fprintf(&b, "- **%s**: %s\n", c.Name(), strings.Join(c.Reasons, "; "))
	}
	if failed > 0 {
		b.WriteString("\n")
	}
	b.WriteString("Full report: `report.md` (artifact); every figure: `results.json`.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// historySummary is the job summary's line on the history gate: the mode,
// what it pooled, how many cells regressed, and every change point to a
// worse level that nobody accepted, with where the trend is.
func (r doc) historySummary() string {
	var b strings.Builder
	regressed, young, gated := 0, 0, 0
	pooled := map[int]bool{}
	var unaccepted []string
	for _, c := range r.Cells {
		h := c.History
		if h == nil {
			continue
		}
		if h.Regressed {
			regressed++
		}
		gated++
		if h.Inconclusive != "" {
			young++
		}
		for _, m := range h.Metrics {
			if m.Pool == nil {
				continue
			}
			pooled[len(m.Pool.Medians)] = true
			if u := m.Pool.Unaccepted; u != "" && !slices.Contains(unaccepted, u) {
				unaccepted = append(unaccepted, u)
			}
		}
	}
	sizes := slices.Sorted(maps.Keys(pooled))
	if young == gated {
		fmt.Fprintf(&b, "Run history `%s`: no history gate yet (pools of %s runs; it gates from %d). Trend: `trend.md` in the reports.\n\n",
			r.Settings.History, joinInts(sizes), r.Settings.HistoryMinRuns)
		return b.String()
	}
	fmt.Fprintf(&b, "Gated against the run history `%s` (%d cells regressed; %d with no history gate yet; pools of %s runs since the last change point or acceptance). Trend: `trend.md` in the reports.\n\n",
		r.Settings.History, regressed, young, joinInts(sizes))
	for _, u := range unaccepted {
		fmt.Fprintf(&b, "> **A change point nobody accepted** begins at `%s`: later runs fail until it is fixed or accepted (`make accept HISTORY=... RUN=%s REASON=\"...\"`). See `trend.md`.\n\n", u, u)
	}
	return b.String()
}

func joinInts(xs []int) string {
	if len(xs) == 0 {
		return "0"
	}
	if len(xs) == 1 {
		return fmt.Sprint(xs[0])
	}
	return fmt.Sprintf("%d–%d", xs[0], xs[len(xs)-1])
}
