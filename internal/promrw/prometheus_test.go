package promrw

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/settings"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sweep"
)

// prometheus starts Debian's Prometheus (2.42) with the remote-write
// receiver on, scraping target's /metrics every second, and returns its
// base URL. Without the binary the test skips (fails under
// HARNESS_REQUIRE_TOOLS=1, as make test runs it after installing it).
func prometheus(t *testing.T, target string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("HARNESS_REQUIRE_TOOLS") == "1" {
			t.Fatal("no prometheus binary (make test-deps installs Debian's)")
		}
		t.Skip("no prometheus binary: apt-get install prometheus (make test-deps)")
	}
	dir := t.TempDir()
	u, _ := url.Parse(target)
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: vllm\n    static_configs:\n      - targets: [%q]\n", u.Host)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver", "--log.level=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	base := "http://" + addr
	// Ready, and the target scraped once: Prometheus hands discovered
	// targets to its scrapers every 5 s.
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		resp, err := http.Get(base + "/api/v1/query?query=up")
		if err != nil {
			continue
		}
		var up struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&up)
		resp.Body.Close()
		if err == nil && len(up.Data.Result) == 1 && up.Data.Result[0].Value[1] == "1" {
			return base
		}
	}
	t.Fatal("prometheus did not scrape the simulator within 30 s")
	return ""
}

// query runs a PromQL range query over the last 10 minutes and returns its
// series' label sets and their values.
func query(t *testing.T, base, expr string) []struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
} {
	t.Helper()
	now := time.Now()
	q := url.Values{"query": {expr}, "start": {fmt.Sprint(now.Add(-10 * time.Minute).Unix())}, "end": {fmt.Sprint(now.Unix())}, "step": {"1"}}
	resp, err := http.Get(base + "/api/v1/query_range?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Status != "success" {
		t.Fatalf("%s: %v %s", expr, err, out.Error)
	}
	return out.Data.Result
}

// sweepOnce runs a small sweep against target with every cell written to
// w, as the perf suite does with PERF_PROMETHEUS_RW_URL.
func sweepOnce(t *testing.T, target string, w *Writer) results.Run {
	t.Helper()
	env := map[string]string{"PERF_TARGET": target, "PERF_REPORT_DIR": t.TempDir(), "PERF_PAYLOADS": "short", "PERF_CONCURRENCY": "1,2",
		"PERF_ITERATIONS_PER_VU": "3", "PERF_WARMUP": "0", "PERF_ROUTE_KIND": "ingress"}
	s, err := settings.Register(flag.NewFlagSet("t", flag.ContinueOnError)).Config(func(k string) string { return env[k] }, "../..")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := sweep.Load(s)
	if err != nil {
		t.Fatal(err)
	}
	cfg.OnCell = w.Cell
	r, err := sweep.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range cfg.Schedule() {
		if _, _, err := r.RunCell(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return r.Results()
}

// Two sweeps against the embedded simulator (a fault rate gives the error
// series), their cells written to a real Prometheus by remote write, and a
// cell with GPU figures as a GPU run would have: every figure reads back
// through Prometheus's HTTP API, each cell series is one line across both
// runs, and every panel of the dashboard finds data, the vLLM panels from
// Prometheus's own scrape of the simulator.
func TestPrometheusAndDashboard(t *testing.T) {
	s, err := sim.Start(sim.Config{TTFT: 2 * time.Millisecond, ITL: time.Millisecond, Faults: map[sim.Fault]float64{sim.Fault("500"): 0.15}}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	base := prometheus(t, s.URL)
	w, err := New(base+"/api/v1/write", 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	first := sweepOnce(t, s.URL, w)
	time.Sleep(1100 * time.Millisecond) // the second night's samples come later
	second := sweepOnce(t, s.URL, w)
	gpuRun, gpuCell := sampleRun() // a GPU night: the GPU series
	gpuRun.End = time.Now()
	w.Cell(gpuRun, gpuCell)
	if rep := w.Close(time.Minute); rep.Sent != len(first.Cells)+len(second.Cells)+1 || rep.Failed != 0 {
		t.Fatalf("remote write: %s", rep)
	}
	time.Sleep(2 * time.Second) // two more scrapes of the simulator after the sweeps

	// Every figure back, as written, and each cell one line across nights.
	for _, run := range []results.Run{first, second} {
		for _, c := range run.Cells {
			for _, ts := range Series(&run, c) {
				sel := selector(ts.Labels)
				got := query(t, base, sel)
				if len(got) != 1 {
					t.Fatalf("%s: %d series, want 1", sel, len(got))
				}
				if !hasValue(got[0].Values, ts.Samples[0].Value) {
					t.Errorf("%s: %v lacks %v", sel, got[0].Values, ts.Samples[0].Value)
				}
			}
		}
	}
	for _, name := range []string{"llm_harness_ttft_seconds", "llm_harness_requests_per_second", "llm_harness_cell_passed"} {
		got := query(t, base, fmt.Sprintf(`count_over_time(%s{payload="short", load="2", mode="closed", quantile=~"0.5|"}[10m])`, name))
		if len(got) != 1 {
			t.Errorf("%s of the cell short/2 VUs: %d series across two nights, want one", name, len(got))
		}
	}
	if n := len(query(t, base, `llm_harness_errors{class="http_5xx"}`)); n == 0 {
		t.Error("no errors series from the simulator's 5xx")
	}
	checkDashboard(t, base)
}

// selector is a PromQL selector of exactly these labels.
func selector(ls []prompb.Label) string {
	var name string
	var parts []string
	for _, l := range ls {
		if l.Name == "__name__" {
			name = l.Value
			continue
		}
		parts = append(parts, fmt.Sprintf("%s=%q", l.Name, l.Value))
	}
	return name + "{" + strings.Join(parts, ", ") + "}"
}

// hasValue reports whether a range result holds v.
func hasValue(values [][2]any, v float64) bool {
	for _, p := range values {
		if s, ok := p[1].(string); ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil && math.Abs(f-v) <= 1e-9*math.Max(1, math.Abs(v)) {
				return true
			}
		}
	}
	return false
}

// dashboard is the part of Grafana's dashboard model the checks read.
type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name, Type string
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID         int                `json:"id"`
		Type       string             `json:"type"`
		Title      string             `json:"title"`
		GridPos    struct{ H, W int } `json:"gridPos"`
		Datasource *struct {
			Type, UID string
		} `json:"datasource"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// checkDashboard checks docs/grafana/harness.json: the fields Grafana's
// import needs, a panel for every series docs/metrics.md lists, and data
// for every panel's every query from Prometheus at base.
func checkDashboard(t *testing.T, base string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/grafana/harness.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("docs/grafana/harness.json: %v", err)
	}
	// What an import reads: a title, a uid, the schema version, panels,
	// and the data source input the import dialog asks for.
	if d.Title == "" || d.UID == "" || d.SchemaVersion < 30 || len(d.Panels) == 0 {
		t.Fatalf("dashboard: title %q, uid %q, schemaVersion %d, %d panels", d.Title, d.UID, d.SchemaVersion, len(d.Panels))
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.Inputs[0].Type != "datasource" || d.Inputs[0].PluginID != "prometheus" {
		t.Errorf("dashboard __inputs: %+v, want the DS_PROMETHEUS data source", d.Inputs)
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
	}
	exprs := ""
	ids := map[int]bool{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || p.GridPos.W == 0 || p.GridPos.H == 0 || p.Datasource == nil || p.Datasource.UID != "${DS_PROMETHEUS}" || len(p.Targets) == 0 {
			t.Errorf("panel %d %q: needs a title, a size, the DS_PROMETHEUS data source and targets", p.ID, p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || tg.Expr == "" {
				t.Errorf("panel %q: a target without refId or expr", p.Title)
			}
			for _, m := range regexp.MustCompile(`\$(\w+)`).FindAllStringSubmatch(tg.Expr, -1) {
				if !vars[m[1]] && m[1] != "__rate_interval" {
					t.Errorf("panel %q: $%s is no variable of the dashboard", p.Title, m[1])
				}
			}
			exprs += tg.Expr + "\n"
			// As Grafana runs it with every variable at All.
			q := regexp.MustCompile(`\$__rate_interval`).ReplaceAllString(tg.Expr, "1m")
			q = regexp.MustCompile(`\$\w+`).ReplaceAllString(q, ".*")
			if !hasData(query(t, base, q)) {
				t.Errorf("panel %q: %s returns no data", p.Title, tg.Expr)
			}
		}
	}
	md, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := regexp.MustCompile("\\| `(llm_harness_[a-z_]+)").FindAllStringSubmatch(string(md), -1)
	if len(listed) < len(Names) {
		t.Fatalf("docs/metrics.md lists %d series, the package writes %d", len(listed), len(Names))
	}
	for _, m := range listed {
		if !strings.Contains(exprs, m[1]) {
			t.Errorf("no panel shows %s (docs/metrics.md)", m[1])
		}
	}
	for _, n := range Names {
		if !strings.Contains(string(md), "`"+Prefix+n) {
			t.Errorf("docs/metrics.md does not list %s%s", Prefix, n)
		}
	}
}

// hasData reports whether a result holds a number.
func hasData(r []struct {
	Metric map[string]string `json:"metric"`
	Values [][2]any          `json:"values"`
}) bool {
	for _, s := range r {
		for _, p := range s.Values {
			if v, ok := p[1].(string); ok && v != "NaN" {
				return true
			}
		}
	}
	return false
}
