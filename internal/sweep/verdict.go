package sweep

import (
	"fmt"
	"strings"

	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/results"
)

// judge gives a finished cell (its repeats combined) its verdict and the
// reasons for it: errors and SLOs on its medians, the baseline gate, the
// history gate, an
// inconclusive gate under PERF_GATE_REQUIRED, and a load that missed its
// plan under PERF_STRICT_LOAD.
func (r *Runner) judge(c *results.Cell) {
	r.judgeOwn(c)
	if base := r.baselineCell(*c); base != nil {
		cmp := gate.Compare(*base, *c, r.cfg.Gate())
		c.Baseline = &cmp
		c.Reasons = append(c.Reasons, gate.Reasons(cmp, r.cfg.Gate())...)
		if cmp.Inconclusive != "" && r.cfg.GateRequired {
			c.Reasons = append(c.Reasons, "PERF_GATE_REQUIRED: "+cmp.Inconclusive)
		}
	}
	if h := r.cfg.Past; h != nil {
		cmp := gate.AgainstHistory(h.Pools(&r.results, c.Key(), r.cfg.HistoryLevels()), *c, r.cfg.HistoryGate())
		c.History = &cmp
		c.Reasons = append(c.Reasons, gate.HistoryReasons(cmp)...)
		if cmp.Inconclusive != "" && r.cfg.GateRequired && r.cfg.BaselineRun == nil {
			c.Reasons = append(c.Reasons, "PERF_GATE_REQUIRED: "+cmp.Inconclusive)
		}
	}
	if lc := c.LoadCheck; lc != nil && lc.Verdict != results.LoadOK && r.cfg.StrictLoad {
		c.Reasons = append(c.Reasons, "PERF_STRICT_LOAD: "+lc.Reason)
	}
	c.Verdict = results.Pass
	if len(c.Reasons) > 0 {
		c.Verdict = results.Fail
	}
}

// judgeOwn adds the reasons the cell fails on its own: errors and SLOs.
func (r *Runner) judgeOwn(c *results.Cell) {
	if c.Requests == 0 {
		c.Reasons = append(c.Reasons, "no request was sent")
	}
	if e := c.EarlyStop; e != nil {
		c.Reasons = append(c.Reasons, fmt.Sprintf("stopped early, %s, after %d requests: %s", e.Rule, e.AfterRequests, e.Reason))
	}
	if er := c.ErrorRate(); er > r.cfg.MaxErrorRate {
		var parts []string
		for _, k := range c.ErrorClasses() {
			parts = append(parts, fmt.Sprintf("%d %s", c.Errors[k], k))
		}
		c.Reasons = append(c.Reasons, fmt.Sprintf("error rate %.1f%% > allowed %s%% (%s)", er*100, results.Percent(r.cfg.MaxErrorRate), strings.Join(parts, ", ")))
	}
	if r.cfg.SLOTTFT > 0 && c.TTFT.P95 > results.Millis(r.cfg.SLOTTFT) {
		c.Reasons = append(c.Reasons, fmt.Sprintf("p95 TTFT %.1f ms > SLO %g ms", c.TTFT.P95, results.Millis(r.cfg.SLOTTFT)))
	}
	if r.cfg.SLOE2E > 0 && c.E2E.P95 > results.Millis(r.cfg.SLOE2E) {
		c.Reasons = append(c.Reasons, fmt.Sprintf("p95 E2E %.1f ms > SLO %g ms", c.E2E.P95, results.Millis(r.cfg.SLOE2E)))
	}
}

func (r *Runner) baselineCell(c results.Cell) *results.Cell {
	if r.cfg.BaselineRun == nil {
		return nil
	}
	return r.cfg.BaselineRun.Find(c.Key())
}
