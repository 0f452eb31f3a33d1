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
		"(fails with PERF_GATE_REQUIRED=1). A metric whose repeats vary by more than %s%% on either side is too noisy to gate on.\n\n",
		r.Settings.Baseline, results.Percent(r.Settings.Tolerance), r.Settings.Alpha, r.Settings.Alpha, results.Percent(r.Settings.MaxCV))
	if len(r.BaselineStackDiffers) > 0 {
		fmt.Fprintf(&b, "> **Warning: the baseline measured another stack** (%s). A difference below may be the stack's, not a regression.\n\n",
			strings.Join(r.BaselineStackDiffers, "; "))
	}
	t := newTable(&b, "llrrrrl", "cell", "metric", "baseline", "current", "change", "p", "verdict")
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
			t.row(c.Name(), m.Name, results.Trim(m.Baseline), results.Trim(m.Current), fmt.Sprintf("%+.1f%%", m.DeltaPct), p, v)
		}
		if c.Baseline.Inconclusive != "" {
			t.row(c.Name(), "", "", "", "", "", c.Baseline.Inconclusive)
		}
	}
	if !compared {
		t.row("—", "no cell of this run is in the baseline", "", "", "", "", "")
	}
	b.WriteString("\n")
	return b.String()
}
