package report

import (
	"fmt"
	"strings"

	"github.com/llm-platform/harness/internal/results"
)

// compareSection is the side-by-side with PERF_COMPARE's run: for a run
// through the ingress compared with the same cells direct to the backend,
// the ingress overhead. Each difference says whether the repeats of the two
// runs differ beyond chance.
func (r doc) compareSection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Overhead against `%s`\n\nEach cell of this run beside the same cell of the compared run "+
		"(for a run through the ingress compared with one direct to the backend: the ingress overhead). Milliseconds; "+
		"a positive difference means this run was slower. Each Δ is tested over the two runs' repeats (two-sided Mann–Whitney U, α = %g): "+
		"**p** marks a significant difference, \"n.s.\" one within the noise, \"not tested\" too few repeats on either side to tell "+
		"(PERF_REPEATS ≥ 4 on both runs).\n\n", r.Settings.Compare, r.Settings.Alpha)
	t := newTable(&b, "lrrrrrrrr", "cell", "TTFT p50 compared", "TTFT p50 here", "Δ TTFT p50", "Δ ITL p50", "Δ E2E p50", "Δ E2E p95", "RPS compared", "RPS here")
	n := 0
	for _, c := range r.Cells {
		if len(c.Differences) == 0 {
			continue
		}
		n++
		d := map[string]results.Difference{}
		for _, x := range c.Differences {
			d[x.Name] = x
		}
		t.row(c.Name(), f2(d["ttft_p50_ms"].Compared), f2(d["ttft_p50_ms"].Here), delta(d["ttft_p50_ms"]), delta(d["itl_p50_ms"]),
			delta(d["e2e_p50_ms"]), delta(d["e2e_p95_ms"]), f2(d["rps"].Compared), f2(d["rps"].Here))
	}
	if n == 0 {
		t.row("—", "no cell of this run is in the compared run", "", "", "", "", "", "", "")
	}
	b.WriteString("\n")
	return b.String()
}

// delta renders a Difference: "+0.40 (n.s.)", "+10.20 (**p = 0.008**)".
func delta(d results.Difference) string {
	switch {
	case !d.Tested:
		return fmt.Sprintf("%+.2f (not tested)", d.Delta)
	case d.Significant:
		return fmt.Sprintf("%+.2f (**p = %s**)", d.Delta, results.Trim(d.P))
	}
	return fmt.Sprintf("%+.2f (n.s.)", d.Delta)
}

func (r doc) baselineSection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Baseline comparison\n\nAgainst `%s`. Method: each gated metric is compared over the repeats of both runs. "+
		"It regresses only when its median moved the wrong way by more than %s%% "+
		"**and** a one-sided Mann–Whitney U test between the baseline's repeats and this run's gives p < %g. "+
		"With too few repeats for p to ever get below %g the comparison is inconclusive: the cell passes with a warning "+
		"(fails with PERF_GATE_REQUIRED=1). A metric whose repeats vary by more than %s%% on either side is too noisy to gate on. "+
		"**Detectable** is the smallest change the test would catch 4 times in 5 at this run's noise; more requests or repeats lower it. "+
		"This mode sees only the spread within a run: a restarted server's shift is invisible to it (PERF_HISTORY gates on the spread between runs).\n\n",
		r.Settings.Baseline, results.Percent(r.Settings.Tolerance), r.Settings.Alpha, r.Settings.Alpha, results.Percent(r.Settings.MaxCV))
	if len(r.BaselineStackDiffers) > 0 {
		fmt.Fprintf(&b, "> **Warning: the baseline measured another stack** (%s). A difference below may be the stack's, not a regression.\n\n",
			strings.Join(r.BaselineStackDiffers, "; "))
	}
	t := newTable(&b, "llrrrrrl", "cell", "metric", "baseline", "current", "change", "p", "detectable", "verdict")
	compared := false
	for _, c := range r.Cells {
		if c.Baseline == nil {
			continue
		}
		compared = true
		for _, m := range c.Baseline.Metrics {
			v, p := "ok", results.Trim(m.P)
			switch {
			case c.Baseline.Inconclusive != "":
				v, p = "not tested", "—"
			case m.Regressed:
				v = "**regressed**"
			case m.Noisy:
				v = "too noisy to gate on"
			}
			t.row(c.Name(), m.Name, results.Trim(m.Baseline), results.Trim(m.Current), fmt.Sprintf("%+.1f%%", m.DeltaPct), p, detectableCell(m.Detectable), v)
		}
		if c.Baseline.Inconclusive != "" {
			t.row(c.Name(), "", "", "", "", "", "", c.Baseline.Inconclusive)
		}
	}
	if !compared {
		t.row("—", "no cell of this run is in the baseline", "", "", "", "", "", "")
	}
	b.WriteString("\n")
	return b.String()
}

// detectableCell renders a Detectable: "7%" at the tolerance's floor,
// "12.4% (within 3.1, between 11.8)" when the noise is the limit.
func detectableCell(d *results.Detectable) string {
	switch {
	case d == nil:
		return "—"
	case d.Floor:
		return results.Trim(d.Pct) + "% (tolerance)"
	case d.TwoNightsPct > 0:
		return fmt.Sprintf("%s%% (within %s, between %s; two nights %s%%)", results.Trim(d.Pct), results.Trim(d.WithinPct), results.Trim(d.BetweenPct), results.Trim(d.TwoNightsPct))
	case d.BetweenPct > 0:
		return fmt.Sprintf("%s%% (within %s, between %s)", results.Trim(d.Pct), results.Trim(d.WithinPct), results.Trim(d.BetweenPct))
	}
	return results.Trim(d.Pct) + "%"
}

// historySection is the gate against the run history: for each cell and
// metric what was pooled (how many runs, since which change point or
// acceptance), the pool's centre, the two tests, what this run could
// detect, and the verdict.
func (r doc) historySection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## History gate\n\nAgainst the run history `%s` (its trend: `trend.md`). Method: each gated metric's run medians since the last change point "+
		"or acceptance are the pool (the spread between runs, restarts included, is the noise); this run regresses when it lies above the pool's one-sided "+
		"t prediction interval (p one night), or it and the run before it together do (p two nights), at %s%% and %s%% of α = %g, "+
		"**and** the change exceeds %s%%. A change point to a worse level that nobody accepted (`make accept`) keeps failing later runs. "+
		"Fewer than %d pooled runs: no history gate yet. **Detectable**: the smallest change one night catches 4 times in 5; *within* shrinks with more "+
		"requests or repeats, *between* only with more nights pooled.\n\n",
		r.Settings.History, "15", "60", r.Settings.Alpha, results.Percent(r.Settings.Tolerance), r.Settings.HistoryMinRuns)
	t := newTable(&b, "llrrrrrrrl", "cell", "metric", "pooled", "pool", "current", "change", "p one night", "p two nights", "detectable", "verdict")
	for _, c := range r.Cells {
		h := c.History
		if h == nil {
			continue
		}
		for _, m := range h.Metrics {
			pooled, v := "—", "ok"
			if m.Pool != nil {
				pooled = fmt.Sprintf("%d since %s", len(m.Pool.Medians), m.Pool.Since)
				if m.Pool.Unaccepted != "" {
					v = "**unaccepted change at " + m.Pool.Unaccepted + "**"
				}
			}
			switch {
			case m.Pool == nil || len(m.Pool.Medians) < r.Settings.HistoryMinRuns:
				v = "no history gate yet"
			case m.Regressed:
				v = "**regressed**"
			}
			t.row(c.Name(), m.Name, pooled, results.Trim(m.Baseline), results.Trim(m.Current), fmt.Sprintf("%+.1f%%", m.DeltaPct),
				results.Trim(m.P), results.Trim(m.PTwoNights), detectableCell(m.Detectable), v)
		}
	}
	b.WriteString("\n")
	return b.String()
}
