package report

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/results"

	"github.com/llm-platform/harness/internal/load"
)

// WriteMarkdown writes report.md, linking the charts given (by file name,
// written beside it by the caller); nil means r.charts(). Each section is
// one method, in the order the report reads.
func (r doc) writeMarkdown(w io.Writer, charts map[string][]byte) error {
	var b bytes.Buffer
	if charts == nil {
		charts = r.charts()
	}
	r.writeHeader(&b)
	r.writeEnvironment(&b)
	r.writeResults(&b)
	b.WriteString(r.responseSection())
	b.WriteString(r.loadSection())
	b.WriteString(r.workersSection())
	b.WriteString(r.serverSection())
	b.WriteString(r.gpuReadingsSection())
	b.WriteString(r.capacitySection())
	r.writeCharts(&b, charts)
	r.writeFindings(&b)
	if r.Settings.Compare != "" {
		b.WriteString(r.compareSection())
	}
	if r.Settings.Baseline != "" {
		b.WriteString(r.baselineSection())
	}
	if r.Settings.History != "" {
		b.WriteString(r.historySection())
	}
	_, err := w.Write(b.Bytes())
	return err
}

// writeHeader is the title and the run's caveats: simulated, interrupted.
func (r doc) writeHeader(b *bytes.Buffer) {
	b.WriteString("# Load test report\n\n")
	if r.Target.Simulator != "" {
		fmt.Fprintf(b, "> **Simulated.** The target was the harness's embedded vLLM simulator (preset `%s`), not a GPU: the figures check the harness and show the report's shape; they say nothing about the platform.\n\n", r.Target.Simulator)
	}
	if r.Interrupted {
		n := 0
		for _, c := range r.Cells {
			if c.Verdict != results.Interrupted {
				n++
			}
		}
		fmt.Fprintf(b, "> **Interrupted.** The sweep stopped early: %d cells finished; a cell marked interrupted holds the requests that finished before the stop.\n\n", n)
	}
	if !r.Settings.Stream {
		b.WriteString("> **Non-streamed.** Requests asked for whole responses (`PERF_STREAM=0`), as `hey` sends them: TTFT is the time to the whole response and equals E2E; ITL and TPOT are not measured.\n\n")
	}
	if r.Settings.InsecureSkipVerify {
		b.WriteString("> **Warning: the target's TLS certificate was not verified** (`PERF_INSECURE_SKIP_VERIFY=1`): anything between the harness and the target could have answered.\n\n")
	}

}

// writeEnvironment says what was measured, with what, and against which thresholds.
func (r doc) writeEnvironment(b *bytes.Buffer) {
	b.WriteString("## Environment\n\n")
	t := newTable(b, "ll", "", "")
	target := "`" + r.Target.URL + "`"
	if r.Target.Host != "" {
		target += fmt.Sprintf(" with Host `%s`", r.Target.Host)
	}
	if r.Target.Simulator != "" {
		target = fmt.Sprintf("embedded simulator, preset `%s` (%s)", r.Target.Simulator, "`"+r.Target.URL+"`")
	}
	t.row("Target", target)
	t.row("Model", "`"+r.Model+"`")
	t.row("Stack", r.stackLine())
	commit := "unknown"
	if r.GitCommit != "" {
		commit = "`" + r.GitCommit + "`"
		if r.GitDirty {
			commit += " (dirty tree: uncommitted changes)"
		}
	}
	t.row("Harness commit", commit)
	t.row("Requests", r.requestsLine())
	if len(r.Settings.K6Variables) > 0 {
		names := slices.Sorted(maps.Keys(r.Settings.K6Variables))
		for i, n := range names {
			names[i] = fmt.Sprintf("`%s=%s`", n, r.Settings.K6Variables[n])
		}
		t.row("k6 variables taken", strings.Join(names, ", "))
	}
	t.row("Run", fmt.Sprintf("%s to %s UTC (%s)", r.Start.UTC().Format("2006-01-02 15:04:05"), r.End.UTC().Format("15:04:05"), r.End.Sub(r.Start).Round(time.Second)))
	if len(r.GPUs) == 0 {
		t.row("GPU", fmt.Sprintf("none sampled (%s)", r.GPUReason))
	}
	for _, g := range r.GPUs {
		t.row(fmt.Sprintf("GPU %d", g.Index), gpuLine(g))
	}
	t.row("Thresholds", r.thresholds())
	b.WriteString("\n")
}

// writeResults is one table per payload, a row per cell.
func (r doc) writeResults(b *bytes.Buffer) {
	b.WriteString("## Results\n\nLatencies in milliseconds. RPS and output tok/s are over each cell's first start to last end. ")
	if r.Settings.Repeats > 1 {
		fmt.Fprintf(b, "Each cell was measured %d times, interleaved across the sweep; a figure is the median over the repeats, and "+
			"`median [lo–hi]` gives its confidence interval from order statistics (at %d repeats: the min–max range, a %.2f%% interval; "+
			"results.json has each level and every repeat). A cell whose gated metrics vary by more than %s%% (coefficient of variation) is marked too noisy to gate on. ",
			r.Settings.Repeats, r.Settings.Repeats, 100*(1-2*math.Pow(0.5, float64(r.Settings.Repeats))), results.Percent(r.Settings.MaxCV))
	}
	switch {
	case len(r.GPUs) == 0:
		b.WriteString("GPU columns are empty: no GPU was sampled (see Environment).\n\n")
	case r.GPUs[0].Source == "dcgm":
		b.WriteString(dcgmNote)
	default:
		b.WriteString("GPU columns come from NVML on this machine. GPU util is NVML's utilization.gpu: the share of time a kernel was running, not how busy the SMs were (results.json has GPM's SM and tensor activity where the GPU supports it). GPU mem is the peak memory used, GPU W the mean power, J/token the cell's energy (the GPU's energy counter, else integrated power) over its output tokens; \"throttled\" marks a cell in which the GPU slowed its clocks for power or heat.\n\n")
	}
	for _, p := range r.payloadNames() {
		title := p
		if pl, ok := r.Payloads[p]; ok {
			title = fmt.Sprintf("%s (%d output tokens)", p, pl.MaxTokens)
			switch {
			case pl.TraceRequests > 0:
				title = fmt.Sprintf("%s (%d requests, each with the trace's own input and output length and prompt blocks; outputs up to %d tokens)", p, pl.TraceRequests, pl.MaxTokens)
				if pl.TraceFormat != "" {
					title = fmt.Sprintf("%s (%s trace, %d requests, each with its own input and output length; outputs up to %d tokens; fitted to max_model_len %d by %s)",
						p, pl.TraceFormat, pl.TraceRequests, pl.MaxTokens, pl.MaxModelLen, pl.TraceFit)
				}
			case pl.InputDistribution != "" && pl.InputNote == "":
				title = fmt.Sprintf("%s (input tokens %s, each sized through the target's /tokenize; %d output tokens)", p, pl.InputDistribution, pl.MaxTokens)
			case pl.InputDistribution != "":
				title = fmt.Sprintf("%s (input tokens %s; %d output tokens)", p, pl.InputDistribution, pl.MaxTokens)
			case pl.InputTokens > 0 && pl.InputNote == "":
				title = fmt.Sprintf("%s (%d input tokens, sized through the target's /tokenize; %d output tokens)", p, pl.InputTokens, pl.MaxTokens)
			case pl.InputTokens > 0:
				title = fmt.Sprintf("%s (%d input tokens; %d output tokens)", p, pl.InputTokens, pl.MaxTokens)
			}
		}
		if pl := r.Payloads[p]; pl.PrefixGroups > 0 {
			title += fmt.Sprintf(", %d shared prefixes of %d tokens", pl.PrefixGroups, pl.PrefixTokens)
		}
		fmt.Fprintf(b, "### %s\n\n", title)
		if pl := r.Payloads[p]; pl.InputNote != "" {
			fmt.Fprintf(b, "> **Input length %s.** Each request's usage.prompt_tokens is checked against its prompt's length; the input tok column counts the mismatches.\n\n", pl.InputNote)
		}
		t := newTable(b, "lrrlrrrrrrrrrrrrrl", "load", "requests", "input tok", "errors", "RPS", "output tok/s", "TTFT p50", "TTFT p95", "ITL p50", "ITL p95",
			"E2E p50", "E2E p95", "E2E p99", "GPU util %", "GPU mem MiB", "GPU W", "J/token", "verdict")
		thin := false
		for _, c := range r.Cells {
			if c.Payload != p {
				continue
			}
			where := load.VUs(c.Concurrency)
			if c.Mode == "open" {
				where = fmt.Sprintf("%g req/s", c.Rate)
			}
			thin = thin || unsupported(c) != ""
			row := []string{where, fmt.Sprint(c.Requests), inputCell(c), errorsCell(c), withInterval(c, "rps", c.RPS, f2), f1(c.OutputTokS),
				withInterval(c, "ttft_p50_ms", c.TTFT.P50, f1), marked(c.TTFT, "p95", withInterval(c, "ttft_p95_ms", c.TTFT.P95, f1)),
				r.itl(withInterval(c, "itl_p50_ms", c.ITL.P50, f1)), r.itl(marked(c.ITL, "p95", f1(c.ITL.P95))), f1(c.E2E.P50),
				marked(c.E2E, "p95", withInterval(c, "e2e_p95_ms", c.E2E.P95, f1)), marked(c.E2E, "p99", f1(c.E2E.P99))}
			row = append(row, gpuColumns(c)...)
			t.row(append(row, verdictCell(c)+noisyNote(c, r.Settings.MaxCV))...)
		}
		b.WriteString("\n")
		if thin {
			b.WriteString(supportLegend)
		}
	}

}

// writeCharts links the charts written beside the report.
func (r doc) writeCharts(b *bytes.Buffer, charts map[string][]byte) {
	b.WriteString("## Charts\n\n")
	for _, ch := range []struct{ file, alt string }{
		{ChartRPS, "RPS against concurrency"}, {ChartLatency, "p95 E2E latency against concurrency"}, {ChartTTFT, "TTFT against concurrency"},
		{ChartGPU, "GPU utilisation over time"},
	} {
		if _, ok := charts[ch.file]; ok {
			fmt.Fprintf(b, "![%s](%s)\n\n", ch.alt, ch.file)
		}
	}
	if len(charts) == 0 {
		b.WriteString("No closed-loop cells finished, so there is nothing to draw.\n\n")
	}
	if _, ok := charts[ChartGPU]; !ok {
		if len(r.GPUs) == 0 {
			fmt.Fprintf(b, "GPU utilisation over time: not drawn, no GPU was sampled (%s).\n\n", r.GPUReason)
		} else {
			fmt.Fprintf(b, "GPU utilisation over time: not drawn, no %s in the report folder.\n\n", FileGPUTimeline)
		}
	}

}

// writeFindings is the knee, the best concurrency and the errors by class.
func (r doc) writeFindings(b *bytes.Buffer) {
	b.WriteString("## Findings\n\n")
	for _, p := range r.payloadNames() {
		cells := r.closedCells(p)
		if len(cells) > 1 {
			k := FindKnee(cells)
			fmt.Fprintf(b, "- **%s**: %s.\n", p, k)
			if why := kneeCause(k, cells); why != "" {
				fmt.Fprintf(b, "- **%s**: %s\n", p, why)
			}
		}
		if r.Settings.SLOTTFTms > 0 || r.Settings.SLOE2Ems > 0 {
			best, ok, unjudged := r.bestCell(p)
			switch {
			case ok:
				fmt.Fprintf(b, "- **%s**: the best concurrency meeting the SLOs is %s (%.2f RPS, p95 TTFT %.1f ms, p95 E2E %.1f ms).\n",
					p, load.VUs(best.Concurrency), best.RPS, best.TTFT.P95, best.E2E.P95)
			case unjudged == len(cells) && unjudged > 0:
				fmt.Fprintf(b, "- **%s**: no cell had the %d requests a p95 needs, so none was judged against the SLOs.\n", p, results.MinSamples["p95"])
			case len(cells) > 0:
				fmt.Fprintf(b, "- **%s**: no concurrency met the SLOs.\n", p)
			}
			if unjudged > 0 && unjudged < len(cells) {
				verb := "was"
				if unjudged > 1 {
					verb = "were"
				}
				fmt.Fprintf(b, "- **%s**: %d of %d cells had fewer than the %d requests a p95 needs and %s not judged against the SLOs.\n", p, unjudged, len(cells), results.MinSamples["p95"], verb)
			}
		}
	}
	if r.Settings.SLOTTFTms == 0 && r.Settings.SLOE2Ems == 0 {
		b.WriteString("- No SLOs were set (PERF_SLO_TTFT_MS, PERF_SLO_E2E_MS), so no best concurrency is named.\n")
	}
	b.WriteString(r.kvFinding())
	b.WriteString(r.errorFindings())

}

// loadSection is the load self-check: whether each cell applied the load
// it planned, and whose fault it was when not.
func (r doc) loadSection() string {
	var b strings.Builder
	var maxShare float64
	var cores, checked int
	sim := false
	for _, c := range r.Cells {
		lc := c.LoadCheck
		if lc == nil {
			continue
		}
		checked++
		maxShare, cores, sim = math.Max(maxShare, lc.ClientCPUShare), lc.ClientCores, sim || lc.IncludesSimulator
		if lc.Verdict != results.LoadOK {
			fmt.Fprintf(&b, "- **%s**: %s.\n", c.Name(), lc.Reason)
		}
	}
	if checked == 0 {
		return ""
	}
	who := "the harness"
	if sim {
		who = "the harness and the embedded simulator, which share its process,"
	}
	if r.Settings.Workers > 0 {
		who = "the worker pods together"
	}
	head := fmt.Sprintf("### Load self-check\n\nWhether each cell applied the load it planned: in open loop the rate started against the rate offered and the schedule's lag, "+
		"blamed on the server when requests fell due with every in-flight slot busy and on the client otherwise; in both modes the CPU use of %s "+
		"(at most %.0f%% of its %d cores here). A cell that did not match its plan is a warning (PERF_STRICT_LOAD=1 fails it).\n\n", who, 100*maxShare, cores)
	if b.Len() == 0 {
		return head + "- Every cell applied its planned load.\n\n"
	}
	return head + b.String() + "\n"
}

// stackLine says what was measured: server version, route, cluster.
func (r doc) stackLine() string {
	s := r.Stack
	or := func(v, unknown string) string {
		if v == "" {
			return unknown
		}
		return "`" + v + "`"
	}
	parts := []string{"server version " + or(s.ServerVersion, "unknown"), "route " + or(s.Route, "unknown")}
	if s.Kubernetes != "" {
		parts = append(parts, "Kubernetes "+or(s.Kubernetes, ""))
	}
	if len(s.Controllers) > 0 {
		parts = append(parts, "controller "+or(strings.Join(s.Controllers, ", "), ""))
	}
	out := strings.Join(parts, ", ")
	if len(s.Notes) > 0 {
		out += " (" + strings.Join(s.Notes, "; ") + ")"
	}
	if len(r.BaselineStackDiffers) > 0 {
		out += "; **differs from the baseline's:** " + strings.Join(r.BaselineStackDiffers, "; ")
	}
	return out
}

// itl is an ITL cell: "—" for a non-streamed run, which has no token gaps.
func (r doc) itl(v string) string {
	if !r.Settings.Stream {
		return "—"
	}
	return v
}

// requestsLine says how requests were sent: streamed or not, and the trust
// of an https target.
func (r doc) requestsLine() string {
	out := "streamed (`stream: true`, usage in the last chunk)"
	if !r.Settings.Stream {
		out = "non-streamed (`stream: false`, as hey sends them): TTFT equals E2E"
	}
	switch {
	case r.Settings.InsecureSkipVerify:
		out += "; TLS certificate **not verified**"
	case r.Settings.CAFile != "":
		out += fmt.Sprintf("; TLS trusted through `%s`", r.Settings.CAFile)
	}
	return out
}

func (r doc) thresholds() string {
	s := r.Settings
	parts := []string{fmt.Sprintf("error rate ≤ %s%%", results.Percent(s.MaxErrorRate))}
	if s.SLOTTFTms > 0 {
		parts = append(parts, fmt.Sprintf("p95 TTFT ≤ %g ms", s.SLOTTFTms))
	}
	if s.SLOE2Ems > 0 {
		parts = append(parts, fmt.Sprintf("p95 E2E ≤ %g ms", s.SLOE2Ems))
	}
	if s.Baseline != "" {
		parts = append(parts, fmt.Sprintf("baseline `%s`: a regression beyond %s%% with p < %g", s.Baseline, results.Percent(s.Tolerance), s.Alpha))
	}
	if s.History != "" {
		parts = append(parts, fmt.Sprintf("run history `%s`: a regression beyond %s%% against the runs since the last change point", s.History, results.Percent(s.Tolerance)))
	}
	if s.Repeats > 1 {
		parts = append(parts, fmt.Sprintf("%d repeats per cell", s.Repeats))
	}
	return strings.Join(parts, "; ")
}

func (r doc) errorFindings() string {
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
	b.WriteString(overflowLine(r.Cells))
	b.WriteString("- Errors by class:\n\n")
	t := newTable(&b, "lrl", "class", "requests", "what it usually means")
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
		t.row("`"+k+"`", fmt.Sprint(totals[k]), meaning)
	}
	b.WriteString("\n")
	return b.String()
}

// overflowLine is the one line a sweep whose requests mostly exceeded the
// model's context window gets: its figures are of refusals, not of
// generation. "" when fewer than half the requests overflowed.
func overflowLine(cells []results.Cell) string {
	var over, total int64
	for _, c := range cells {
		over += c.Errors[string(record.ContextOverflow)]
		total += c.Requests
	}
	if total == 0 || 2*over < total {
		return ""
	}
	return fmt.Sprintf("- **%d of %d requests exceeded the model's context window** (`context_overflow`): the server refused them before any work, so this sweep's latencies are not of generation. Shorten the prompts or lower max_tokens to fit max_model_len.\n", over, total)
}
