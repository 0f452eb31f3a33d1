package report

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/chart"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/results"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/scrape"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; diff it with:\n  go test ./internal/report -run %s -update && git diff %s", name, t.Name(), path)
	}
}

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func cell(payload string, vus int, rps, ttft95, e2e95 float64) results.Cell {
	return sampled(results.Cell{
		Payload: payload, Concurrency: vus, Mode: "closed", Requests: int64(vus * 4), Successes: int64(vus * 4),
		Errors: map[string]int64{}, DurationS: 10, RPS: rps, OutputTokS: rps * 64,
		TTFT:       results.Dist{P50: ttft95 * 0.8, P90: ttft95 * 0.95, P95: ttft95, P99: ttft95 * 1.1, Mean: ttft95 * 0.85, Max: ttft95 * 1.2},
		ITL:        results.Dist{P50: 8, P90: 9, P95: 9.5, P99: 10, Mean: 8.2, Max: 12},
		TPOT:       results.Dist{P50: 8.1, P90: 8.5, P95: 8.7, P99: 9, Mean: 8.2, Max: 9.5},
		E2E:        results.Dist{P50: e2e95 * 0.9, P90: e2e95 * 0.98, P95: e2e95, P99: e2e95 * 1.05, Mean: e2e95 * 0.92, Max: e2e95 * 1.1},
		GoodputRPS: rps, Verdict: results.Pass, Reasons: []string{},
	}, int64(vus*4))
}

// sampled sets the cell's sample sizes (n requests, 63 ITL gaps each) and
// flags the percentiles they cannot support, as NewCell does; then makes
// it a one-repeat cell.
func sampled(c results.Cell, n int64) results.Cell {
	c.TTFT.N, c.TPOT.N, c.E2E.N, c.ITL.N = n, n, n, n*63
	c.TTFT, c.TPOT, c.E2E, c.ITL = c.TTFT.FlagSupport(), c.TPOT.FlagSupport(), c.E2E.FlagSupport(), c.ITL.FlagSupport()
	return results.OneRepeat(c)
}

// speeds are five run-to-run speed factors, a spread of about 2%.
var speeds = []float64{0.98, 1.0, 1.01, 0.99, 1.02}

// repeated measures c once per factor: throughput times the factor,
// latencies over it; the runs are combined as the sweep combines them.
func repeated(c results.Cell, factors ...float64) results.Cell {
	var runs []results.Cell
	for _, f := range factors {
		r := c
		r.RPS, r.OutputTokS, r.GoodputRPS = results.Round3(c.RPS*f), results.Round3(c.OutputTokS*f), results.Round3(c.GoodputRPS*f)
		scale := func(d results.Dist) results.Dist {
			return results.Dist{P50: results.Round3(d.P50 / f), P90: results.Round3(d.P90 / f), P95: results.Round3(d.P95 / f), P99: results.Round3(d.P99 / f), Mean: results.Round3(d.Mean / f), Max: results.Round3(d.Max / f), N: d.N, Unsupported: d.Unsupported}
		}
		r.TTFT, r.ITL, r.TPOT, r.E2E = scale(c.TTFT), scale(c.ITL), scale(c.TPOT), scale(c.E2E)
		runs = append(runs, results.OneRepeat(r))
	}
	return results.Combine(runs)
}

var testGate = gate.Gate{Tolerance: gate.DefaultTolerance, Alpha: gate.DefaultAlpha, MaxCV: gate.DefaultMaxCV}

// sampleRun is a run with a knee, errors, an open-loop cell, a baseline
// comparison (one significant regression over 5 repeats a side, one
// inconclusive against a one-repeat baseline) and an interrupted cell.
func sampleRun() *results.Run {
	r := &results.Run{
		Schema: results.Schema, Start: t0, End: t0.Add(95 * time.Second),
		Target: results.TargetInfo{URL: "http://192.168.49.2", Host: "llm.local"}, Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
		Stack: results.Stack{ServerVersion: "0.11.0", Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0", URL: "http://192.168.49.2", Host: "llm.local",
			Route: "/v1/chat/completions", Kubernetes: "v1.32.9", Controllers: []string{"registry.k8s.io/ingress-nginx/controller:v1.15.1"}},
		BaselineStackDiffers: []string{"server_version: 0.10.2 -> 0.11.0"},
		GitCommit:            "0123456789abcdef", GitDirty: true, GPUReason: "NVML not available: libnvidia-ml.so.1 not found",
		Settings: results.Settings{MaxErrorRate: 0.01, SLOTTFTms: 40, SLOE2Ems: 900, Baseline: "baselines/main.json", Tolerance: gate.DefaultTolerance,
			Repeats: 5, Alpha: gate.DefaultAlpha, MaxCV: gate.DefaultMaxCV, Stream: true, CAFile: "certs/llm-local-ca.pem",
			K6Variables: map[string]string{"VUS": "4", "BASE_URL": "https://llm.local/v1/chat/completions"}},
		Payloads: map[string]results.PayloadInfo{"short": {MaxTokens: 64, InputTokens: 100, InputNote: "estimated: the target has no /tokenize (about 4 characters a token)"},
			"long": {MaxTokens: 256, InputTokens: 512}},
	}
	short := []results.Cell{cell("short", 1, 1.9, 18, 523), cell("short", 4, 6.9, 19, 586), cell("short", 16, 8.1, 35, 1310)}
	// 4 VUs x 8 requests: enough for a p95, not a p99; the 1-VU cell's 4
	// requests support neither.
	short[1].Requests, short[1].Successes = 32, 32
	short[1] = sampled(short[1], 32)
	short[2].Requests, short[2].Successes, short[2].Errors = 64, 61, map[string]int64{"client_abort": 2, "http_5xx": 1}
	short[2].Verdict, short[2].Reasons = results.Fail, []string{"error rate 4.7% > allowed 1%", "p95 E2E 1310 ms > SLO 900 ms"}
	// A capacity search of the long payload: 4 passed, 8 and 5 broke p95 TTFT.
	probe := func(load float64, verdict string, ttfts ...float64) capacity.Probe {
		return capacity.Probe{Load: load, Verdict: verdict, Values: map[string][]float64{results.MetricTTFTp95: ttfts, results.MetricErrorRate: make([]float64, len(ttfts))}}
	}
	r.Capacity = map[string]capacity.Result{"long": {Kind: capacity.Concurrency, Value: 4, Lo: 4, Hi: 5, Complete: true, DurationS: 42.5,
		Objectives: []capacity.Objective{{Metric: results.MetricTTFTp95, Limit: 40}, {Metric: results.MetricErrorRate, Limit: 0.01}},
		Binding:    []string{"ttft_p95_ms ≤ 40"},
		Probes: []capacity.Probe{probe(1, capacity.Pass, 25, 26, 25, 27), probe(2, capacity.Pass, 26, 27, 26, 28), probe(4, capacity.Pass, 30, 31, 29, 33),
			probe(8, capacity.Fail, 90, 95, 92, 99), probe(6, capacity.Fail, 60, 61, 64, 66), probe(5, capacity.Fail, 44, 48, 46, 51)}}}
	// The server's view: one cell's counters, one metric the target lacks.
	v := func(f float64) *float64 { return &f }
	short[0].Server = &scrape.Delta{Requests: v(4), GenerationTokens: v(256), TTFTMeanMs: v(12.5), E2EMeanMs: v(470), RunningAfter: v(0), WaitingAfter: v(0)}
	short[1].GPU = &gpu.Window{Devices: []gpu.DeviceStats{}, UtilAvg: 93.5, MemUsedMax: 10812, PowerAvg: 151.25, EnergyJ: 2410.5, JoulesPerToken: 2.354, TempMax: 71, Throttled: true}
	long := []results.Cell{repeated(cell("long", 1, 0.48, 26, 2073), speeds...), repeated(cell("long", 4, 1.7, 27, 2316), speeds...)}
	base := repeated(cell("long", 4, 2.1, 27, 2000), speeds...)
	cmp := gate.Compare(base, long[1], testGate)
	long[1].Baseline = &cmp
	long[1].Verdict, long[1].Reasons = results.Fail, gate.Reasons(cmp, testGate)
	inconclusive := gate.Compare(cell("long", 1, 0.6, 26, 2073), long[0], testGate)
	long[0].Baseline = &inconclusive
	// Sized prompts: the usage agreed but for one repeat of one cell.
	for i := range long {
		long[i].InputTokensMean = 512
	}
	long[1].PromptMismatches = 2
	open := cell("short", 0, 3.9, 18.5, 530)
	open.Mode, open.Rate, open.Concurrency = "open", 4, 1024
	lc := gate.CheckLoad(gate.LoadInput{Open: true, OfferedRPS: 4, Requests: 40, StartSpan: 9750 * time.Millisecond, LagP99: 2500 * time.Microsecond,
		MaxInFlight: 1024, Wall: 10 * time.Second, CPU: 19 * time.Second, Cores: 2})
	open.LoadCheck = &lc
	open.Requests, open.Successes = 40, 40
	open = sampled(open, 40)
	q, rt, re := results.Dist{P50: 0.2, P95: 1.1, P99: 2.5, N: 40}.FlagSupport(), results.Dist{P50: 15.1, P95: 20.4, N: 40}.FlagSupport(), results.Dist{P50: 480, P95: 534, N: 40}.FlagSupport()
	open.Queue, open.ResponseTTFT, open.ResponseE2E = &q, &rt, &re
	direct := cell("short", 1, 1.95, 17.5, 520)
	h := direct.Headline()
	short[0].Compared, short[0].Differences = &h, gate.Differences(direct, short[0], gate.DefaultAlpha)
	long[0].Differences = gate.Differences(repeated(cell("long", 1, 0.5, 25, 1900), speeds...), long[0], gate.DefaultAlpha)
	r.Settings.Compare = "reports/direct/results.json"
	cut := cell("long", 16, 0.9, 30, 3300)
	cut.Verdict, cut.Requests, cut.Successes = results.Interrupted, 9, 9
	cut = sampled(cut, 9)
	r.Cells = append(append(append(short, open), long...), cut)
	r.Interrupted = true
	return r
}

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, sampleRun(), nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.md", b.Bytes())
	for _, want := range []string{
		"none sampled (NVML not available", "saturation knee at 4 VUs", "| 94 (throttled) | 10812 | 151 | 2.354 |", "client_abort", "499", "**regressed**",
		"inconclusive: needs PERF_REPEATS ≥ 4 on both sides (baseline 1, this run 5)", "| 1.70 [1.67–1.73] |", "**interrupted**", "## Overhead against `reports/direct/results.json`", "| short, 1 VU | 14.00 | 14.40 | +0.40 (not tested) |", "(**p = 0.016**)", "- **short, 4 req/s**: client-limited: the harness used 95% of its 2 cores", "| pass (client-limited) |", "**Warning: the baseline measured another stack** (server_version: 0.10.2 -> 0.11.0)", "controller `registry.k8s.io/ingress-nginx/controller:v1.15.1`", "| short, 4 req/s | 2.5† | 14.8 / 15.1 | 18.5 / 20.4 | 530.0 / 534.0 |", "+2.70 (not tested)", "![RPS against concurrency](rps.svg)", "best concurrency meeting the SLOs is 4 VUs",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// timelineCSV is a small gpu.csv: two devices, two cells.
const timelineCSV = `timestamp, utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], temperature.gpu, power.draw [W], index, uuid, energy [J], clocks.sm [MHz], clocks_event_reasons, sm_activity [%], tensor_activity [%], cell
2026/11/29 10:00:00.000, 0, 0, 500, 143771, 30, 70.00, 0, results.GPU-a, 100.000, 345, 0x1, , , 
2026/11/29 10:00:00.000, 0, 0, 500, 143771, 30, 70.00, 1, results.GPU-b, 100.000, 345, 0x1, , , 
2026/11/29 10:00:01.000, 90, 40, 9000, 143771, 55, 600.00, 0, results.GPU-a, 600.000, 1980, 0x0, 71.5, 30.0, short; 1 VUs
2026/11/29 10:00:01.000, , , , , , , 1, results.GPU-b, , , , , , short; 1 VUs
2026/11/29 10:00:02.500, 95, 45, 9100, 143771, 60, 650.00, 0, results.GPU-a, 1500.000, 1980, 0x4, 72.0, 31.0, short; 4 VUs
2026/11/29 10:00:02.500, 20, 5, 700, 143771, 35, 90.00, 1, results.GPU-b, 300.000, 1400, 0x0, , , short; 4 VUs
`

func TestGPUTimelineChart(t *testing.T) {
	c := gpuTimelineChart(strings.NewReader(timelineCSV))
	if c == nil || len(c.Series) != 2 || len(c.Series[0].Points) != 3 || len(c.Series[1].Points) != 2 || len(c.Marks) != 2 ||
		c.Marks[1].Label != "short; 4 VUs" || c.Marks[1].X != 2.5 {
		t.Fatalf("chart %+v", c)
	}
	golden(t, ChartGPU, c.SVG())
	for _, bad := range []string{"", "not,a,timeline\n1,2,3\n"} {
		if gpuTimelineChart(strings.NewReader(bad)) != nil {
			t.Errorf("%q drew a chart", bad)
		}
	}
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, FileGPUTimeline), []byte(timelineCSV), 0o644)
	r := sampleRun()
	r.GPUs = []results.GPU{{Index: 0, Name: "NVIDIA H200", UUID: "GPU-a", Driver: "570.86.15", CUDA: "12.8", MemoryTotalMB: 143771}}
	if err := WriteAll(r, dir); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, FileMarkdown))
	if _, err := os.Stat(filepath.Join(dir, ChartGPU)); err != nil || !bytes.Contains(md, []byte("![GPU utilisation over time](gpu-util.svg)")) ||
		!bytes.Contains(md, []byte("| GPU 0 | NVIDIA H200, GPU-a, driver 570.86.15, CUDA 12.8, 143771 MiB; figures from NVML on this machine |")) {
		t.Errorf("GPU chart or header missing:\n%s", md)
	}
}

// A DCGM exporter's GPU: the report names the exporter and how the GPU was
// matched, explains the readings, marks a too-coarse cell and leaves a
// field the exporter lacks empty.
func TestDCGMReport(t *testing.T) {
	dir := t.TempDir()
	r := sampleRun()
	r.GPUs = []results.GPU{{Index: 0, Name: "NVIDIA A100", UUID: "GPU-a", MemoryTotalMB: 40535, Source: "dcgm",
		Match: "pod llm/vllm-1 (the exporter's pod labels)", Exporter: "service gpu-operator/nvidia-dcgm-exporter"}}
	r.Cells[0].GPU = &results.GPUWindow{Source: "dcgm", Readings: 1, TooCoarse: true, IntervalS: 30, PowerAvg: 409.69, JoulesPerToken: 1.25,
		Devices: []results.GPUDeviceStats{{Missing: []string{"utilization.gpu"}}}}
	if err := WriteAll(r, dir); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, FileMarkdown))
	for _, want := range []string{
		"| GPU 0 | NVIDIA A100, GPU-a, 40535 MiB; figures from the DCGM exporter at service gpu-operator/nvidia-dcgm-exporter, the GPU matched by pod llm/vllm-1 (the exporter's pod labels) |",
		"GPU columns come from the cluster's DCGM exporter", "| —* | 0 | 410 | 1.250* |",
		"### GPU readings (DCGM exporter)", "1 of them had fewer than 3 readings: too coarse.", " | 1 | 30.0 | ",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// A timeline's x axis gets round ticks across its range, and marks that
// fall close together keep their labels apart: numbers on the plot (one
// too close to the last is left off), labels in a key under it.
func TestTimelineTicksAndMarks(t *testing.T) {
	var pts []chart.Point
	for i := range 200 {
		pts = append(pts, chart.Point{X: float64(i) * 0.48, Y: 50})
	}
	c := chart.Chart{Title: "t", XLabel: "seconds", XUnit: "s", YLabel: "%", FixedYMax: 100, Series: []chart.Line{{Name: "GPU 0", Points: pts}},
		Marks: []chart.Mark{{X: 0, Label: "short; 1 VU"}, {X: 0.2, Label: "short; 2 VUs"}, {X: 40, Label: "long; 1 VU"}}}
	svg := string(c.SVG())
	for _, tick := range []string{">0<", ">20<", ">40<", ">80<"} {
		if !strings.Contains(svg, `text-anchor="middle"`+tick) {
			t.Errorf("no x tick %s", tick)
		}
	}
	if strings.Contains(svg, `text-anchor="middle">95.52<`) {
		t.Error("the last sample's time is labelled instead of a round tick")
	}
	for _, want := range []string{"1: short; 1 VU, from 0 s", "2: short; 2 VUs, from 0.2 s", "3: long; 1 VU, from 40 s",
		`text-anchor="middle">1</text>`, `text-anchor="middle">3</text>`} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
	if strings.Contains(svg, `text-anchor="middle">2</text>`) {
		t.Error("mark 2's number, 0.9 px from mark 1's, was drawn over it")
	}
}

func TestSimulatedRunSaysSo(t *testing.T) {
	r := sampleRun()
	r.Target = results.TargetInfo{URL: "http://127.0.0.1:1234", Simulator: "rtx3060-tinyllama"}
	r.Settings = results.Settings{Tolerance: 0.1}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Simulated.**", "No SLOs were set", "embedded simulator, preset `rtx3060-tinyllama`"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(b.String(), "Baseline comparison") {
		t.Error("baseline section without a baseline")
	}
}

// A non-streamed run (PERF_STREAM=0) and an unverified TLS target say so at
// the top of the report; ITL, which such a run cannot see, is not shown.
func TestNonStreamedAndInsecureSaySo(t *testing.T) {
	r := sampleRun()
	r.Settings.Stream, r.Settings.InsecureSkipVerify, r.Settings.CAFile = false, true, ""
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"**Non-streamed.**", "TTFT is the time to the whole response and equals E2E",
		"**Warning: the target's TLS certificate was not verified**", "| Requests | non-streamed (`stream: false`, as hey sends them): TTFT equals E2E; TLS certificate **not verified** |",
		"| 1 VU | 4 | — | 0 | 1.90 | 121.6 | 14.4 | 18.0† | — | — |"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	r.Settings.Stream, r.Settings.InsecureSkipVerify = true, false
	b.Reset()
	_ = WriteMarkdown(&b, r, nil)
	if strings.Contains(b.String(), "Non-streamed") || strings.Contains(b.String(), "not verified") {
		t.Error("a streamed, verified run warns")
	}
}

func TestJUnitGoldenAndSchema(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sampleRun()); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", b.Bytes())
	validateJUnit(t, b.Bytes())
	// What the verdicts rest on reaches CI too: intervals, p-values, the
	// gate's warning, the load self-check, response time and the stack.
	for _, want := range []string{`name="rps_lo"`, `name="baseline_p_rps" value="0.004"`, `name="gate_warning" value="inconclusive: needs PERF_REPEATS ≥ 4`,
		`name="load_check" value="client-limited"`, `name="response_ttft_p95_ms" value="20.4"`, `name="server_version" value="0.11.0"`,
		`name="baseline_stack_differs"`} {
		if !bytes.Contains(b.Bytes(), []byte(want)) {
			t.Errorf("junit.xml lacks %s", want)
		}
	}
}

// validateJUnit checks doc against the published junit-10.xsd with xmllint
// (Debian's libxml2-utils, installed by make test).
func validateJUnit(t *testing.T, doc []byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		simtest.Missing(t, "xmllint not found (Debian package libxml2-utils, which make test installs): schema validation skipped")
	}
	f := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(f, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), f).CombinedOutput()
	if err != nil {
		t.Fatalf("junit.xml does not validate against junit-10.xsd: %v\n%s", err, out)
	}
}

// TestSchemaValidationCanFail proves the validation is not vacuous.
func TestSchemaValidationCanFail(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not found")
	}
	f := filepath.Join(t.TempDir(), "bad.xml")
	_ = os.WriteFile(f, []byte(`<testsuites><testsuite name="x"><testcase/></testsuite></testsuites>`), 0o644)
	if err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), f).Run(); err == nil {
		t.Fatal("an invalid document validated")
	}
}

func TestChartsGolden(t *testing.T) {
	charts := Charts(sampleRun())
	for _, name := range []string{ChartRPS, ChartLatency, ChartTTFT} {
		svg, ok := charts[name]
		if !ok {
			t.Fatalf("no %s", name)
		}
		golden(t, name, svg)
		if !bytes.HasPrefix(svg, []byte("<svg ")) || bytes.Contains(svg, []byte("NaN")) {
			t.Errorf("%s is not a clean SVG", name)
		}
	}
	if len(Charts(&results.Run{})) != 0 {
		t.Error("charts drawn with no cells")
	}
}

func TestWriteAllAndLoad(t *testing.T) {
	dir := t.TempDir()
	r := sampleRun()
	if err := WriteAll(r, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FileResults, FileMarkdown, FileJUnit, FileSummary, ChartRPS, ChartLatency, ChartTTFT} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	// The job summary: the verdict, one line a cell, the failed cells' reasons.
	summary, _ := os.ReadFile(filepath.Join(dir, FileSummary))
	for _, want := range []string{"### perf: ", fmt.Sprintf("of %d cells failed", len(r.Cells)), "| cell | verdict |", r.Cells[0].Name()} {
		if !bytes.Contains(summary, []byte(want)) {
			t.Errorf("summary.md lacks %q:\n%s", want, summary)
		}
	}
	for _, c := range r.Cells {
		if c.Verdict == results.Fail && !bytes.Contains(summary, []byte("**"+c.Name()+"**: "+c.Reasons[0])) {
			t.Errorf("summary.md does not give failed cell %s's reason:\n%s", c.Name(), summary)
		}
	}
	back, err := results.Load(filepath.Join(dir, FileResults))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Cells) != len(r.Cells) || back.Cells[2].Errors["client_abort"] != 2 || back.Find("long/closed/4").Baseline == nil ||
		back.Find("short/open/4") == nil || back.Find("short/closed/99") != nil {
		t.Errorf("round trip lost data: %+v", back.Cells)
	}
	// results.json keeps the contract's names.
	raw, _ := os.ReadFile(filepath.Join(dir, FileResults))
	for _, key := range []string{`"schema": 8`, `"unsupported": [`, `"n": 4`, `"capacity": {`, `"stream": true`, `"git_dirty": true`, `"k6_variables": {`, `"repeats": [`, `"stats": {`, `"level": 0.9375`, `"ttft_ms"`, `"itl_ms"`, `"tpot_ms"`, `"e2e_ms"`, `"duration_s"`, `"output_tokens_per_s"`,
		`"goodput_rps"`, `"gpu": null`, `"server": null`, `"verdict"`, `"reasons"`, `"gpus": null`, `"git_commit"`} {
		if !bytes.Contains(raw, []byte(key)) {
			t.Errorf("results.json lacks %s", key)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"schema9.json": `{"schema": 9, "cells": []}`, "schema0.json": `{"cells": []}`, "garbage.json": `{"schema": `} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(body), 0o644)
		if _, err := results.Load(p); err == nil || (name != "garbage.json" && !strings.Contains(err.Error(), "reads schemas [1 2 3 4 5 6 7 8]")) {
			t.Errorf("%s: err = %v, want an error naming the schemas read", name, err)
		}
	}
	if _, err := results.Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestCompare(t *testing.T) {
	base := repeated(cell("short", 4, 10, 20, 600), speeds...)
	for _, tc := range []struct {
		name    string
		edit    func(*results.Cell)
		regress []string
	}{
		{"unchanged", func(*results.Cell) {}, nil},
		{"within tolerance", func(c *results.Cell) { c.RPS, c.E2E.P95 = 9.7, 620 }, nil},
		{"rps down 20%", func(c *results.Cell) { c.RPS = 8 }, []string{"rps"}},
		{"faster is fine", func(c *results.Cell) { c.RPS, c.TTFT.P95 = 15, 5 }, nil},
		{"p95 e2e up 30%", func(c *results.Cell) { c.E2E.P95 = 780 }, []string{"e2e_p95_ms"}},
		{"latency within tolerance", func(c *results.Cell) { c.TTFT.P95 = 20.8 }, nil},
		{"latency beyond tolerance", func(c *results.Cell) { c.TTFT.P95 = 25 }, []string{"ttft_p95_ms"}},
		{"tokens down", func(c *results.Cell) { c.OutputTokS = 500 }, []string{"output_tokens_per_s"}},
		// The H200's slower decode step: ITL p50 3.8 -> 4.4 ms, +0.6 ms.
		{"ITL p50 up 15%", func(c *results.Cell) { c.ITL.P50 = 9.2 }, []string{"itl_p50_ms"}},
	} {
		one := cell("short", 4, 10, 20, 600)
		tc.edit(&one)
		cur := repeated(one, 1.01, 0.99, 1.0, 1.02, 0.98)
		cmp := gate.Compare(base, cur, testGate)
		var got []string
		for _, m := range cmp.Metrics {
			if m.Regressed {
				got = append(got, m.Name)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.regress, ",") || cmp.Regressed != (len(tc.regress) > 0) || cmp.Inconclusive != "" {
			t.Errorf("%s: regressed %v, want %v (%+v)", tc.name, got, tc.regress, cmp)
		}
		if len(gate.Reasons(cmp, testGate)) != len(tc.regress) {
			t.Errorf("%s: reasons %v", tc.name, gate.Reasons(cmp, testGate))
		}
	}
}

// A large shift that the test cannot confirm is not a regression: with
// one repeat a side no p-value can reach alpha, so the gate says so
// instead of pretending; with the shift inside the noise (p >= alpha) the
// median alone does not fail.
func TestCompareNeedsSignificance(t *testing.T) {
	one, slow := cell("short", 4, 10, 20, 600), cell("short", 4, 7, 20, 600)
	cmp := gate.Compare(one, slow, testGate)
	if cmp.Regressed || cmp.Inconclusive != "inconclusive: needs PERF_REPEATS ≥ 4 on both sides (baseline 1, this run 1)" {
		t.Errorf("one repeat a side: %+v", cmp)
	}
	if w := cmp.Warning(); !strings.Contains(w, "inconclusive") {
		t.Errorf("warning %q", w)
	}
	// Overlapping samples: the median is 6% lower but the ranks interleave.
	base := repeated(cell("short", 4, 10, 20, 600), 0.90, 1.0, 1.1, 0.95, 1.05)
	cur := repeated(cell("short", 4, 10, 20, 600), 0.85, 0.94, 1.08, 0.9, 1.0)
	cmp = gate.Compare(base, cur, gate.Gate{Tolerance: gate.DefaultTolerance, Alpha: gate.DefaultAlpha})
	if m := cmp.Metrics[0]; m.Name != "rps" || m.DeltaPct > -5 || m.P < gate.DefaultAlpha || m.Regressed {
		t.Errorf("overlapping: %+v", m)
	}
	// Noisy repeats (CV 8% > 5%) are reported, not gated.
	cmp = gate.Compare(base, repeated(cell("short", 4, 7, 20, 600), speeds...), gate.Gate{Tolerance: gate.DefaultTolerance, Alpha: gate.DefaultAlpha, MaxCV: 0.05})
	if m := cmp.Metrics[0]; !m.Noisy || m.Regressed || !strings.Contains(cmp.Warning(), "too noisy to gate on: rps") {
		t.Errorf("noisy: %+v, warning %q", m, cmp.Warning())
	}
}

// A schema-1 results.json (no repeats) still loads: each cell reads as one
// repeat, and gating against it is inconclusive rather than an error.
func TestSchema1Loads(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "results-schema1.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := results.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Find("short/closed/4")
	if r.Schema != 1 || c == nil || len(c.Repeats) != 1 || c.Repeats[0].RPS != c.RPS || c.Stats["rps"].N != 1 || r.Settings.Repeats != 1 || !r.Settings.Stream {
		t.Fatalf("schema 1 cell %+v", c)
	}
	cmp := gate.Compare(*c, repeated(*c, speeds...), testGate)
	if cmp.Regressed || !strings.Contains(cmp.Inconclusive, "baseline 1, this run 5") {
		t.Errorf("against a schema-1 baseline: %+v", cmp)
	}
}

func TestFindKnee(t *testing.T) {
	scaling := []results.Cell{cell("s", 1, 2, 10, 500), cell("s", 2, 3.9, 10, 510), cell("s", 4, 7.5, 10, 530)}
	if k := FindKnee(scaling); k.Found || k.Max != 4 || !strings.Contains(k.String(), "kept scaling up to 4 VUs") {
		t.Errorf("linear scaling: %+v %s", k, k)
	}
	knee := append(scaling, cell("s", 8, 8.5, 10, 900), cell("s", 16, 8.6, 10, 1800))
	k := FindKnee(knee)
	if !k.Found || k.At != 4 || k.Next != 8 {
		t.Errorf("knee: %+v", k)
	}
	if k := FindKnee(scaling[:1]); k.Found || k.Max != 1 {
		t.Errorf("single cell: %+v", k)
	}
}

func TestAtomicWriteFailure(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	_ = os.WriteFile(blocker, nil, 0o644)
	if err := results.WriteFile(filepath.Join(blocker, "x.json"), []byte("{}")); err == nil {
		t.Error("writing under a file: want an error")
	}
}

// FuzzParse: any bytes given as a baseline parse or fail cleanly, and what
// parses can be compared and rendered.
func FuzzParse(f *testing.F) {
	b, _ := sampleRun().Marshal()
	f.Add(b)
	f.Add([]byte(`{"schema": 1, "cells": [{"payload": "short", "mode": "closed", "concurrency": 4, "rps": 1}]}`))
	f.Add([]byte(`{"schema": 3}`))
	f.Add([]byte(`{"schema": 1, "cells": [{"gpu": {"utilization_avg_pct": "x"}}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := results.Parse(in)
		if err != nil {
			return
		}
		for _, c := range r.Cells {
			_ = gate.Compare(c, c, testGate)
			_ = gpuColumns(c)
		}
		var out bytes.Buffer
		if err := WriteMarkdown(&out, r, nil); err != nil {
			t.Fatal(err)
		}
		if err := WriteJUnit(&out, r); err != nil {
			t.Fatal(err)
		}
	})
}

// TestReadsSchema5: a schema-5 file (before the run history) reads with
// its baseline comparison in mode baseline, no history, no route kind.
func TestReadsSchema5(t *testing.T) {
	r, err := results.Load(filepath.Join("testdata", "results-schema5.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := r.Cells[0]
	if r.Schema != 5 || c.Baseline == nil || c.Baseline.Mode != results.ModeBaseline || c.History != nil || r.Stack.RouteKind != "" || len(c.Baseline.Metrics) != 7 {
		t.Errorf("schema 5 read as schema %d, baseline %+v, history %v, route kind %q", r.Schema, c.Baseline, c.History, r.Stack.RouteKind)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r, nil); err != nil || !strings.Contains(md.String(), "short, 4 VUs") {
		t.Errorf("report of a schema-5 file: %v", err)
	}
}
