package sweep

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// firstCell starts a runner on cfg and runs its first repeat: the cell, and
// the results after it.
func firstCell(t *testing.T, cfg Config) (results.Cell, results.Run) {
	t.Helper()
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, _, err := r.RunCell(context.Background(), cfg.Schedule()[0])
	if err != nil {
		t.Fatal(err)
	}
	return c, r.Results()
}

func TestRunnerAgainstSimulator(t *testing.T) {
	url := simtest.Start(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: time.Millisecond, Faults: map[sim.Fault]float64{sim.Fault503: 0.5}, Seed: 2})
	cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_WARMUP": "1", "PERF_SLO_TTFT_MS": "0.001"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Model() != sim.DefaultModel || r.Target() != url {
		t.Errorf("model %q target %q", r.Model(), r.Target())
	}
	c, final, err := r.RunCell(context.Background(), cfg.Schedule()[0])
	if err != nil || !final {
		t.Fatal(final, err)
	}
	reasons := strings.Join(c.Reasons, "\n")
	if c.Verdict != results.Fail || !strings.Contains(reasons, "error rate") || !strings.Contains(reasons, "http_5xx") || !strings.Contains(reasons, "p95 TTFT") {
		t.Errorf("verdict %s, reasons %v", c.Verdict, c.Reasons)
	}
	// The server's counters cover the measured requests only (the warm-up ran before the scrape).
	if c.Server == nil || c.Server.Requests == nil || *c.Server.Requests != float64(c.Successes) {
		t.Errorf("server delta %+v for %d successes", c.Server, c.Successes)
	}
	res, err := results.Load(filepath.Join(cfg.ReportDir, report.FileResults))
	if err != nil || len(res.Cells) != 1 || res.Model != sim.DefaultModel {
		t.Fatalf("reports after one cell: %v %+v", err, res)
	}
	if s := res.Stack; s.ServerVersion != sim.Version || s.Route != "/v1/chat/completions" || s.URL != url || s.Model != sim.DefaultModel {
		t.Errorf("stack %+v", s)
	}
	// A baseline from another stack: the run says what differs.
	res.Stack.ServerVersion = "0.10.2"
	b, _ := res.Marshal()
	other := filepath.Join(t.TempDir(), "base.json")
	_ = os.WriteFile(other, b, 0o644)
	cfg2 := config(t, map[string]string{"PERF_TARGET": url, "PERF_BASELINE": other})
	r2, err := Start(context.Background(), cfg2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if d := r2.Results().BaselineStackDiffers; len(d) != 1 || d[0] != "server_version: 0.10.2 -> "+sim.Version {
		t.Errorf("stack differences %q", d)
	}
}

func TestRunnerStartErrors(t *testing.T) {
	url := simtest.Start(t, sim.Config{Model: "other"})
	cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_MODEL": "tiny"})
	if _, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), `PERF_MODEL: "tiny" is not served; the target lists other`) {
		t.Errorf("wrong model: %v", err)
	}
	cfg = config(t, map[string]string{"PERF_TARGET": "http://127.0.0.1:1", "PERF_READY_TIMEOUT": "300ms"})
	if _, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "PERF_READY_TIMEOUT") {
		t.Errorf("unreachable target: %v", err)
	}
}

func TestRunnerInterruptedCell(t *testing.T) {
	cfg := config(t, map[string]string{"PERF_ITERATIONS_PER_VU": "1000"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	c, _, err := r.RunCell(ctx, cfg.Schedule()[0])
	if err != nil {
		t.Fatal(err)
	}
	res := r.Results()
	if c.Verdict != results.Interrupted || !res.Interrupted || c.Requests == 0 || c.ErrorRate() != 0 {
		t.Errorf("verdict %s, interrupted %v, %d requests, error rate %v", c.Verdict, res.Interrupted, c.Requests, c.ErrorRate())
	}
}

// TestRunnerRepeats: repeats are measured interleaved, a cell is judged and
// recorded with its last repeat, its figures are the repeats' medians, and
// the embedded simulator's run noise gives each repeat its own speed.
func TestRunnerRepeats(t *testing.T) {
	cfg := config(t, map[string]string{"PERF_CONCURRENCY": "1,2", "PERF_REPEATS": "3", "PERF_SIM_PRESET": "fast", "PERF_SIM_RUN_CV": "0.2"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	repeats := cfg.Schedule()
	var names []string
	for _, c := range repeats {
		names = append(names, c.SpecName())
	}
	if want := "short, 1 VU, repeat 1 of 3|short, 2 VUs, repeat 1 of 3|short, 1 VU, repeat 2 of 3"; !strings.HasPrefix(strings.Join(names, "|"), want) || len(repeats) != 6 {
		t.Fatalf("repeats %q", names)
	}
	for i, c := range repeats[:4] { // short 1 and 2 VUs, repeats 1 and 2
		if _, final, err := r.RunCell(context.Background(), c); err != nil || final {
			t.Fatalf("repeat %d: final %v, err %v", i, final, err)
		}
	}
	if got := len(r.Results().Cells); got != 0 {
		t.Fatalf("%d cells recorded before their last repeat", got)
	}
	c, final, err := r.RunCell(context.Background(), repeats[4])
	if err != nil || !final || c.Verdict != results.Pass || len(c.Repeats) != 3 {
		t.Fatalf("last repeat: final %v, verdict %s, %d repeats, err %v", final, c.Verdict, len(c.Repeats), err)
	}
	var ttfts []float64
	for _, run := range c.Repeats {
		ttfts = append(ttfts, run.TTFTp50)
	}
	if ttfts[0] == ttfts[1] && ttfts[1] == ttfts[2] {
		t.Errorf("repeats share one speed: TTFT p50 %v", ttfts)
	}
	if s := c.Stats["ttft_p50_ms"]; s.N != 3 || c.TTFT.P50 != s.Median || s.Lo > s.Median || s.Hi < s.Median {
		t.Errorf("stats %+v, headline TTFT p50 %v", s, c.TTFT.P50)
	}
	// Stopped now: the 2-VU cell has two of three repeats and is kept,
	// marked interrupted, with both.
	if err := r.MarkInterrupted(); err != nil {
		t.Fatal(err)
	}
	res := r.Results()
	if len(res.Cells) != 2 || res.Cells[1].Verdict != results.Interrupted || len(res.Cells[1].Repeats) != 2 || res.Settings.Repeats != 3 {
		t.Errorf("after the interrupt: %d cells, second %+v", len(res.Cells), res.Cells[len(res.Cells)-1])
	}
}

// TestRunnerWithoutMetrics: a target whose /metrics is absent still runs;
// the cell's server figures are null.
func TestRunnerWithoutMetrics(t *testing.T) {
	s, err := sim.New(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.NotFound(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := config(t, map[string]string{"PERF_TARGET": srv.URL, "PERF_WARMUP": "0"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, _, err := r.RunCell(context.Background(), cfg.Schedule()[0])
	if err != nil || c.Verdict != results.Pass || c.Server != nil {
		t.Fatalf("verdict %s, server %+v, err %v", c.Verdict, c.Server, err)
	}
}

// PERF_STREAM=0 sends whole responses, as hey does: TTFT is the whole
// response's time and equals E2E, and the results say the run was not
// streamed.
func TestRunnerNonStreamed(t *testing.T) {
	url := simtest.Start(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: time.Millisecond})
	c, res := firstCell(t, config(t, map[string]string{"PERF_TARGET": url, "PERF_STREAM": "0", "PERF_WARMUP": "0"}))
	if c.Successes != 4 || !reflect.DeepEqual(c.TTFT, c.E2E) || c.ITL.P50 != 0 || c.E2E.P50 < 5 {
		t.Errorf("non-streamed cell: %d ok, TTFT %+v, E2E %+v, ITL %+v", c.Successes, c.TTFT, c.E2E, c.ITL)
	}
	if res.Settings.Stream {
		t.Error("results say streamed")
	}
}

// tlsTarget is the simulator behind an https server whose certificate no
// system trusts, and a PEM file of that certificate.
func tlsTarget(t *testing.T) (url, caFile string) {
	t.Helper()
	s, err := sim.New(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s)
	t.Cleanup(func() { srv.Close(); _ = s.Close() })
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL, caFile
}

// An https target with a private CA: untrusted, the sweep stops at once
// naming the two settings that fix it; with PERF_CA_FILE it runs; with
// PERF_INSECURE_SKIP_VERIFY it runs, and the results say so.
func TestRunnerTLS(t *testing.T) {
	url, caFile := tlsTarget(t)
	cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_READY_TIMEOUT": "2m"})
	_, err := Start(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "PERF_CA_FILE") || !strings.Contains(err.Error(), "PERF_INSECURE_SKIP_VERIFY=1") ||
		strings.Contains(err.Error(), "not ready within") {
		t.Fatalf("untrusted certificate: %v; want an immediate error naming PERF_CA_FILE and PERF_INSECURE_SKIP_VERIFY", err)
	}
	for name, env := range map[string]map[string]string{
		"ca file":  {"PERF_TARGET": url, "PERF_CA_FILE": caFile},
		"insecure": {"PERF_TARGET": url, "PERF_INSECURE_SKIP_VERIFY": "1"},
	} {
		cfg := config(t, env)
		r, err := Start(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c, _, err := r.RunCell(context.Background(), cfg.Schedule()[0])
		r.Close()
		if err != nil || c.Successes != 4 || c.Server == nil {
			t.Errorf("%s: %v, %d ok, server %v", name, err, c.Successes, c.Server)
		}
		if s := r.Results().Settings; s.InsecureSkipVerify != (name == "insecure") || s.CAFile != env["PERF_CA_FILE"] {
			t.Errorf("%s: settings %+v", name, s)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	if _, err := resolve(t, map[string]string{"PERF_TARGET": url, "PERF_CA_FILE": bad}); err == nil || !strings.Contains(err.Error(), "PERF_CA_FILE") || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("a file with no certificate: %v", err)
	}
}

// TestSearchFindsTheSimulatorsCapacity: a simulator that runs at most M
// sequences at once queues the rest, so in a closed loop every VU past M
// makes some requests wait a whole generation before their first token.
// With TTFT0 the first-token time and S = TTFT0 + (N-1)*ITL the time of a
// full generation (no batch slowdown), the capacity under a p95 TTFT SLO L
// with TTFT0 < L < TTFT0 + S is exactly M VUs: at M+1, one request in M+1
// waits (more than 5%, so p95 sees it). Here M = 6, TTFT0 = 10 ms,
// N = 64, ITL = 1 ms: S = 73 ms, and L = 30 ms.
func TestSearchFindsTheSimulatorsCapacity(t *testing.T) {
	const m = 6
	url := simtest.Start(t, sim.Config{TTFT: 10 * time.Millisecond, ITL: time.Millisecond, MaxNumSeqs: m})
	cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_WARMUP": "0", "PERF_SEARCH": "concurrency", "PERF_SEARCH_MAX": "32", "PERF_SLO_TTFT_MS": "30"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var probes []string
	r.OnProbe(func(p capacity.Probe) { probes = append(probes, ProbeLine(cfg.Search, p)) })
	res, err := r.Search(context.Background(), "short")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("probes:\n%s", strings.Join(probes, "\n"))
	if res.Value != m || res.Hi != m+1 || !res.Complete || len(res.Probes) > 8 || len(res.Binding) != 1 || res.Binding[0] != "ttft_p95_ms ≤ 30" {
		t.Fatalf("capacity %v (bracket %v–%v, binding %v, %d probes), want %d", res.Value, res.Lo, res.Hi, res.Binding, len(res.Probes), m)
	}
	out := r.Results()
	back, err := results.Load(filepath.Join(cfg.ReportDir, report.FileResults))
	if err != nil || back.Capacity["short"].Value != m || len(out.Cells) != len(res.Probes) {
		t.Fatalf("results.json: %v, capacity %+v, %d cells for %d probes", err, back.Capacity["short"], len(out.Cells), len(res.Probes))
	}
	md, _ := os.ReadFile(filepath.Join(cfg.ReportDir, report.FileMarkdown))
	junit, _ := os.ReadFile(filepath.Join(cfg.ReportDir, report.FileJUnit))
	for _, want := range []string{"## Capacity", "serves 6 concurrent users of the short payload at p95 TTFT ≤ 30 ms and an error rate ≤ 0% (bracket 6–7; binding: p95 TTFT ≤ 30 ms",
		"![capacity probes of short](capacity-short.svg)"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	if !strings.Contains(string(junit), `<property name="capacity" value="6">`) || !strings.Contains(string(junit), `name="capacity_hi" value="7"`) {
		t.Errorf("junit.xml lacks the capacity:\n%s", junit)
	}
	if _, err := os.Stat(filepath.Join(cfg.ReportDir, "capacity-short.svg")); err != nil {
		t.Error(err)
	}
}

// A search needs something to search against, and says so before any
// request.
func TestSearchNeedsAnSLO(t *testing.T) {
	for env, want := range map[string]map[string]string{
		"a search needs an SLO to search against": {"PERF_SEARCH": "concurrency"},
		"PERF_REPEATS: a search decides":          {"PERF_SEARCH": "rate", "PERF_SLO_E2E_MS": "100", "PERF_REPEATS": "3"},
		"PERF_SEARCH_MAX: 1, 2.5":                 {"PERF_SEARCH": "concurrency", "PERF_SLO_E2E_MS": "100", "PERF_SEARCH_MAX": "2.5"},
		"PERF_SEARCH_START: 64 is above":          {"PERF_SEARCH": "rate", "PERF_SLO_E2E_MS": "100", "PERF_SEARCH_START": "64", "PERF_SEARCH_MAX": "32"},
		`PERF_SEARCH: "users"`:                    {"PERF_SEARCH": "users"},
	} {
		if _, err := resolve(t, want); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%v: %v, want %q", want, err, env)
		}
	}
}

// Early stop, both sides, on a simulator whose capacity is known: 2
// sequences at once, each 64 tokens at 10 ms + 63 x 2 ms = 136 ms, so it
// serves about 14.7 requests/s. At 40/s offered it falls behind for good:
// the cell stops once that is shown, having finished far fewer than its
// 120 requests, and fails "over-saturated". At 10/s it is busy (68%) but
// stable, and runs to the end.
func TestEarlyStopOverSaturated(t *testing.T) {
	url := simtest.Start(t, sim.Config{TTFT: 10 * time.Millisecond, ITL: 2 * time.Millisecond, MaxNumSeqs: 2})
	run := func(rate, stop string, requests int) results.Cell {
		c, _ := firstCell(t, config(t, map[string]string{"PERF_TARGET": url, "PERF_WARMUP": "0", "PERF_CONCURRENCY": "none", "PERF_RATES": rate,
			"PERF_REQUESTS": strconv.Itoa(requests), "PERF_STOP_EARLY": stop}))
		return c
	}
	over := run("40", "auto", 120)
	t.Logf("over-saturated: %d requests in %.2f s, %v", over.Requests, over.DurationS, over.Reasons)
	if over.EarlyStop == nil || over.EarlyStop.Rule != results.RuleOverSaturated || over.Verdict != results.Fail || over.Requests > 60 ||
		!strings.Contains(strings.Join(over.Reasons, " "), "stopped early, over-saturated") {
		t.Fatalf("40/s against 14.7/s of capacity: early stop %+v, verdict %s, %d of 120 requests", over.EarlyStop, over.Verdict, over.Requests)
	}
	stable := run("10", "auto", 40)
	if stable.EarlyStop != nil || stable.Requests != 40 || stable.Verdict != results.Pass {
		t.Fatalf("10/s, busy but stable: early stop %+v, %d of 40 requests, verdict %s %v", stable.EarlyStop, stable.Requests, stable.Verdict, stable.Reasons)
	}
	off := run("40", "0", 60)
	if off.EarlyStop != nil || off.Requests != 60 {
		t.Fatalf("PERF_STOP_EARLY=0: early stop %+v, %d of 60 requests", off.EarlyStop, off.Requests)
	}
}

// The server's side of saturation. On the embedded simulator with a KV
// cache of 2,000 tokens, the long payload's sequences (97 prompt and 256
// output tokens: 353 each at their ends) no longer fit from 6 at once: the
// high-concurrency cells show the cache full and preemptions, and the
// findings cite them at the knee. With the preset's 380,000 tokens the
// cache stays near 1% and the report says it is not the limit.
func TestServerSideOfSaturation(t *testing.T) {
	sweep := func(env map[string]string) results.Run {
		env["PERF_PAYLOADS"], env["PERF_CONCURRENCY"], env["PERF_ITERATIONS_PER_VU"], env["PERF_SIM_PRESET"] = "long", "1,2,8,16", "1", "fast"
		cfg := config(t, env)
		r, err := Start(context.Background(), cfg, nil)
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
	tight := sweep(map[string]string{"PERF_SIM_KV_CACHE_TOKENS": "2000"})
	for _, c := range tight.Cells {
		s := c.Server
		if s == nil || s.KVCacheUsagePeak == nil || s.Preemptions == nil || s.QueueMeanMs == nil {
			t.Fatalf("%s: server view %+v lacks the saturation metrics", c.Name(), s)
		}
		t.Logf("%s: KV peak %.0f%%, %v preemptions, queue mean %.1f ms, %.2f RPS", c.Name(), *s.KVCacheUsagePeak*100, *s.Preemptions, *s.QueueMeanMs, c.RPS)
		switch c.Concurrency {
		case 1:
			if *s.Preemptions != 0 || *s.KVCacheUsagePeak > 0.25 {
				t.Errorf("1 VU: %v preemptions, KV peak %v", *s.Preemptions, *s.KVCacheUsagePeak)
			}
		case 16:
			if *s.Preemptions == 0 || *s.KVCacheUsagePeak < 0.9 {
				t.Errorf("16 VUs in 2,000 tokens: %v preemptions, KV peak %v", *s.Preemptions, *s.KVCacheUsagePeak)
			}
		}
	}
	var md bytes.Buffer
	if err := report.WriteMarkdown(&md, &tight, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "the knee coincides with the server's own saturation") || !strings.Contains(md.String(), "preempted for want of KV cache") {
		t.Errorf("no finding cites the KV cache:\n%s", md.String()[strings.Index(md.String(), "## Findings"):])
	}
	roomy := sweep(map[string]string{})
	md.Reset()
	_ = report.WriteMarkdown(&md, &roomy, nil)
	if !strings.Contains(md.String(), "**KV cache is not the limit**") {
		t.Errorf("the default KV cache: no finding that it is not the limit")
	}
}

// writePayloads writes a payloads file of one payload, "sized", asking for
// input tokens, and returns its path.
func writePayloads(t *testing.T, inputTokens any) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "payloads.yaml")
	body := fmt.Sprintf("payloads:\n  sized:\n    max_tokens: 8\n    input_tokens: %v\n    messages:\n      - role: system\n        content: Be brief.\n      - role: user\n        content: What does a GPU do?\n", inputTokens)
	if err := os.WriteFile(f, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Exact input lengths: a payload's input_tokens is reached through the
// target's /tokenize, and every request's usage.prompt_tokens says so. A
// target without /tokenize gets an estimate, said so; one asked for fewer
// tokens than the messages alone is refused, naming the payload.
func TestInputTokens(t *testing.T) {
	s, err := sim.New(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	withTokenize := httptest.NewServer(s)
	noTokenize := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tokenize" {
			http.NotFound(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer func() { withTokenize.Close(); noTokenize.Close(); _ = s.Close() }()
	for _, n := range []int{300, 1000} {
		c, res := firstCell(t, config(t, map[string]string{"PERF_TARGET": withTokenize.URL, "PERF_PAYLOADS_FILE": writePayloads(t, n), "PERF_PAYLOADS": "sized"}))
		if c.InputTokensMean != float64(n) || c.PromptMismatches != 0 || res.Payloads["sized"].InputTokens != n || res.Payloads["sized"].InputNote != "" {
			t.Errorf("%d tokens asked: mean %v, %d mismatched, payload %+v", n, c.InputTokensMean, c.PromptMismatches, res.Payloads["sized"])
		}
	}
	// A distribution: each request's prompt has its own exact length.
	c, res := firstCell(t, config(t, map[string]string{"PERF_TARGET": withTokenize.URL, "PERF_PAYLOADS": "sized",
		"PERF_PAYLOADS_FILE": writePayloads(t, "{distribution: uniform, min: 100, max: 900, seed: 5}"), "PERF_ITERATIONS_PER_VU": "8"}))
	if c.PromptMismatches != 0 || c.InputTokensMean < 100 || c.InputTokensMean > 900 || !strings.HasPrefix(res.Payloads["sized"].InputDistribution, "uniform 100–900") {
		t.Errorf("uniform 100–900: mean %v, %d mismatched, payload %+v", c.InputTokensMean, c.PromptMismatches, res.Payloads["sized"])
	}
	c, res = firstCell(t, config(t, map[string]string{"PERF_TARGET": noTokenize.URL, "PERF_PAYLOADS_FILE": writePayloads(t, 300), "PERF_PAYLOADS": "sized"}))
	if !strings.Contains(res.Payloads["sized"].InputNote, "estimated: the target has no /tokenize") || c.InputTokensMean == 0 {
		t.Errorf("without /tokenize: payload %+v, mean %v", res.Payloads["sized"], c.InputTokensMean)
	}
	cfg := config(t, map[string]string{"PERF_TARGET": withTokenize.URL, "PERF_PAYLOADS_FILE": writePayloads(t, 5), "PERF_PAYLOADS": "sized"})
	if _, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "payload sized: input_tokens") ||
		!strings.Contains(err.Error(), "the messages alone are") {
		t.Errorf("5 tokens asked: %v", err)
	}
}

// Shared prefixes, measured back from the server's counters. The payload
// asks for 4 groups of 256-token prefixes; prompt i belongs to group i mod
// 4. The simulator caches prompts in blocks of 64 bytes of text (16 of its
// tokens, vLLM's block size), chained so a block hits only after the same
// prefix; a prompt's tokens are queried, and its leading cached blocks hit.
// So the designed hit rate, in tokens as vLLM counts it, is
//
//	sum over requests of floor(S_i / 64) * 16  /  sum over requests of P_i
//
// where S_i is the bytes request i shares with the earlier prompt of its
// group (0 for each group's first request: it misses) and P_i its prompt
// tokens. One VU sends the 16 prompts in order, so the test knows them.
func TestPrefixCacheHitRate(t *testing.T) {
	s, err := sim.New(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, PrefixCaching: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer func() { srv.Close(); _ = s.Close() }()
	f := filepath.Join(t.TempDir(), "payloads.yaml")
	_ = os.WriteFile(f, []byte("payloads:\n  rag:\n    max_tokens: 4\n    prefix_tokens: 256\n    prefix_groups: 4\n    messages:\n      - role: user\n        content: What does a GPU do?\n"), 0o644)
	cfg := config(t, map[string]string{"PERF_TARGET": srv.URL, "PERF_PAYLOADS_FILE": f, "PERF_PAYLOADS": "rag", "PERF_CONCURRENCY": "1",
		"PERF_ITERATIONS_PER_VU": "16", "PERF_WARMUP": "0"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	prompts := r.target.Payloads["rag"].Prompts
	c, _, err := r.RunCell(context.Background(), cfg.Schedule()[0])
	if err != nil {
		t.Fatal(err)
	}
	text := func(msgs []openai.Message) string {
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString(m.Role + "\x00" + m.Content + "\x00")
		}
		return b.String()
	}
	var hits, queried float64
	for i := range 16 {
		p := prompts[i]
		queried += float64(p.Tokens)
		if i < 4 {
			continue // each group's first request misses
		}
		a, b := text(p.Messages), text(prompts[i-4].Messages)
		shared := 0
		for shared < min(len(a), len(b)) && a[shared] == b[shared] {
			shared++
		}
		hits += float64(min(shared/64*16, p.Tokens-1))
	}
	designed := hits / queried
	if c.Server == nil || c.Server.PrefixCacheHitRate == nil {
		t.Fatalf("no prefix cache hit rate: %+v", c.Server)
	}
	t.Logf("designed hit rate %.4f (%v of %v tokens), measured %.4f", designed, hits, queried, *c.Server.PrefixCacheHitRate)
	if got := *c.Server.PrefixCacheHitRate; math.Abs(got-designed) > 1e-3 || designed < 0.5 {
		t.Fatalf("prefix cache hit rate %v, designed %v", got, designed)
	}
	if c.PromptMismatches != 0 || c.Successes != 16 {
		t.Errorf("%d of 16 ok, %d prompts mismatched", c.Successes, c.PromptMismatches)
	}
}

// Trace replay: the committed sample trace (40 requests over 6.2 s, three
// documents of 1 to 3 blocks shared by hash_ids) replayed 4x faster on the
// simulator is one open-loop cell: every request at its timestamp (the
// start lateness's median within a millisecond: a bias, the tail is the
// machine's), its prompt sized exactly to its input_length, and the shared
// blocks hit in the prefix cache.
func TestTraceReplay(t *testing.T) {
	s, err := sim.New(sim.Config{TTFT: 5 * time.Millisecond, ITL: time.Millisecond, PrefixCaching: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer func() { srv.Close(); _ = s.Close() }()
	clock.Attempts(t, clock.DefaultAttempts, func(int) []string {
		cfg := config(t, map[string]string{"PERF_TARGET": srv.URL, "PERF_TRACE": filepath.Join("..", "..", "fixtures", "traces", "sample.jsonl"),
			"PERF_TRACE_SPEEDUP": "4", "PERF_WARMUP": "0"})
		repeats := cfg.Schedule()
		if len(repeats) != 1 || repeats[0].Payload != "trace sample.jsonl" || repeats[0].Plan.Requests != 40 {
			t.Fatalf("repeats %+v", repeats)
		}
		c, res := firstCell(t, cfg)
		t.Logf("%s: %d ok, queue p50/p99 %.2f/%.2f ms, achieved %.2f of %.2f req/s, prefix hit %.3f, note %q", c.Name(), c.Successes,
			c.Queue.P50, c.Queue.P99, c.LoadCheck.AchievedRPS, c.Rate, *c.Server.PrefixCacheHitRate, res.Payloads[c.Payload].InputNote)
		if c.Successes != 40 || c.PromptMismatches != 0 || res.Payloads[c.Payload].InputNote != "" || c.Server.PrefixCacheHitRate == nil || *c.Server.PrefixCacheHitRate < 0.5 {
			t.Fatalf("replay: %d of 40 ok, %d mismatched, note %q, server %+v", c.Successes, c.PromptMismatches, res.Payloads[c.Payload].InputNote, c.Server)
		}
		if c.Queue.P50 > 1 {
			return []string{fmt.Sprintf("start lateness p50 %.2f ms, want within 1 ms of each timestamp", c.Queue.P50)}
		}
		return nil
	})
}

// TestTracePartialBlocksOnTheSimulator: a trace in Mooncake's own
// convention (a request's blocks cover its input, the last one partial) is
// sized exactly through the simulator's /tokenize, every request's usage
// agreeing; a request with more blocks than its length holds is cut, and
// the payload's note says so.
func TestTracePartialBlocksOnTheSimulator(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mooncake.jsonl")
	lines := `{"timestamp": 0, "input_length": 1100, "output_length": 8, "hash_ids": [1, 2, 3]}
{"timestamp": 50, "input_length": 700, "output_length": 8, "hash_ids": [1, 4]}
{"timestamp": 100, "input_length": 1500, "output_length": 8, "hash_ids": [1, 2, 5]}
{"timestamp": 150, "input_length": 400, "output_length": 8, "hash_ids": [1, 2, 6]}
`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config(t, map[string]string{"PERF_TRACE": path, "PERF_TRACE_SPEEDUP": "10", "PERF_WARMUP": "0"})
	c, res := firstCell(t, cfg)
	note := res.Payloads[c.Payload].InputNote
	if c.Successes != 4 || c.PromptMismatches != 0 || note != "1 of 4 requests had more hash_ids blocks than their input_length holds at 512 tokens a block: cut to the blocks it holds" {
		t.Errorf("%d of 4 ok (%v), %d prompt mismatches, note %q", c.Successes, c.Errors, c.PromptMismatches, note)
	}
}
