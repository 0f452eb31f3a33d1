package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/llm-platform/harness/internal/chart"
	"github.com/llm-platform/harness/internal/results"

	"github.com/llm-platform/harness/internal/capacity"
)

// objectiveText is an objective as a person reads it: "p95 TTFT ≤ 500 ms".
func objectiveText(o capacity.Objective) string {
	switch o.Metric {
	case results.MetricTTFTp95:
		return fmt.Sprintf("p95 TTFT ≤ %s ms", results.Trim(o.Limit))
	case results.MetricE2Ep95:
		return fmt.Sprintf("p95 E2E ≤ %s ms", results.Trim(o.Limit))
	case results.MetricGoodRatio:
		return fmt.Sprintf("a share of requests meeting every SLO ≥ %s%%", results.Percent(o.Limit))
	case results.MetricErrorRate:
		return fmt.Sprintf("an error rate ≤ %s%%", results.Percent(o.Limit))
	}
	return o.String()
}

// loadText is a search's load: "11 concurrent users", "37.5 requests/s".
func loadText(kind string, at float64) string {
	if kind == capacity.Rate {
		return results.Trim(at) + " requests/s"
	}
	if at == 1 {
		return "1 concurrent user"
	}
	return fmt.Sprintf("%s concurrent users", results.Trim(at))
}

// server names what was measured, for the capacity sentence.
func (r doc) server() string {
	switch {
	case r.Target.Simulator != "":
		return "the embedded simulator (preset " + r.Target.Simulator + ")"
	case len(r.GPUs) == 1:
		return "one " + r.GPUs[0].Name
	case len(r.GPUs) > 1:
		return fmt.Sprintf("%d GPUs (%s)", len(r.GPUs), r.GPUs[0].Name)
	}
	return "the target"
}

// CapacitySentence is the search's answer in a sentence, with its figures:
// "One NVIDIA GeForce RTX 3060 serves 11 concurrent users of the long
// payload at p95 TTFT ≤ 500 ms (bracket 11–12; binding: p95 TTFT ≤ 500 ms)".
func (r doc) capitalSentence(payload string) string {
	s := r.capacitySentence(payload)
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (r doc) capacitySentence(payload string) string {
	c, ok := r.Capacity[payload]
	if !ok {
		return ""
	}
	var slos []string
	for _, o := range c.Objectives {
		slos = append(slos, objectiveText(o))
	}
	at := strings.Join(slos, " and ")
	binding := make([]string, 0, len(c.Binding))
	for _, b := range c.Binding {
		for _, o := range c.Objectives {
			if o.String() == b {
				binding = append(binding, objectiveText(o))
			}
		}
	}
	probes := fmt.Sprintf("%d probes, %s s", len(c.Probes), results.Trim(c.DurationS))
	switch {
	case c.Value == 0 && c.Hi > 0:
		return fmt.Sprintf("%s cannot serve even %s of the %s payload at %s (broken: %s; %s).",
			r.server(), loadText(c.Kind, c.Hi), payload, at, strings.Join(binding, ", "), probes)
	case c.Value == 0:
		return fmt.Sprintf("The %s payload's search found no answer: %s (%s).", payload, c.Note, probes)
	case c.Hi == 0:
		return fmt.Sprintf("%s serves at least %s of the %s payload at %s: %s (%s).",
			r.server(), loadText(c.Kind, c.Value), payload, at, c.Note, probes)
	case !c.Complete:
		return fmt.Sprintf("%s serves at least %s of the %s payload at %s, and not %s (bracket %s–%s, not narrowed: %s; %s).",
			r.server(), loadText(c.Kind, c.Value), payload, at, loadText(c.Kind, c.Hi), results.Trim(c.Lo), results.Trim(c.Hi), c.Note, probes)
	}
	return fmt.Sprintf("%s serves %s of the %s payload at %s (bracket %s–%s; binding: %s; %s).",
		r.server(), loadText(c.Kind, c.Value), payload, at, results.Trim(c.Lo), results.Trim(c.Hi), strings.Join(binding, ", "), probes)
}

// capacityPayloads are the searched payloads in a fixed order.
func (r doc) capacityPayloads() []string { return slices.Sorted(maps.Keys(r.Capacity)) }

// capacitySection is the searches' answers, each probe, and how a probe was
// decided.
func (r doc) capacitySection() string {
	if len(r.Capacity) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("## Capacity\n\n")
	for _, p := range r.capacityPayloads() {
		c := r.Capacity[p]
		fmt.Fprintf(&b, "**%s.** %s\n\n", p, r.capitalSentence(p))
		header := []string{"load", "repeats", "verdict"}
		for _, o := range c.Objectives {
			header = append(header, fmt.Sprintf("%s median (limit %s)", o.Metric, results.Trim(o.Limit)))
		}
		t := newTable(&b, "rrl"+strings.Repeat("r", len(c.Objectives)), header...)
		for _, pr := range slices.SortedFunc(slices.Values(c.Probes), func(a, b results.CapacityProbe) int { return cmp.Compare(a.Load, b.Load) }) {
			row := []string{results.Trim(pr.Load), fmt.Sprint(pr.Repeats()), pr.Verdict}
			for _, o := range c.Objectives {
				row = append(row, results.Trim(pr.Median(o.Metric)))
			}
			t.row(row...)
		}
		fmt.Fprintf(&b, "\n![capacity probes of %s](%s)\n\n", p, capacityChart(p))
	}
	b.WriteString("How a probe is decided: its repeats run back to back, and each objective is tested on their values with a one-sided sign test " +
		"(no distribution assumed). A probe passes when every objective holds with 90% confidence (4 unanimous repeats give 93.75%), " +
		"fails when any is broken with that confidence, and takes another repeat otherwise, up to PERF_SEARCH_MAX_REPEATS; " +
		"a probe still undecided then counts as failed. The capacity is the highest load shown to pass.\n\n")
	return b.String()
}

// capacityChart is the chart file of payload's probes.
func capacityChart(payload string) string { return "capacity-" + payload + ".svg" }

// capacityCharts draw each search's probes: load against the first
// objective's median, with its limit drawn.
func (r doc) capacityCharts(add func(string, chart.Chart)) {
	for _, p := range r.capacityPayloads() {
		c := r.Capacity[p]
		if len(c.Objectives) == 0 || len(c.Probes) == 0 {
			continue
		}
		o := c.Objectives[0]
		probes := slices.SortedFunc(slices.Values(c.Probes), func(a, b capacity.Probe) int { return cmp.Compare(a.Load, b.Load) })
		var pts, limit []chart.Point
		for _, pr := range probes {
			pts = append(pts, chart.Point{X: pr.Load, Y: pr.Median(o.Metric)})
		}
		limit = []chart.Point{{X: probes[0].Load, Y: o.Limit}, {X: probes[len(probes)-1].Load, Y: o.Limit}}
		xl := "concurrent VUs"
		if c.Kind == capacity.Rate {
			xl = "requests/s"
		}
		add(capacityChart(p), chart.Chart{Title: fmt.Sprintf("Capacity search, %s: %s by probe", p, o.Metric), XLabel: xl, YLabel: o.Metric,
			LogX: true, Series: []chart.Line{{Name: "median of repeats", Points: pts}, {Name: "limit", Points: limit, Color: 1, Dashed: true}}})
	}
}
