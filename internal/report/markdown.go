package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// gpuCols are the GPU figures the tables show, read from a cell's gpu
// object (written by the GPU sampler, package gpu).
type gpuCols struct {
	UtilAvg   *float64 `json:"utilization_avg_pct"`
	MemMax    float64  `json:"memory_used_max_mib"`
	PowerAvg  float64  `json:"power_avg_w"`
	JPerToken float64  `json:"joules_per_output_token"`
	EnergyJ   float64  `json:"energy_j"`
	TempMax   float64  `json:"temperature_max_c"`
	Throttled bool     `json:"throttled"`
}

// gpu returns the cell's GPU figures, ok false when there are none.
func (c Cell) gpu() (g gpuCols, ok bool) {
	if len(c.GPU) == 0 || json.Unmarshal(c.GPU, &g) != nil || g.UtilAvg == nil {
		return gpuCols{}, false
	}
	return g, true
}

// gpuColumns renders util, memory, power and J/token for a table.
func (c Cell) gpuColumns() []string {
	g, ok := c.gpu()
	if !ok {
		return []string{"—", "—", "—", "—"}
	}
	util := fmt.Sprintf("%.0f", *g.UtilAvg)
	if g.Throttled {
		util += " (throttled)"
	}
	return []string{util, fmt.Sprintf("%.0f", g.MemMax), fmt.Sprintf("%.0f", g.PowerAvg), fmt.Sprintf("%.3f", g.JPerToken)}
}

func f1(x float64) string { return fmt.Sprintf("%.1f", x) }
func f2(x float64) string { return fmt.Sprintf("%.2f", x) }

// verdictCell renders a verdict for a table.
func verdictCell(c Cell) string {
	switch c.Verdict {
	case Pass:
		return "pass"
	case Interrupted:
		return "**interrupted**"
	}
	return "**FAIL**"
}

func errorsCell(c Cell) string {
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

// WriteMarkdown writes report.md, linking the charts given (by file name,
// written beside it by the caller); nil means r.Charts().
func (r *Results) WriteMarkdown(w io.Writer, charts map[string][]byte) error {
	var b bytes.Buffer
	if charts == nil {
		charts = r.Charts()
	}
	b.WriteString("# Load test report\n\n")
	if r.Target.Simulator != "" {
		fmt.Fprintf(&b, "> **Simulated.** The target was the harness's embedded vLLM simulator (preset `%s`), not a GPU: the figures check the harness and show the report's shape; they say nothing about the platform.\n\n", r.Target.Simulator)
	}
	if r.Interrupted {
		n := 0
		for _, c := range r.Cells {
			if c.Verdict != Interrupted {
				n++
			}
		}
		fmt.Fprintf(&b, "> **Interrupted.** The sweep stopped early: %d cells finished; a cell marked interrupted holds the requests that finished before the stop.\n\n", n)
	}

	b.WriteString("## Environment\n\n| | |\n|---|---|\n")
	target := "`" + r.Target.URL + "`"
	if r.Target.Host != "" {
		target += fmt.Sprintf(" with Host `%s`", r.Target.Host)
	}
	if r.Target.Simulator != "" {
		target = fmt.Sprintf("embedded simulator, preset `%s` (%s)", r.Target.Simulator, "`"+r.Target.URL+"`")
	}
	fmt.Fprintf(&b, "| Target | %s |\n| Model | `%s` |\n", target, r.Model)
	commit := r.GitCommit
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(&b, "| Harness commit | `%s` |\n", commit)
	fmt.Fprintf(&b, "| Run | %s to %s UTC (%s) |\n", r.Start.UTC().Format("2006-01-02 15:04:05"), r.End.UTC().Format("15:04:05"), r.End.Sub(r.Start).Round(time.Second))
	if len(r.GPUs) == 0 {
		fmt.Fprintf(&b, "| GPU | none sampled (%s) |\n", r.GPUReason)
	}
	for _, g := range r.GPUs {
		fmt.Fprintf(&b, "| GPU %d | %s, %s, driver %s, CUDA %s, %d MiB |\n", g.Index, g.Name, g.UUID, g.Driver, g.CUDA, g.MemoryTotalMB)
	}
	fmt.Fprintf(&b, "| Thresholds | %s |\n\n", r.thresholds())

	b.WriteString("## Results\n\nLatencies in milliseconds. RPS and output tok/s are over each cell's first start to last end. ")
	if len(r.GPUs) == 0 {
		b.WriteString("GPU columns are empty: no GPU was sampled (see Environment).\n\n")
	} else {
		b.WriteString("GPU util is NVML's utilization.gpu: the share of time a kernel was running, not how busy the SMs were (results.json has GPM's SM and tensor activity where the GPU supports it). GPU mem is the peak memory used, GPU W the mean power, J/token the cell's energy (the GPU's energy counter, else integrated power) over its output tokens; \"throttled\" marks a cell in which the GPU slowed its clocks for power or heat.\n\n")
	}
	for _, p := range r.payloadNames() {
		title := p
		if pl, ok := r.Payloads[p]; ok {
			title = fmt.Sprintf("%s (%d output tokens)", p, pl.MaxTokens)
		}
		fmt.Fprintf(&b, "### %s\n\n", title)
		b.WriteString("| load | requests | errors | RPS | output tok/s | TTFT p50 | TTFT p95 | ITL p50 | ITL p95 | E2E p50 | E2E p95 | E2E p99 | GPU util % | GPU mem MiB | GPU W | J/token | verdict |\n")
		b.WriteString("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		for _, c := range r.Cells {
			if c.Payload != p {
				continue
			}
			load := fmt.Sprintf("%d VUs", c.Concurrency)
			if c.Mode == "open" {
				load = fmt.Sprintf("%g req/s", c.Rate)
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
				load, c.Requests, errorsCell(c), f2(c.RPS), f1(c.OutputTokS), f1(c.TTFT.P50), f1(c.TTFT.P95),
				f1(c.ITL.P50), f1(c.ITL.P95), f1(c.E2E.P50), f1(c.E2E.P95), f1(c.E2E.P99), strings.Join(c.gpuColumns(), " | "), verdictCell(c))
		}
		b.WriteString("\n")
	}

	b.WriteString("## Charts\n\n")
	for _, ch := range []struct{ file, alt string }{
		{ChartRPS, "RPS against concurrency"}, {ChartLatency, "p95 E2E latency against concurrency"}, {ChartTTFT, "TTFT against concurrency"},
		{ChartGPU, "GPU utilisation over time"},
	} {
		if _, ok := charts[ch.file]; ok {
			fmt.Fprintf(&b, "![%s](%s)\n\n", ch.alt, ch.file)
		}
	}
	if len(charts) == 0 {
		b.WriteString("No closed-loop cells finished, so there is nothing to draw.\n\n")
	}
	if _, ok := charts[ChartGPU]; !ok {
		if len(r.GPUs) == 0 {
			fmt.Fprintf(&b, "GPU utilisation over time: not drawn, no GPU was sampled (%s).\n\n", r.GPUReason)
		} else {
			fmt.Fprintf(&b, "GPU utilisation over time: not drawn, no %s in the report folder.\n\n", FileGPUTimeline)
		}
	}

	b.WriteString("## Findings\n\n")
	for _, p := range r.payloadNames() {
		cells := r.closedCells(p)
		if len(cells) > 1 {
			fmt.Fprintf(&b, "- **%s**: %s.\n", p, FindKnee(cells))
		}
		if r.Settings.SLOTTFTms > 0 || r.Settings.SLOE2Ems > 0 {
			if best, ok := r.BestCell(p); ok {
				fmt.Fprintf(&b, "- **%s**: the best concurrency meeting the SLOs is %d VUs (%.2f RPS, p95 TTFT %.1f ms, p95 E2E %.1f ms).\n",
					p, best.Concurrency, best.RPS, best.TTFT.P95, best.E2E.P95)
			} else if len(cells) > 0 {
				fmt.Fprintf(&b, "- **%s**: no concurrency met the SLOs.\n", p)
			}
		}
	}
	if r.Settings.SLOTTFTms == 0 && r.Settings.SLOE2Ems == 0 {
		b.WriteString("- No SLOs were set (PERF_SLO_TTFT_MS, PERF_SLO_E2E_MS), so no best concurrency is named.\n")
	}
	b.WriteString(r.errorFindings())

	if r.Settings.Compare != "" {
		b.WriteString(r.compareSection())
	}
	if r.Settings.Baseline != "" {
		b.WriteString(r.baselineSection())
	}
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Results) thresholds() string {
	s := r.Settings
	parts := []string{fmt.Sprintf("error rate ≤ %g%%", s.MaxErrorRate*100)}
	if s.SLOTTFTms > 0 {
		parts = append(parts, fmt.Sprintf("p95 TTFT ≤ %g ms", s.SLOTTFTms))
	}
	if s.SLOE2Ems > 0 {
		parts = append(parts, fmt.Sprintf("p95 E2E ≤ %g ms", s.SLOE2Ems))
	}
	if s.Baseline != "" {
		parts = append(parts, fmt.Sprintf("baseline `%s` within %g%%", s.Baseline, s.Tolerance*100))
	}
	return strings.Join(parts, "; ")
}

func (r *Results) errorFindings() string {
	totals := map[string]int64{}
	for _, c := range r.Cells {
		for k, v := range c.Errors {
			totals[k] += v
		}
	}
	if len(totals) == 0 {
		return "- No request failed.\n\n"
	}
	var b strings.Builder
	b.WriteString("- Errors by class:\n\n| class | requests | what it usually means |\n|---|--:|---|\n")
	names := make([]string, 0, len(totals))
	for k := range totals {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		meaning := ClassMeaning[k]
		if meaning == "" {
			meaning = "see docs/results-schema.md"
		}
		fmt.Fprintf(&b, "| `%s` | %d | %s |\n", k, totals[k], meaning)
	}
	b.WriteString("\n")
	return b.String()
}

// compareSection is the side-by-side with PERF_COMPARE's run: for a run
// through the ingress compared with the same cells direct to the backend,
// the ingress overhead.
func (r *Results) compareSection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Overhead against `%s`\n\nEach cell of this run beside the same cell of the compared run "+
		"(for a run through the ingress compared with one direct to the backend: the ingress overhead). Milliseconds; "+
		"a positive difference means this run was slower.\n\n", r.Settings.Compare)
	b.WriteString("| cell | TTFT p50 compared | TTFT p50 here | Δ TTFT p50 | Δ ITL p50 | Δ E2E p50 | Δ E2E p95 | RPS compared | RPS here |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	n := 0
	for _, c := range r.Cells {
		if c.Compared == nil {
			continue
		}
		n++
		h, o := c.Headline(), *c.Compared
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %+.2f | %+.2f | %+.2f | %+.2f | %.2f | %.2f |\n", c.Name(), o.TTFTp50, h.TTFTp50,
			h.TTFTp50-o.TTFTp50, h.ITLp50-o.ITLp50, h.E2Ep50-o.E2Ep50, h.E2Ep95-o.E2Ep95, o.RPS, h.RPS)
	}
	if n == 0 {
		b.WriteString("| — | no cell of this run is in the compared run | | | | | | | |\n")
	}
	b.WriteString("\n")
	return b.String()
}

func (r *Results) baselineSection() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Baseline comparison\n\nAgainst `%s`. Method: a metric regresses when it is worse than the baseline by more than %g%% "+
		"(and, for latencies, by more than %g ms, below which scheduling noise dominates); RPS and output tok/s are compared, and p95 TTFT and E2E. "+
		"A cell fails only when its regression reproduces on an immediate re-run of the same cell; one that does not is reported as noise.\n\n",
		r.Settings.Baseline, r.Settings.Tolerance*100, LatencyFloorMs)
	b.WriteString("| cell | metric | baseline | current | change | verdict |\n|---|---|--:|--:|--:|---|\n")
	compared := false
	for _, c := range r.Cells {
		if c.Baseline == nil {
			continue
		}
		compared = true
		for _, m := range c.Baseline.Metrics {
			v := "ok"
			switch {
			case m.Regressed && c.Baseline.Confirmed:
				v = "**regressed**"
			case m.Regressed:
				v = "noise (did not reproduce)"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %+.1f%% | %s |\n", c.Name(), m.Name, trim(m.Baseline), trim(m.Current), m.DeltaPct, v)
		}
	}
	if !compared {
		b.WriteString("| — | no cell of this run is in the baseline | | | | |\n")
	}
	b.WriteString("\n")
	return b.String()
}
