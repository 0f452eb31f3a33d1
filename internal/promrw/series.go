// Package promrw sends each finished cell's figures to Prometheus by remote
// write 1.0 (PERF_PROMETHEUS_RW_URL), as k6 does with
// `-o experimental-prometheus-rw`, so that the nightly figures sit beside
// the server's own graphs. The run history stays the gate's store;
// Prometheus is a view.
//
// The wire format is Prometheus's own: the WriteRequest of
// github.com/prometheus/prometheus/prompb (remote write 1.0, what
// Prometheus 2.x receivers take), sent by the maintained client of
// github.com/prometheus/client_golang/exp/api/remote (snappy, the version
// headers, retries with backoff). Nothing here encodes the protocol itself.
//
// Series (docs/metrics.md, "In Prometheus"): one per figure with the
// labels that name a cell across nights (payload, load, mode, route kind,
// model, GPU), and one llm_harness_run_info series per run carrying the
// run, commit, stack and GPU source, which panels join on model, route
// kind and GPU.
package promrw

import (
	"cmp"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/results"
)

// Prefix starts every series name.
const Prefix = "llm_harness_"

// Names are the series this package writes, as docs/metrics.md lists them.
var Names = []string{
	"ttft_seconds", "itl_seconds", "tpot_seconds", "e2e_seconds",
	"requests_per_second", "output_tokens_per_second", "goodput_requests_per_second",
	"requests", "errors", "error_ratio",
	"gpu_utilization_ratio", "gpu_memory_used_bytes", "gpu_power_watts", "gpu_energy_joules", "gpu_energy_per_output_token_joules",
	"cell_passed", "run_info",
}

// quantiles are the latency percentiles written, by their results.Dist field.
var quantiles = []struct {
	q   string
	get func(results.Dist) float64
}{
	{"0.5", func(d results.Dist) float64 { return d.P50 }},
	{"0.9", func(d results.Dist) float64 { return d.P90 }},
	{"0.95", func(d results.Dist) float64 { return d.P95 }},
	{"0.99", func(d results.Dist) float64 { return d.P99 }},
}

// Labels are a cell's stable labels: the same cell on another night has
// the same ones, so each metric is one line across nights. Route kind,
// model and GPU are the run history's series identity (history.IdentityOf).
func Labels(run *results.Run, c results.Cell) map[string]string {
	load := strconv.Itoa(c.Concurrency)
	if c.Mode == "open" {
		load = strconv.FormatFloat(c.Rate, 'g', -1, 64)
	}
	l := identity(run)
	l["payload"], l["load"], l["mode"] = c.Payload, load, c.Mode
	return l
}

// identity is the labels of the run's series identity, named as
// Prometheus sees them ("direct", "none" for the empty ones).
func identity(run *results.Run) map[string]string {
	id := history.IdentityOf(run)
	return map[string]string{"route_kind": cmp.Or(id.RouteKind, "direct"), "model": id.Model, "gpu": cmp.Or(id.GPU, "none")}
}

// Series are cell c's samples, stamped with the run's end so far (the
// cell's end), and the run's info series at the same instant.
func Series(run *results.Run, c results.Cell) []prompb.TimeSeries {
	at := run.End.UnixMilli()
	base := Labels(run, c)
	var out []prompb.TimeSeries
	add := func(name string, v float64, extra ...string) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		out = append(out, prompb.TimeSeries{Labels: labels(Prefix+name, base, extra...), Samples: []prompb.Sample{{Value: v, Timestamp: at}}})
	}
	for _, m := range []struct {
		name string
		d    results.Dist
	}{{"ttft_seconds", c.TTFT}, {"itl_seconds", c.ITL}, {"tpot_seconds", c.TPOT}, {"e2e_seconds", c.E2E}} {
		if m.d.N == 0 && m.d.P50 == 0 {
			continue // not measured (ITL without streaming)
		}
		for _, q := range quantiles {
			add(m.name, q.get(m.d)/1000, "quantile", q.q)
		}
	}
	add("requests_per_second", c.RPS)
	add("output_tokens_per_second", c.OutputTokS)
	add("goodput_requests_per_second", c.GoodputRPS)
	add("requests", float64(c.Requests))
	classes := make([]string, 0, len(c.Errors))
	for k := range c.Errors {
		classes = append(classes, k)
	}
	sort.Strings(classes)
	for _, k := range classes {
		add("errors", float64(c.Errors[k]), "class", k)
	}
	if c.Requests > 0 {
		add("error_ratio", float64(c.Requests-c.Successes)/float64(c.Requests))
	}
	if g := c.GPU; g != nil {
		add("gpu_utilization_ratio", g.UtilAvg/100)
		add("gpu_memory_used_bytes", g.MemUsedMax*(1<<20))
		add("gpu_power_watts", g.PowerAvg)
		add("gpu_energy_joules", g.EnergyJ)
		if g.JoulesPerToken > 0 {
			add("gpu_energy_per_output_token_joules", g.JoulesPerToken)
		}
	}
	passed := 0.0
	if c.Verdict == results.Pass {
		passed = 1
	}
	add("cell_passed", passed)
	out = append(out, prompb.TimeSeries{Labels: labels(Prefix+"run_info", infoLabels(run)), Samples: []prompb.Sample{{Value: 1, Timestamp: at}}})
	return out
}

// infoLabels are the run info series' labels: the join keys and what
// describes the run.
func infoLabels(run *results.Run) map[string]string {
	l := identity(run)
	l["run"], l["commit"] = run.Start.UTC().Format(time.RFC3339), cmp.Or(run.GitCommit, "unknown")
	l["server_version"], l["route"] = cmp.Or(run.Stack.ServerVersion, "unknown"), cmp.Or(run.Stack.Route, "unknown")
	l["kubernetes_version"], l["simulator"] = cmp.Or(run.Stack.Kubernetes, "none"), cmp.Or(run.Target.Simulator, "none")
	l["gpu_source"] = "none"
	if len(run.GPUs) > 0 {
		l["gpu_source"] = cmp.Or(run.GPUs[0].Source, "nvml") // schemas before 8 had only NVML
	}
	return l
}

// labels is a series' labels, sorted by name as remote write requires.
func labels(name string, base map[string]string, extra ...string) []prompb.Label {
	ls := []prompb.Label{{Name: "__name__", Value: name}}
	for k, v := range base {
		ls = append(ls, prompb.Label{Name: k, Value: v})
	}
	for i := 0; i+1 < len(extra); i += 2 {
		ls = append(ls, prompb.Label{Name: extra[i], Value: extra[i+1]})
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
	return ls
}
