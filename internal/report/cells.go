package report

import (
	"cmp"
	"fmt"
	"slices"
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
	if missingEverywhere(g, "utilization.gpu") {
		util = "—"
	}
	if g.Throttled {
		util += " (throttled)"
	}
	jpt := fmt.Sprintf("%.3f", g.JoulesPerToken)
	if g.TooCoarse && g.Source == "dcgm" {
		util += "*"
		jpt += "*"
	}
	return []string{util, fmt.Sprintf("%.0f", g.MemUsedMax), fmt.Sprintf("%.0f", g.PowerAvg), jpt}
}

// missingEverywhere says no device of the window could read field.
func missingEverywhere(g *results.GPUWindow, field string) bool {
	for _, d := range g.Devices {
		if !slices.Contains(d.Missing, field) {
			return false
		}
	}
	return len(g.Devices) > 0
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

// gpuLine describes a sampled GPU for the Environment table, with where
// its figures came from.
func gpuLine(g results.GPU) string {
	if g.Source == "dcgm" {
		return fmt.Sprintf("%s, %s, %d MiB; figures from the DCGM exporter at %s, the GPU matched by %s", cmp.Or(g.Name, "(no model name)"), g.UUID, g.MemoryTotalMB, g.Exporter, g.Match)
	}
	return fmt.Sprintf("%s, %s, driver %s, CUDA %s, %d MiB; figures from NVML on this machine", g.Name, g.UUID, g.Driver, g.CUDA, g.MemoryTotalMB)
}

// dcgmNote explains the GPU columns when a DCGM exporter gave them.
const dcgmNote = "GPU columns come from the cluster's DCGM exporter (see Environment), which collects every interval of its own (30 s by default) " +
	"and serves its last collection in between. A cell's GPU figures are the readings taken during it and the readings either side of it: " +
	"GPU util is DCGM_FI_DEV_GPU_UTIL (a kernel was running), GPU mem the peak DCGM_FI_DEV_FB_USED, GPU W the mean DCGM_FI_DEV_POWER_USAGE, " +
	"and J/token the delta of DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION between the reading in force when the cell began and the first after it ended, " +
	"over the cell's output tokens: exact over that span, which holds the cell and is up to two intervals longer (results.json: `energy_span_s`). " +
	"A figure marked * rests on fewer than 3 readings during the cell: too coarse to describe it (lower the exporter's interval, or lengthen the cell). " +
	"\"—\" is a field the exporter does not export.\n\n"

// gpuReadingsSection states, for GPU figures from a DCGM exporter, the
// exporter's interval and each cell's readings: how much its GPU columns
// rest on. Empty for NVML, whose samples come every PERF_GPU_INTERVAL.
func (r doc) gpuReadingsSection() string {
	var rows strings.Builder
	coarse := 0
	for _, c := range r.Cells {
		g := c.GPU
		if g == nil || g.Source != "dcgm" {
			continue
		}
		state := "ok"
		if g.TooCoarse {
			state, coarse = "**too coarse**", coarse+1
		}
		method := "—"
		if len(g.Devices) > 0 {
			method = g.Devices[0].EnergyMethod
		}
		fmt.Fprintf(&rows, "| %s | %d | %.1f | %.1f | %s | %s | %s |\n", c.Name(), g.Readings, g.IntervalS, c.DurationS, dash(g.EnergySpanS, "%.1f"), method, state)
	}
	if rows.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("### GPU readings (DCGM exporter)\n\nThe exporter's readings during each cell, at its interval (as observed; 30 s until two collections were seen), "+
		"and the span its energy covers (from the reading in force when the cell began to the first after it ended; none when no reading came after it). %d of them had fewer than %d readings: too coarse.\n\n"+
		"| cell | readings | interval s | cell s | energy over s | energy | GPU figures |\n|---|--:|--:|--:|--:|---|---|\n%s\n", coarse, results.MinReadings, rows.String())
}
