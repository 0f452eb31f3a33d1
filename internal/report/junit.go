package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/llm-platform/harness/internal/results"
)

// The JUnit layout: one <testsuite> per cell, holding the cell's figures as
// <properties> and one <testcase> that fails when the cell's verdict does.
// Figures go on the suite because the published schema we validate against
// (the Jenkins xUnit plugin's junit-10.xsd, the de facto JUnit schema CI
// reporters follow) allows <properties> on a suite but not on a testcase;
// the testcase's <system-out> repeats them as one readable line.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitFailure `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func secs(x float64) string { return strconv.FormatFloat(x, 'f', 3, 64) }

// cellProperties are a cell's figures, and the stack they were measured
// on, as name/value pairs.
func (r doc) cellProperties(c results.Cell) []junitProperty {
	p := func(n string, v float64) junitProperty { return junitProperty{n, results.Trim(v)} }
	props := []junitProperty{
		{"payload", c.Payload}, {"mode", c.Mode},
		p("concurrency", float64(c.Concurrency)), p("rate", c.Rate),
		p("requests", float64(c.Requests)), p("successes", float64(c.Successes)),
		p("error_rate", c.ErrorRate()), p("rps", c.RPS), p("output_tokens_per_s", c.OutputTokS),
		p("ttft_p50_ms", c.TTFT.P50), p("ttft_p95_ms", c.TTFT.P95), p("ttft_p99_ms", c.TTFT.P99),
		p("itl_p50_ms", c.ITL.P50), p("itl_p95_ms", c.ITL.P95),
		p("tpot_p50_ms", c.TPOT.P50),
		p("e2e_p50_ms", c.E2E.P50), p("e2e_p95_ms", c.E2E.P95), p("e2e_p99_ms", c.E2E.P99),
		p("goodput_rps", c.GoodputRPS),
	}
	if u := unsupported(c); u != "" {
		// Figures whose sample is too small for the percentile: the
		// sample's maximum, not a tail (report.MinSamples).
		props = append(props, junitProperty{"percentiles_unsupported", u})
	}
	for _, k := range c.ErrorClasses() {
		props = append(props, p("errors_"+k, float64(c.Errors[k])))
	}
	if c.ResponseTTFT != nil && c.ResponseE2E != nil && c.Queue != nil {
		props = append(props, p("queue_p99_ms", c.Queue.P99), p("response_ttft_p50_ms", c.ResponseTTFT.P50),
			p("response_ttft_p95_ms", c.ResponseTTFT.P95), p("response_e2e_p95_ms", c.ResponseE2E.P95))
	}
	for _, kv := range [][2]string{{"server_version", r.Stack.ServerVersion}, {"route", r.Stack.Route},
		{"kubernetes_version", r.Stack.Kubernetes}, {"controllers", strings.Join(r.Stack.Controllers, ",")}} {
		if kv[1] != "" {
			props = append(props, junitProperty{kv[0], kv[1]})
		}
	}
	if len(r.BaselineStackDiffers) > 0 {
		props = append(props, junitProperty{"baseline_stack_differs", strings.Join(r.BaselineStackDiffers, "; ")})
	}
	if g := c.GPU; g != nil {
		props = append(props, p("gpu_utilization_avg_pct", g.UtilAvg), p("gpu_memory_used_max_mib", g.MemUsedMax),
			p("gpu_power_avg_w", g.PowerAvg), p("gpu_energy_j", g.EnergyJ), p("gpu_joules_per_output_token", g.JoulesPerToken),
			p("gpu_temperature_max_c", g.TempMax), junitProperty{"gpu_throttled", strconv.FormatBool(g.Throttled)})
		if g.Source != "" {
			props = append(props, junitProperty{"gpu_source", g.Source}, p("gpu_readings", float64(g.Readings)),
				junitProperty{"gpu_too_coarse", strconv.FormatBool(g.TooCoarse)})
		}
	}
	if len(c.Repeats) > 1 {
		props = append(props, p("repeats", float64(len(c.Repeats))))
		for _, m := range results.GateMetrics {
			s := c.Stats[m.Name]
			props = append(props, p(m.Name+"_lo", s.Lo), p(m.Name+"_hi", s.Hi), p(m.Name+"_cv", s.CV))
		}
	}
	if c.Baseline != nil {
		for _, m := range c.Baseline.Metrics {
			props = append(props, p("baseline_delta_pct_"+m.Name, m.DeltaPct), p("baseline_p_"+m.Name, m.P))
		}
		if w := c.Baseline.Warning(); w != "" {
			props = append(props, junitProperty{"gate_warning", w})
		}
	}
	if h := c.History; h != nil {
		for _, m := range h.Metrics {
			props = append(props, p("history_delta_pct_"+m.Name, m.DeltaPct), p("history_p_"+m.Name, m.P), p("history_p_two_nights_"+m.Name, m.PTwoNights))
		}
		if h.Inconclusive != "" {
			props = append(props, junitProperty{"history_gate", h.Inconclusive})
		}
	}
	if lc := c.LoadCheck; lc != nil {
		props = append(props, junitProperty{"load_check", lc.Verdict}, p("client_cpu_share", lc.ClientCPUShare), p("gc_pause_ms", lc.GCPauseMs))
		if lc.Verdict != results.LoadOK {
			props = append(props, junitProperty{"load_check_reason", lc.Reason})
		}
		if len(lc.Workers) > 0 {
			props = append(props, p("workers", float64(len(lc.Workers))), p("clock_offset_ms", lc.ClockOffsetMs), p("clock_bound_ms", lc.ClockBoundMs))
		}
	}
	if e := c.EarlyStop; e != nil {
		props = append(props, junitProperty{"early_stop", e.Rule}, p("early_stop_after_requests", float64(e.AfterRequests)))
	}
	return append(props, junitProperty{"verdict", c.Verdict})
}

// WriteJUnit writes junit.xml.
func (r doc) writeJUnit(w io.Writer) error {
	out := junitSuites{Name: "perf", Time: secs(r.End.Sub(r.Start).Seconds())}
	for _, c := range r.Cells {
		s := junitSuite{
			Name: "perf: " + c.Name(), Tests: 1, Time: secs(c.DurationS),
			Timestamp:  r.Start.UTC().Format("2006-01-02T15:04:05"),
			Properties: r.cellProperties(c),
		}
		tc := junitCase{
			Name: c.Name(), Classname: "perf." + c.Payload, Time: secs(c.DurationS),
			SystemOut: fmt.Sprintf("%d requests, %d ok; %.2f RPS; %.1f output tok/s; TTFT p50 %.1f ms p95 %.1f ms; E2E p95 %.1f ms",
				c.Requests, c.Successes, c.RPS, c.OutputTokS, c.TTFT.P50, c.TTFT.P95, c.E2E.P95),
		}
		if c.Baseline != nil && c.Baseline.Warning() != "" {
			tc.SystemOut += "\nwarning: " + c.Baseline.Warning()
		}
		if c.LoadCheck != nil && c.LoadCheck.Verdict != results.LoadOK {
			tc.SystemOut += "\nwarning: " + c.LoadCheck.Reason
		}
		switch c.Verdict {
		case results.Fail:
			msg := "cell failed"
			if len(c.Reasons) > 0 {
				msg = c.Reasons[0]
			}
			tc.Failure = &junitFailure{Message: msg, Type: "perf", Text: strings.Join(c.Reasons, "\n")}
			s.Failures = 1
		case results.Interrupted:
			tc.Skipped = &junitFailure{Message: "interrupted: the sweep stopped during this cell", Type: "interrupted"}
			s.Skipped = 1
		}
		s.Cases = []junitCase{tc}
		out.Tests++
		out.Failures += s.Failures
		out.Suites = append(out.Suites, s)
	}
	for _, p := range r.capacityPayloads() {
		out.Suites = append(out.Suites, r.capacitySuite(p))
		out.Tests++
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// capacitySuite is a search's answer, as properties CI can track
// (capacity, capacity_lo, capacity_hi, capacity_complete, capacity_binding)
// and one testcase whose output is the answer's sentence. The search
// itself does not fail: its answer is a figure, which a probe's own cell
// judges.
func (r doc) capacitySuite(payload string) junitSuite {
	c := r.Capacity[payload]
	props := []junitProperty{{"payload", payload}, {"kind", c.Kind}, {"capacity", results.Trim(c.Value)}, {"capacity_lo", results.Trim(c.Lo)},
		{"capacity_hi", results.Trim(c.Hi)}, {"capacity_complete", strconv.FormatBool(c.Complete)}, {"probes", strconv.Itoa(len(c.Probes))}}
	if len(c.Binding) > 0 {
		props = append(props, junitProperty{"capacity_binding", strings.Join(c.Binding, "; ")})
	}
	return junitSuite{Name: "perf: capacity of " + payload, Tests: 1, Time: secs(c.DurationS),
		Timestamp: r.Start.UTC().Format("2006-01-02T15:04:05"), Properties: props,
		Cases: []junitCase{{Name: "capacity of " + payload, Classname: "perf.capacity", Time: secs(c.DurationS), SystemOut: r.capitalSentence(payload)}}}
}
