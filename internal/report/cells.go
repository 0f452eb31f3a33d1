package report

import (
	"fmt"
	"strings"

	"github.com/llm-platform/harness/internal/results"
)

// The renderings of one cell's figures that several tables share.

// gpuColumns renders util, memory, power and J/token for a table.
func gpuColumns(c results.Cell) []string {
	g := c.GPU
	if g == nil {
		return []string{"—", "—", "—", "—"}
	}
	util := fmt.Sprintf("%.0f", g.UtilAvg)
	if g.Throttled {
		util += " (throttled)"
	}
	return []string{util, fmt.Sprintf("%.0f", g.MemUsedMax), fmt.Sprintf("%.0f", g.PowerAvg), fmt.Sprintf("%.3f", g.JoulesPerToken)}
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }
func f2(x float64) string { return fmt.Sprintf("%.2f", x) }

// inputCell is a cell's mean prompt length, with its mismatches against a
// sized prompt: "512", "498.5 (12 mismatched)", "—" without usage.
func inputCell(c results.Cell) string {
	if c.InputTokensMean == 0 {
		return "—"
	}
	v := results.Trim(c.InputTokensMean)
	if c.PromptMismatches > 0 {
		v += fmt.Sprintf(" (%d mismatched)", c.PromptMismatches)
	}
	return v
}

// verdictCell renders a verdict for a table.
func verdictCell(c results.Cell) string {
	switch c.Verdict {
	case results.Pass:
		return "pass"
	case results.Interrupted:
		return "**interrupted**"
	}
	if c.EarlyStop != nil {
		return "**FAIL** (" + c.EarlyStop.Rule + ")"
	}
	return "**FAIL**"
}

func errorsCell(c results.Cell) string {
	if c.Requests == c.Successes {
		return "0"
	}
	var parts []string
	for _, k := range c.ErrorClasses() {
		parts = append(parts, fmt.Sprintf("%d %s", c.Errors[k], k))
	}
	out := strings.Join(parts, ", ")
	if c.RecoveryS > 0 {
		out += fmt.Sprintf(" (recovered in %.1f s)", c.RecoveryS)
	}
	return out
}

// withInterval renders a gated metric's median with its interval when the
// cell was repeated: "25.10 [22.70–25.90]"; format formats each number.
func withInterval(c results.Cell, metric string, v float64, format func(float64) string) string {
	s, ok := c.Stats[metric]
	if !ok || s.N < 2 {
		return format(v)
	}
	return fmt.Sprintf("%s [%s–%s]", format(v), format(s.Lo), format(s.Hi))
}

// noisyNote marks a repeated cell whose metrics vary beyond maxCV, and a
// cell whose load did not match its plan.
func noisyNote(c results.Cell, maxCV float64) string {
	out := ""
	if n := c.Noisy(maxCV); len(n) > 0 {
		out = fmt.Sprintf(" (too noisy to gate on: %s)", strings.Join(n, ", "))
	}
	if c.LoadCheck != nil && c.LoadCheck.Verdict != results.LoadOK {
		out += " (" + c.LoadCheck.Verdict + ")"
	}
	return out
}
