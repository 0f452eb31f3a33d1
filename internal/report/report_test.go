package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func cell(payload string, vus int, rps, ttft95, e2e95 float64) Cell {
	return Cell{
		Payload: payload, Concurrency: vus, Mode: "closed", Requests: int64(vus * 4), Successes: int64(vus * 4),
		Errors: map[string]int64{}, DurationS: 10, RPS: rps, OutputTokS: rps * 64,
		TTFT:       Dist{P50: ttft95 * 0.8, P90: ttft95 * 0.95, P95: ttft95, P99: ttft95 * 1.1, Mean: ttft95 * 0.85, Max: ttft95 * 1.2},
		ITL:        Dist{P50: 8, P90: 9, P95: 9.5, P99: 10, Mean: 8.2, Max: 12},
		TPOT:       Dist{P50: 8.1, P90: 8.5, P95: 8.7, P99: 9, Mean: 8.2, Max: 9.5},
		E2E:        Dist{P50: e2e95 * 0.9, P90: e2e95 * 0.98, P95: e2e95, P99: e2e95 * 1.05, Mean: e2e95 * 0.92, Max: e2e95 * 1.1},
		GoodputRPS: rps, GPU: json.RawMessage("null"), Verdict: Pass, Reasons: []string{},
	}
}

// sample is a run with a knee, errors, an open-loop cell, a baseline
// comparison (one confirmed regression, one noise) and an interrupted cell.
func sample() *Results {
	r := &Results{
		Schema: Schema, Start: t0, End: t0.Add(95 * time.Second),
		Target: Target{URL: "http://192.168.49.2", Host: "llm.local"}, Model: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
		GitCommit: "0123456789abcdef", GPUReason: "NVML not available: libnvidia-ml.so.1 not found",
		Settings: Settings{MaxErrorRate: 0.01, SLOTTFTms: 40, SLOE2Ems: 900, Baseline: "baselines/main.json", Tolerance: 0.10},
		Payloads: map[string]Payload{"short": {MaxTokens: 64}, "long": {MaxTokens: 256}},
	}
	short := []Cell{cell("short", 1, 1.9, 18, 523), cell("short", 4, 6.9, 19, 586), cell("short", 16, 8.1, 35, 1310)}
	short[2].Requests, short[2].Successes, short[2].Errors = 64, 61, map[string]int64{"client_abort": 2, "http_5xx": 1}
	short[2].Verdict, short[2].Reasons = Fail, []string{"error rate 4.7% > allowed 1%", "p95 E2E 1310 ms > SLO 900 ms"}
	short[1].GPU = json.RawMessage(`{"devices":[],"utilization_avg_pct":93.5,"memory_used_max_mib":10812,"power_avg_w":151.25,"energy_j":2410.5,"joules_per_output_token":2.354,"temperature_max_c":71,"throttled":true}`)
	long := []Cell{cell("long", 1, 0.48, 26, 2073), cell("long", 4, 1.7, 27, 2316)}
	base := long[1]
	base.RPS, base.OutputTokS, base.E2E.P95 = 2.1, 134.4, 2000
	cmp := Compare(base, long[1], 0.10)
	cmp.Confirmed = true
	long[1].Baseline = &cmp
	long[1].Verdict, long[1].Reasons = Fail, cmp.Reasons(0.10)
	noise := Compare(cell("long", 1, 0.6, 26, 2073), long[0], 0.10)
	long[0].Baseline = &noise
	open := cell("short", 0, 3.9, 18.5, 530)
	open.Mode, open.Rate, open.Concurrency = "open", 4, 1024
	direct := cell("short", 1, 1.95, 17.5, 520).Headline()
	short[0].Compared = &direct
	r.Settings.Compare = "reports/direct/results.json"
	cut := cell("long", 16, 0.9, 30, 3300)
	cut.Verdict, cut.Requests, cut.Successes = Interrupted, 9, 9
	r.Cells = append(append(append(short, open), long...), cut)
	r.Interrupted = true
	return r
}

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteMarkdown(&b, nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.golden.md", b.Bytes())
	for _, want := range []string{
		"none sampled (NVML not available", "saturation knee at 4 VUs", "| 94 (throttled) | 10812 | 151 | 2.354 |", "client_abort", "499", "**regressed**",
		"noise (did not reproduce)", "**interrupted**", "## Overhead against `reports/direct/results.json`", "| short, 1 VUs | 14.00 | 14.40 | +0.40 |", "![RPS against concurrency](rps.svg)", "best concurrency meeting the SLOs is 4 VUs",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// timelineCSV is a small gpu.csv: two devices, two cells.
const timelineCSV = `timestamp, utilization.gpu [%], utilization.memory [%], memory.used [MiB], memory.total [MiB], temperature.gpu, power.draw [W], index, uuid, energy [J], clocks.sm [MHz], clocks_event_reasons, sm_activity [%], tensor_activity [%], cell
2026/11/29 10:00:00.000, 0, 0, 500, 143771, 30, 70.00, 0, GPU-a, 100.000, 345, 0x1, , , 
2026/11/29 10:00:00.000, 0, 0, 500, 143771, 30, 70.00, 1, GPU-b, 100.000, 345, 0x1, , , 
2026/11/29 10:00:01.000, 90, 40, 9000, 143771, 55, 600.00, 0, GPU-a, 600.000, 1980, 0x0, 71.5, 30.0, short; 1 VUs
2026/11/29 10:00:01.000, , , , , , , 1, GPU-b, , , , , , short; 1 VUs
2026/11/29 10:00:02.500, 95, 45, 9100, 143771, 60, 650.00, 0, GPU-a, 1500.000, 1980, 0x4, 72.0, 31.0, short; 4 VUs
2026/11/29 10:00:02.500, 20, 5, 700, 143771, 35, 90.00, 1, GPU-b, 300.000, 1400, 0x0, , , short; 4 VUs
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
	r := sample()
	r.GPUs = []GPU{{Index: 0, Name: "NVIDIA H200", UUID: "GPU-a", Driver: "570.86.15", CUDA: "12.8", MemoryTotalMB: 143771}}
	if err := r.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, FileMarkdown))
	if _, err := os.Stat(filepath.Join(dir, ChartGPU)); err != nil || !bytes.Contains(md, []byte("![GPU utilisation over time](gpu-util.svg)")) ||
		!bytes.Contains(md, []byte("| GPU 0 | NVIDIA H200, GPU-a, driver 570.86.15, CUDA 12.8, 143771 MiB |")) {
		t.Errorf("GPU chart or header missing:\n%s", md)
	}
}

func TestSimulatedRunSaysSo(t *testing.T) {
	r := sample()
	r.Target = Target{URL: "http://127.0.0.1:1234", Simulator: "rtx3060-tinyllama"}
	r.Settings = Settings{Tolerance: 0.1}
	var b bytes.Buffer
	if err := r.WriteMarkdown(&b, nil); err != nil {
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

func TestJUnitGoldenAndSchema(t *testing.T) {
	var b bytes.Buffer
	if err := sample().WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "junit.golden.xml", b.Bytes())
	validateJUnit(t, b.Bytes())
}

// validateJUnit checks doc against the published junit-10.xsd with xmllint
// (Debian's libxml2-utils, installed by make test).
func validateJUnit(t *testing.T, doc []byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("HARNESS_REQUIRE_TOOLS") == "1" {
			t.Fatal("xmllint not found: make test installs libxml2-utils")
		}
		t.Skip("xmllint not found (Debian package libxml2-utils): schema validation skipped")
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
	charts := sample().Charts()
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
	if len((&Results{}).Charts()) != 0 {
		t.Error("charts drawn with no cells")
	}
}

func TestWriteAllAndLoad(t *testing.T) {
	dir := t.TempDir()
	r := sample()
	if err := r.WriteAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FileResults, FileMarkdown, FileJUnit, ChartRPS, ChartLatency, ChartTTFT} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	back, err := Load(filepath.Join(dir, FileResults))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Cells) != len(r.Cells) || back.Cells[2].Errors["client_abort"] != 2 || back.Find("long/closed/4").Baseline == nil ||
		back.Find("short/open/4") == nil || back.Find("short/closed/99") != nil {
		t.Errorf("round trip lost data: %+v", back.Cells)
	}
	// results.json keeps the contract's names.
	raw, _ := os.ReadFile(filepath.Join(dir, FileResults))
	for _, key := range []string{`"schema": 1`, `"ttft_ms"`, `"itl_ms"`, `"tpot_ms"`, `"e2e_ms"`, `"duration_s"`, `"output_tokens_per_s"`,
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
	for name, body := range map[string]string{"schema2.json": `{"schema": 2, "cells": []}`, "garbage.json": `{"schema": `} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(body), 0o644)
		if _, err := Load(p); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestCompare(t *testing.T) {
	base := cell("short", 4, 10, 20, 600)
	for _, tc := range []struct {
		name    string
		edit    func(*Cell)
		regress []string
	}{
		{"unchanged", func(*Cell) {}, nil},
		{"within tolerance", func(c *Cell) { c.RPS, c.E2E.P95 = 9.2, 650 }, nil},
		{"rps down 20%", func(c *Cell) { c.RPS = 8 }, []string{"rps"}},
		{"faster is fine", func(c *Cell) { c.RPS, c.TTFT.P95 = 15, 5 }, nil},
		{"p95 e2e up 30%", func(c *Cell) { c.E2E.P95 = 780 }, []string{"e2e_p95_ms"}},
		{"tiny latency under the floor", func(c *Cell) { c.TTFT.P95 = 21.9 }, nil},
		{"latency over floor and tolerance", func(c *Cell) { c.TTFT.P95 = 25 }, []string{"ttft_p95_ms"}},
		{"tokens down", func(c *Cell) { c.OutputTokS = 500 }, []string{"output_tokens_per_s"}},
	} {
		cur := base
		tc.edit(&cur)
		cmp := Compare(base, cur, 0.10)
		var got []string
		for _, m := range cmp.Metrics {
			if m.Regressed {
				got = append(got, m.Name)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.regress, ",") || cmp.Regressed != (len(tc.regress) > 0) {
			t.Errorf("%s: regressed %v, want %v", tc.name, got, tc.regress)
		}
		if len(cmp.Reasons(0.1)) != len(tc.regress) {
			t.Errorf("%s: reasons %v", tc.name, cmp.Reasons(0.1))
		}
	}
}

func TestFindKnee(t *testing.T) {
	scaling := []Cell{cell("s", 1, 2, 10, 500), cell("s", 2, 3.9, 10, 510), cell("s", 4, 7.5, 10, 530)}
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
	if err := WriteFile(filepath.Join(blocker, "x.json"), []byte("{}")); err == nil {
		t.Error("writing under a file: want an error")
	}
}

// FuzzParse: any bytes given as a baseline parse or fail cleanly, and what
// parses can be compared and rendered.
func FuzzParse(f *testing.F) {
	b, _ := sample().Marshal()
	f.Add(b)
	f.Add([]byte(`{"schema": 1, "cells": [{"payload": "short", "mode": "closed", "concurrency": 4, "rps": 1}]}`))
	f.Add([]byte(`{"schema": 2}`))
	f.Add([]byte(`{"schema": 1, "cells": [{"gpu": {"utilization_avg_pct": "x"}}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := Parse(in)
		if err != nil {
			return
		}
		for _, c := range r.Cells {
			_ = Compare(c, c, DefaultTolerance)
			_ = c.gpuColumns()
		}
		var out bytes.Buffer
		if err := r.WriteMarkdown(&out, nil); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJUnit(&out); err != nil {
			t.Fatal(err)
		}
	})
}
