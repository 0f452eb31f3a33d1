package report

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/llm-platform/harness/internal/chart"
	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/results"
)

// Trend file names in the report folder.
const (
	FileTrend = "trend.md"
	DirTrend  = "trend"
)

// WriteTrend writes trend.md and one SVG per cell and gated metric (in
// dir/trend) for every series of the history h: each run's median with
// its interval, the change points and acceptances marked, and at each
// change point what changed between the two runs (commits, stack).
func WriteTrend(h *history.History, o history.Levels, dir string) error {
	var md bytes.Buffer
	fmt.Fprintf(&md, "# Trend: %d runs in `%s`\n\n", len(h.Entries), h.Dir)
	md.WriteString("Each chart is one cell's gated metric over the runs of one series (route kind, model, GPU): " +
		"the run's median (solid) and its confidence interval (dashed), change points (E-divisive means, " +
		"permutation test) and acceptances (`make accept`) marked. A change point to a worse level that nobody " +
		"accepted fails every later run.\n")
	if len(h.Accepted) > 0 {
		md.WriteString("\nAccepted levels:\n\n")
		for _, a := range h.Accepted {
			fmt.Fprintf(&md, "- %s: `%s`, %s\n", a.At.Format("2006-01-02 15:04 UTC"), a.Run, a.Reason)
		}
	}
	var errs []error
	for _, id := range identities(h) {
		entries := h.Runs(id)
		fmt.Fprintf(&md, "\n## %s (%d runs, %s to %s)\n", id, len(entries), shortName(entries[0].File), shortName(entries[len(entries)-1].File))
		last := entries[len(entries)-1].Run
		for _, c := range last.Cells {
			fmt.Fprintf(&md, "\n### %s\n", c.Name())
			for _, m := range results.GateMetrics {
				ps := history.Series(entries, c.Key(), m)
				if len(ps) == 0 {
					continue
				}
				name, changes := svgName(id, c.Key(), m.Name), history.Changes(ps, m.HigherIsBetter, o.ChangePoints)
				errs = append(errs, results.WriteFile(filepath.Join(dir, DirTrend, name), trendChart(c.Name(), m, ps, changes, h.Accepted).SVG()))
				fmt.Fprintf(&md, "\n![%s, %s](%s/%s)\n", c.Name(), m.Name, DirTrend, name)
				writeChanges(&md, ps, changes, o.Tolerance)
			}
		}
	}
	errs = append(errs, results.WriteFile(filepath.Join(dir, FileTrend), md.Bytes()))
	return errors.Join(errs...)
}

// identities lists the history's series, the latest run's first.
func identities(h *history.History) []history.Identity {
	var out []history.Identity
	for i := len(h.Entries) - 1; i >= 0; i-- {
		if id := history.IdentityOf(h.Entries[i].Run); !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// trendChart draws one series: runs numbered from 1 on x.
func trendChart(cell string, m results.GateMetric, ps []history.Figure, changes []history.Change, accepted []history.Acceptance) chart.Chart {
	med, lo, hi := chart.Line{Name: "median"}, chart.Line{Name: "interval lo", Dashed: true}, chart.Line{Name: "interval hi", Dashed: true}
	for i, p := range ps {
		x := float64(i + 1)
		med.Points = append(med.Points, chart.Point{X: x, Y: p.Median})
		lo.Points = append(lo.Points, chart.Point{X: x, Y: p.Lo})
		hi.Points = append(hi.Points, chart.Point{X: x, Y: p.Hi})
	}
	c := chart.Chart{Title: cell + ": " + m.Name, XLabel: "run", YLabel: unitOf(m.Name), Series: []chart.Line{med, lo, hi}}
	for _, ch := range changes {
		c.Marks = append(c.Marks, chart.Mark{X: float64(ch.At + 1), Label: "change"})
	}
	for _, a := range accepted {
		if i := slices.IndexFunc(ps, func(p history.Figure) bool { return p.Entry.File == a.Run }); i >= 0 {
			c.Marks = append(c.Marks, chart.Mark{X: float64(i + 1), Label: "accepted"})
		}
	}
	return c
}

func unitOf(metric string) string {
	switch {
	case strings.HasSuffix(metric, "_ms"):
		return "ms"
	case metric == "rps":
		return "requests/s"
	}
	return "tokens/s"
}

// writeChanges lists each change point of a series: the levels either
// side, and what changed between the two runs that bracket it.
func writeChanges(md *bytes.Buffer, ps []history.Figure, changes []history.Change, tolerance float64) {
	if len(changes) == 0 {
		fmt.Fprintf(md, "\nNo change point in %d runs.\n", len(ps))
		return
	}
	for _, ch := range changes {
		cp, w := ch.At, ch.Worse
		kind := fmt.Sprintf("better by %.1f%%", -100*w)
		switch {
		case w > tolerance:
			kind = fmt.Sprintf("**worse by %.1f%%**, beyond the tolerance", 100*w)
		case w > 0:
			kind = fmt.Sprintf("worse by %.1f%%, within the tolerance", 100*w)
		}
		a, b := ps[cp-1].Entry, ps[cp].Entry
		fmt.Fprintf(md, "\n- Change point at run %d (`%s`): %s. Between `%s` and `%s`: %s.\n",
			cp+1, b.File, kind, a.File, b.File, whatChanged(a.Run, b.Run))
	}
}

// whatChanged names the commits and stack fields that differ between two
// runs.
func whatChanged(a, b *results.Run) string {
	var parts []string
	if a.GitCommit != b.GitCommit {
		parts = append(parts, fmt.Sprintf("commit %s -> %s", cmp.Or(history.ShortCommit(a.GitCommit), "unknown"), cmp.Or(history.ShortCommit(b.GitCommit), "unknown")))
	}
	parts = append(parts, results.StackDiff(a.Stack, b.Stack)...)
	if len(parts) == 0 {
		return "same commit and stack (a change outside what the harness records: the node, the driver, the box)"
	}
	return strings.Join(parts, "; ")
}

func shortName(file string) string { return strings.TrimSuffix(file, ".json") }

// svgName is a chart's file name: series, cell and metric, in characters
// every file system takes.
func svgName(id history.Identity, key, metric string) string {
	var parts []string
	for _, p := range []string{id.RouteKind, id.Model, id.GPU, id.Simulator, key, metric} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	name := strings.Join(parts, "-")
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
			return r
		}
		return '-'
	}, name) + ".svg"
}
