// Package check_test runs the perf suite as a user does — the compiled
// suite, configured by PERF_* variables and flags, against real servers on
// loopback — and checks the report files it leaves.
package check_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/accuracy"
	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// suiteTimeout bounds one run of the suite.
const suiteTimeout = 3 * time.Minute

var perfBin, perfDir string

func TestMain(m *testing.M) {
	simtest.ServeIfChild()
	tmp, err := os.MkdirTemp("", "perfcheck")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	perfBin = filepath.Join(tmp, "perf.test")
	if out, err := exec.Command("go", "test", "-c", "-o", perfBin, "github.com/llm-platform/harness/perf").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the perf suite: %v\n%s", err, out)
		os.Exit(2)
	}
	wd, _ := os.Getwd()
	perfDir = filepath.Dir(wd) // go test runs the suite in perf/
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// payloads is a small payloads file: n16 asks for 16 tokens.
const payloads = `payloads:
  n16:
    max_tokens: 16
    messages:
      - role: user
        content: Count to sixteen.
`

// suiteRun is one run of the suite.
type suiteRun struct {
	dir    string // the report folder
	output string
	err    error
}

func (r suiteRun) results(t *testing.T) *results.Run {
	t.Helper()
	res, err := results.Load(filepath.Join(r.dir, report.FileResults))
	if err != nil {
		t.Fatalf("%v\nsuite output:\n%s", err, r.output)
	}
	return res
}

// command prepares the suite with env (PERF_* from the environment are
// dropped so a developer's settings cannot leak in) and a fresh report dir.
func command(t *testing.T, ctx context.Context, env map[string]string, args ...string) (*exec.Cmd, string, *lockedBuffer) {
	t.Helper()
	dir := t.TempDir()
	pf := filepath.Join(dir, "payloads.yaml")
	if err := os.WriteFile(pf, []byte(payloads), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, perfBin, append([]string{"-test.v"}, args...)...)
	cmd.Dir = perfDir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PERF_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	base := map[string]string{"PERF_REPORT_DIR": dir, "PERF_PAYLOADS_FILE": pf, "PERF_PAYLOADS": "n16",
		"PERF_CONCURRENCY": "1,4", "PERF_ITERATIONS_PER_VU": "3", "PERF_WARMUP": "0", "PERF_SIM_PRESET": "fast"}
	for k, v := range env {
		base[k] = v
	}
	for k, v := range base {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := newLockedBuffer()
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, dir, out
}

func runSuite(t *testing.T, env map[string]string, args ...string) suiteRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()
	cmd, dir, out := command(t, ctx, env, args...)
	err := cmd.Run()
	return suiteRun{dir: dir, output: out.String(), err: err}
}

func within(got, want, tol float64) bool { return got >= want-tol && got <= want+tol }

// TestAgainstLLMDInferenceSim: the suite against an independent vLLM
// simulator reports what that simulator delivered. Counts and the verdict
// are exact. The latencies are checked against a raw-socket reference
// client (package accuracy) that streams the same request over and over
// while the suite runs, so both see the same server at the same moments:
// each cell's TTFT, ITL and E2E p50 from results.json must be within the
// reference's tolerance of its medians, under the attempt policy (a run of
// the whole suite per attempt). The simulator's configured latencies are
// no bound: it delivers its 50 ms TTFT at 58-61 ms on some machines.
func TestAgainstLLMDInferenceSim(t *testing.T) {
	const model, tokens, perVU = "TinyLlama/TinyLlama-1.1B-Chat-v1.0", 16, 16
	url := simtest.StartLLMD(t, "--model", model, "--time-to-first-token", "50ms", "--inter-token-latency", "10ms", "--max-num-seqs", "8")
	ref, err := accuracy.NewReference(accuracy.ReferenceRequest{URL: url, Model: model, Prompt: "Count to sixteen.", MaxTokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	// One suite run per cell, the reference streaming beside it: the
	// server's latency at 1 VU and at 4 is not the same.
	for _, vus := range []int{1, 4} {
		clock.Attempts(t, 3, func(attempt int) []string {
			timings := make(chan []accuracy.Timing, 1)
			stop := make(chan struct{})
			go func() { timings <- referenceStream(t, ref, stop) }()
			run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_WARMUP": "1", "PERF_CONCURRENCY": fmt.Sprint(vus), "PERF_ITERATIONS_PER_VU": fmt.Sprint(perVU)})
			close(stop)
			refFigures := accuracy.ReferenceFigures(<-timings)
			if run.err != nil {
				t.Fatalf("suite failed: %v\n%s", run.err, run.output)
			}
			res := run.results(t)
			if res.Model != model || res.Target.URL != url || res.Target.Simulator != "" || len(res.Cells) != 1 || res.Interrupted {
				t.Fatalf("results: model %q target %+v, %d cells, interrupted %v", res.Model, res.Target, len(res.Cells), res.Interrupted)
			}
			c := res.Cells[0]
			t.Logf("%s: TTFT p50 %.2f ms, ITL p50 %.2f ms, E2E p50 %.1f ms, %.2f RPS, %.1f tok/s", c.Name(), c.TTFT.P50, c.ITL.P50, c.E2E.P50, c.RPS, c.OutputTokS)
			if c.Verdict != results.Pass || c.Concurrency != vus || c.Requests != int64(perVU*vus) || c.Successes != c.Requests {
				t.Fatalf("%s: verdict %s, %d/%d ok, reasons %v", c.Name(), c.Verdict, c.Successes, c.Requests, c.Reasons)
			}
			if !within(c.OutputTokS, tokens*c.RPS, 0.02*tokens*c.RPS) {
				t.Fatalf("%s: %.1f tok/s is not %d x %.2f RPS", c.Name(), c.OutputTokS, tokens, c.RPS)
			}
			n := int(c.Successes)
			cs := []accuracy.Check{
				accuracy.CompareMedian(c.Name()+" TTFT p50", accuracy.DefaultAllowance, msDuration(c.TTFT.P50), n, refFigures.TTFT),
				accuracy.CompareMedian(c.Name()+" ITL p50", accuracy.DefaultAllowance, msDuration(c.ITL.P50), n*(tokens-1), refFigures.ITL),
				accuracy.CompareMedian(c.Name()+" E2E p50", accuracy.DefaultAllowance, msDuration(c.E2E.P50), n, refFigures.E2E),
			}
			for _, c := range cs {
				t.Logf("attempt %d: %v", attempt, c)
			}
			// On a quiet machine a first token 3 ms late fails this; on a busy
			// one the reference's spread widens the tolerance.
			t.Logf("attempt %d: a first token stamped %v late would pass: %v", attempt, accuracy.InjectedLate, cs[0].Late(accuracy.InjectedLate).OK())
			return accuracy.Problems(cs...)
		})
	}
}

// referenceStream runs the reference's requests one after another until
// stop closes (bounded: at most 400 requests), and returns their timings.
func referenceStream(t *testing.T, ref *accuracy.Reference, stop <-chan struct{}) []accuracy.Timing {
	var out []accuracy.Timing
	for range 400 {
		select {
		case <-stop:
			return out
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		tm, err := ref.Do(ctx)
		cancel()
		if err != nil {
			t.Errorf("reference request: %v", err)
			return out
		}
		out = append(out, tm)
	}
	return out
}

// msDuration turns a report's milliseconds into a duration.
func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// TestPlanLongerThanGinkgoTimeout: Ginkgo stops a suite at its --timeout
// (an hour unless told). A plan whose estimate (from the pace measured at
// start) does not fit fails at once, naming the value to pass, instead of
// being killed mid-sweep; one that fits says its estimate and runs.
func TestPlanLongerThanGinkgoTimeout(t *testing.T) {
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "2ms", "--inter-token-latency", "10ms", "--max-num-seqs", "8")
	// 1 VU x 400 requests of 16 tokens at about 10 ms a token: a minute.
	began := time.Now()
	run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_CONCURRENCY": "1", "PERF_ITERATIONS_PER_VU": "400"}, "-ginkgo.timeout=20s")
	took := time.Since(began)
	if run.err == nil || !strings.Contains(run.output, "pass --timeout=1h (make perf GINKGO_TIMEOUT=1h)") || strings.Contains(run.output, "requests, ") {
		t.Fatalf("a 1-minute plan under a 20 s timeout: err %v\n%s", run.err, run.output)
	}
	if took > 15*time.Second {
		t.Errorf("the suite failed after %v, not at once", took.Round(time.Second))
	}
	run = runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_CONCURRENCY": "1,2", "PERF_ITERATIONS_PER_VU": "2"}, "-ginkgo.timeout=5m")
	if run.err != nil || !strings.Contains(run.output, "perf: the plan needs about") || !strings.Contains(run.output, "at 2 at once") {
		t.Fatalf("a short plan: err %v\n%s", run.err, run.output)
	}
}

// TestTeamsK6Command: the team's k6 variables, as their k6 command passes
// them, drive the suite against llm-d-inference-sim: the target from the
// full URL, 192 iterations shared by 4 VUs, and the first output line and
// the report name what was taken. A k6 name beside its PERF_ twin stops the
// suite before any request.
func TestTeamsK6Command(t *testing.T) {
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "2ms", "--inter-token-latency", "1ms", "--max-num-seqs", "8")
	k6 := map[string]string{"BASE_URL": url + "/v1/chat/completions", "PAYLOAD_TYPE": "n16", "VUS": "4", "ITERATIONS": "192",
		"PERF_PAYLOADS": "", "PERF_CONCURRENCY": "", "PERF_ITERATIONS_PER_VU": ""}
	run := runSuite(t, k6)
	if run.err != nil {
		t.Fatalf("suite failed: %v\n%s", run.err, run.output)
	}
	first, _, _ := strings.Cut(run.output, "\n")
	if want := "perf: taken from k6 variables: BASE_URL=" + url + "/v1/chat/completions (for PERF_TARGET), PAYLOAD_TYPE=n16 (for PERF_PAYLOADS), " +
		"VUS=4 (for PERF_CONCURRENCY), ITERATIONS=192 (for PERF_ITERATIONS_PER_VU)"; first != want {
		t.Errorf("first line %q, want %q", first, want)
	}
	res := run.results(t)
	if len(res.Cells) != 1 || res.Target.URL != url || res.Cells[0].Name() != "n16, 4 VUs" || res.Cells[0].Requests != 192 ||
		res.Cells[0].Successes != 192 || len(res.Settings.K6Variables) != 4 {
		t.Fatalf("results: target %s, cells %+v, k6 %v", res.Target.URL, res.Cells, res.Settings.K6Variables)
	}
	md, _ := os.ReadFile(filepath.Join(run.dir, report.FileMarkdown))
	if !bytes.Contains(md, []byte("| k6 variables taken | `BASE_URL="+url+"/v1/chat/completions`")) {
		t.Errorf("report.md does not name the k6 variables taken")
	}

	k6["PERF_TARGET"] = url
	both := runSuite(t, k6)
	if both.err == nil || !strings.Contains(both.output, "BASE_URL and PERF_TARGET are both set") {
		t.Errorf("BASE_URL beside PERF_TARGET: %v\n%s", both.err, both.output)
	}
	if _, err := os.Stat(filepath.Join(both.dir, report.FileResults)); err == nil {
		t.Error("a refused configuration wrote results")
	}
}

// TestHTTPSIngress: the suite through an https nginx for llm.local whose
// certificate a private CA signed, trusted through PERF_CA_FILE, with the
// address dialled and llm.local sent as Host and server name.
func TestHTTPSIngress(t *testing.T) {
	backend := simtest.StartProcess(t, "-preset", "fast")
	certs := simtest.NewCerts(t, t.TempDir(), "llm.local")
	listen, err := nginx.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	n, err := nginx.Start(nginx.Config{Listen: listen, TLS: &nginx.TLSFiles{Cert: certs.Cert, Key: certs.Key},
		Routes: []nginx.Location{{Host: "llm.local", Path: "/", Backend: strings.TrimPrefix(backend, "http://"),
			Settings: nginx.Settings{ReadTimeout: time.Minute, SendTimeout: time.Minute, BodySize: "1m", RequestBuffering: true}}}}, t.TempDir())
	if errors.Is(err, nginx.ErrNoNginx) {
		simtest.Missing(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	run := runSuite(t, map[string]string{"PERF_TARGET": n.URL, "PERF_HOST": "llm.local", "PERF_CA_FILE": certs.CA})
	if run.err != nil {
		t.Fatalf("suite through https failed: %v\n%s", run.err, run.output)
	}
	res := run.results(t)
	md, _ := os.ReadFile(filepath.Join(run.dir, report.FileMarkdown))
	if len(res.Cells) != 2 || res.Cells[1].Successes != 12 || res.Settings.CAFile != certs.CA || !bytes.Contains(md, []byte("TLS trusted through")) {
		t.Errorf("results: %d cells, settings %+v", len(res.Cells), res.Settings)
	}
	untrusted := runSuite(t, map[string]string{"PERF_TARGET": n.URL, "PERF_HOST": "llm.local"})
	if untrusted.err == nil || !strings.Contains(untrusted.output, "set PERF_CA_FILE") {
		t.Errorf("untrusted: %v\n%s", untrusted.err, untrusted.output)
	}
}

// TestCapacitySearchAgainstLLMD: llm-d-inference-sim runs at most
// --max-num-seqs requests at once and queues the rest, so its capacity
// under a TTFT SLO between its TTFT and a whole generation is that number
// (the formula is in internal/sweep's TestSearchFindsTheSimulatorsCapacity).
// The suite, as make perf runs it, finds it, and writes it everywhere.
func TestCapacitySearchAgainstLLMD(t *testing.T) {
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "10ms", "--inter-token-latency", "2ms", "--max-num-seqs", "4")
	run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_SEARCH": "concurrency", "PERF_SEARCH_MAX": "16", "PERF_SLO_TTFT_MS": "25",
		"PERF_CONCURRENCY": "", "PERF_ITERATIONS_PER_VU": "3"})
	if run.err != nil {
		t.Fatalf("search failed: %v\n%s", run.err, run.output)
	}
	res := run.results(t)
	c, ok := res.Capacity["n16"]
	if !ok || c.Value != 4 || c.Hi != 5 || !c.Complete {
		t.Fatalf("capacity %+v, want 4 (bracket 4–5)\n%s", c, run.output)
	}
	t.Logf("%s", report.CapacitySentence(res, "n16"))
	if !strings.Contains(run.output, "capacity of n16") || !strings.Contains(run.output, "serves 4 concurrent users of the n16 payload") {
		t.Errorf("the suite's output does not give the answer:\n%s", run.output)
	}
}

// TestRateSearchAgainstLLMD: the same server with 2 sequences at once
// serves 2 / S requests/s, S a request's service time (16 tokens at 10 ms
// + 15 x 2 ms, plus the server's own overhead: measured, as the E2E p50 of
// the first, unloaded probe). Under constant arrivals nothing queues below
// that rate, so the response TTFT stays near 10 ms up to it and climbs past
// it. A rate search under a 25 ms TTFT SLO finds it, within its resolution
// (10% here, to keep the test short).
//
// The bound is one-sided where the machine is: noise can only lower a
// measured capacity (a service time that varies builds a queue below the
// deterministic limit: with a Kubernetes build on both cores, 32 req/s
// against a 2/S of 39.1 was seen), never raise it past 2/S; so the
// capacity must be at most 5% over 2/S, and at least 70% of it. The search
// starts at 16 req/s, so a search that never left its start (0.4 x 2/S)
// still fails.
func TestRateSearchAgainstLLMD(t *testing.T) {
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "10ms", "--inter-token-latency", "2ms", "--max-num-seqs", "2")
	run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_SEARCH": "rate", "PERF_SEARCH_START": "16", "PERF_SEARCH_MAX": "200",
		"PERF_SEARCH_RESOLUTION": "0.1", "PERF_SLO_TTFT_MS": "25", "PERF_CONCURRENCY": "none", "PERF_REQUESTS": "30"})
	if run.err != nil {
		t.Fatalf("search failed: %v\n%s", run.err, run.output)
	}
	res := run.results(t)
	c := res.Capacity["n16"]
	service := res.Cells[0].E2E.P50 / 1000 // the first probe, at 16/s, well below capacity
	want := 2 / service
	t.Logf("capacity %v req/s, bracket %v–%v, %d probes in %v s; service time %.1f ms: 2/S = %.1f req/s", c.Value, c.Lo, c.Hi, len(c.Probes), c.DurationS, service*1000, want)
	if c.Value < 0.7*want || c.Value > 1.05*want || c.Hi <= c.Value || (c.Hi-c.Lo)/c.Lo > 0.1 || !c.Complete {
		t.Fatalf("capacity %v req/s (bracket %v–%v), want %.1f (2/S) within its resolution", c.Value, c.Lo, c.Hi, want)
	}
}

// TestCapacitySearchOnTheEmbeddedSimulator: `PERF_SEARCH=concurrency
// PERF_SLO_TTFT_MS=... make perf` with no target searches the embedded
// simulator, whose capacity PERF_SIM_MAX_NUM_SEQS sets: 3 sequences at
// once, 16 tokens at 20 ms + 15 x 5 ms = 95 ms each, so under a 50 ms TTFT
// SLO it serves exactly 3 VUs.
func TestCapacitySearchOnTheEmbeddedSimulator(t *testing.T) {
	run := runSuite(t, map[string]string{"PERF_SEARCH": "concurrency", "PERF_SLO_TTFT_MS": "50", "PERF_SIM_MAX_NUM_SEQS": "3", "PERF_SEARCH_MAX": "8",
		"PERF_CONCURRENCY": ""})
	if run.err != nil {
		t.Fatalf("search failed: %v\n%s", run.err, run.output)
	}
	c := run.results(t).Capacity["n16"]
	if c.Value != 3 || c.Hi != 4 {
		t.Fatalf("capacity %v (bracket %v–%v), want 3 (bracket 3–4)\n%s", c.Value, c.Lo, c.Hi, run.output)
	}
	if !strings.Contains(run.output, "The embedded simulator (preset fast) serves 3 concurrent users of the n16 payload") {
		t.Errorf("the suite's output does not give the answer:\n%s", run.output)
	}
}

// TestEarlyStopAgainstLLMD: llm-d-inference-sim with --max-num-seqs 2 and
// 16 tokens at 10 ms + 15 x 2 ms serves about 50 requests/s; offered 150/s
// it falls behind for good, and the open-loop cell stops early, failing
// "over-saturated", having finished far fewer than its 300 requests.
func TestEarlyStopAgainstLLMD(t *testing.T) {
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "10ms", "--inter-token-latency", "2ms", "--max-num-seqs", "2")
	run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_CONCURRENCY": "none", "PERF_RATES": "150", "PERF_REQUESTS": "300"})
	if run.err == nil {
		t.Fatalf("an over-saturated cell passed:\n%s", run.output)
	}
	c := run.results(t).Cells[0]
	t.Logf("%d of 300 requests in %.2f s: %v", c.Requests, c.DurationS, c.Reasons)
	if c.EarlyStop == nil || c.EarlyStop.Rule != "over-saturated" || c.Requests > 150 {
		t.Fatalf("early stop %+v after %d of 300 requests", c.EarlyStop, c.Requests)
	}
	md, _ := os.ReadFile(filepath.Join(run.dir, report.FileMarkdown))
	if !bytes.Contains(md, []byte("**FAIL** (over-saturated)")) {
		t.Error("report.md does not say the cell was over-saturated")
	}
}

// TestInputTokensAgainstLLMD: a payload's input_tokens, fixed or drawn
// from a distribution, sized through llm-d-inference-sim's own /tokenize,
// comes back exactly in every request's usage.prompt_tokens.
func TestInputTokensAgainstLLMD(t *testing.T) {
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "2ms", "--inter-token-latency", "1ms")
	pf := filepath.Join(t.TempDir(), "sized.yaml")
	if err := os.WriteFile(pf, []byte("payloads:\n  sized:\n    max_tokens: 8\n    input_tokens: 200\n    messages:\n      - role: user\n        content: What does a GPU do?\n"+
		"  drawn:\n    max_tokens: 8\n    input_tokens: {distribution: normal, mean: 400, stddev: 100, seed: 2}\n    messages:\n      - role: user\n        content: What does a GPU do?\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_PAYLOADS_FILE": pf, "PERF_PAYLOADS": "sized,drawn"})
	if run.err != nil {
		t.Fatalf("suite failed: %v\n%s", run.err, run.output)
	}
	res := run.results(t)
	t.Logf("payloads %+v", res.Payloads)
	for _, c := range res.Cells {
		if c.PromptMismatches != 0 || res.Payloads[c.Payload].InputNote != "" || c.Payload == "sized" && c.InputTokensMean != 200 {
			t.Errorf("%s: mean prompt tokens %v, %d mismatched, note %q", c.Name(), c.InputTokensMean, c.PromptMismatches, res.Payloads[c.Payload].InputNote)
		}
	}
}

// TestPrefixCacheAgainstLLMD: llm-d-inference-sim with its KV cache on
// (--enable-kvcache; it wants POD_IP) counts prefix cache queries and hits
// in tokens, under the bare names vllm:prefix_cache_queries and
// vllm:prefix_cache_hits. Four groups of 256-token prefixes, one VU, 16
// requests in order: each group's first request misses, and each of the
// other 12 hits its shared prefix in whole blocks of 16 tokens: 256 tokens
// and the template's few before them, within a block either side (the
// designed hit rate is 12 x that over the prompt tokens queried).
func TestPrefixCacheAgainstLLMD(t *testing.T) {
	t.Setenv("POD_IP", "127.0.0.1")
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "2ms", "--inter-token-latency", "1ms", "--enable-kvcache")
	pf := filepath.Join(t.TempDir(), "rag.yaml")
	if err := os.WriteFile(pf, []byte("payloads:\n  rag:\n    max_tokens: 4\n    prefix_tokens: 256\n    prefix_groups: 4\n    messages:\n      - role: user\n        content: What does a GPU do?\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_PAYLOADS_FILE": pf, "PERF_PAYLOADS": "rag", "PERF_CONCURRENCY": "1",
		"PERF_ITERATIONS_PER_VU": "16", "PERF_WARMUP": "0"})
	if run.err != nil {
		t.Fatalf("suite failed: %v\n%s", run.err, run.output)
	}
	c := run.results(t).Cells[0]
	if c.Server == nil || c.Server.PrefixCacheHitRate == nil || c.Successes != 16 {
		t.Fatalf("%d ok, server view %+v", c.Successes, c.Server)
	}
	queried := c.InputTokensMean * 16
	perHit := *c.Server.PrefixCacheHitRate * queried / 12
	t.Logf("hit rate %.4f of %.0f queried tokens: %.1f tokens a repeat request", *c.Server.PrefixCacheHitRate, queried, perHit)
	if perHit < 256-16 || perHit > 256+32 {
		t.Errorf("each of 12 requests hit %.1f tokens, want its 256-token prefix in blocks of 16 (240 to 288)", perHit)
	}
}

// TestTraceAgainstLLMD: the sample trace replayed 4x faster against
// llm-d-inference-sim, as make perf runs it: every request succeeds with
// its prompt sized exactly through llm-d's /tokenize, at the trace's rate.
func TestTraceAgainstLLMD(t *testing.T) {
	url := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--time-to-first-token", "2ms", "--inter-token-latency", "1ms", "--max-num-seqs", "64", "--max-model-len", "4096")
	run := runSuite(t, map[string]string{"PERF_TARGET": url, "PERF_TRACE": filepath.Join(perfDir, "..", "fixtures", "traces", "sample.jsonl"),
		"PERF_TRACE_SPEEDUP": "4"})
	if run.err != nil {
		t.Fatalf("replay failed: %v\n%s", run.err, run.output)
	}
	res := run.results(t)
	c := res.Cells[0]
	t.Logf("%s: %d ok, queue p50/p99 %.2f/%.2f ms, achieved %.2f req/s", c.Name(), c.Successes, c.Queue.P50, c.Queue.P99, c.LoadCheck.AchievedRPS)
	if len(res.Cells) != 1 || c.Successes != 40 || c.PromptMismatches != 0 || res.Payloads[c.Payload].InputNote != "" ||
		c.LoadCheck.AchievedRPS < 0.98*c.Rate {
		t.Fatalf("replay: %d cells, %d of 40 ok, %d mismatched, note %q, achieved %v of %v", len(res.Cells), c.Successes, c.PromptMismatches,
			res.Payloads[c.Payload].InputNote, c.LoadCheck.AchievedRPS, c.Rate)
	}
}

// TestRegressionGate: a baseline of 4 repeats from a fast target; the same
// target with its ITL doubled fails the gate (median moved and p < alpha);
// an unchanged target passes; a single-repeat run is inconclusive, passing
// with a warning, and failing under PERF_GATE_REQUIRED=1.
func TestRegressionGate(t *testing.T) {
	fast := simtest.StartProcess(t, "-preset", "fast", "-ttft", "20ms", "-itl", "5ms")
	slow := simtest.StartProcess(t, "-preset", "fast", "-ttft", "20ms", "-itl", "10ms")
	four := map[string]string{"PERF_REPEATS": "4"}
	with := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}

	base := runSuite(t, with(four, "PERF_TARGET", fast))
	if base.err != nil {
		t.Fatalf("baseline run failed: %v\n%s", base.err, base.output)
	}
	baseline := filepath.Join(base.dir, report.FileResults)
	if c := base.results(t).Cells[0]; len(c.Repeats) != 4 || c.Stats["rps"].N != 4 {
		t.Fatalf("the baseline kept %d repeats", len(c.Repeats))
	}

	regressed := runSuite(t, with(four, "PERF_TARGET", slow, "PERF_BASELINE", baseline))
	if regressed.err == nil {
		t.Fatalf("the gate passed a doubled ITL:\n%s", regressed.output)
	}
	for _, c := range regressed.results(t).Cells {
		reasons := strings.Join(c.Reasons, "\n")
		if c.Verdict != results.Fail || c.Baseline == nil || !c.Baseline.Regressed || !strings.Contains(reasons, "baseline: itl_p50_ms") || !strings.Contains(reasons, "p = 0.014") {
			t.Errorf("%s: verdict %s, comparison %+v, reasons %v", c.Name(), c.Verdict, c.Baseline, c.Reasons)
		}
	}
	md, _ := os.ReadFile(filepath.Join(regressed.dir, report.FileMarkdown))
	if !bytes.Contains(md, []byte("**regressed**")) || !bytes.Contains(md, []byte("one-sided Mann–Whitney U test")) {
		t.Errorf("report.md does not show the regression and its method")
	}

	same := runSuite(t, with(four, "PERF_TARGET", fast, "PERF_BASELINE", baseline))
	if same.err != nil {
		t.Fatalf("an unchanged target failed the gate: %v\n%s", same.err, same.output)
	}
	for _, c := range same.results(t).Cells {
		if c.Verdict != results.Pass || c.Baseline == nil || c.Baseline.Inconclusive != "" {
			t.Errorf("%s: verdict %s, comparison %+v", c.Name(), c.Verdict, c.Baseline)
		}
	}

	// One repeat: the test can never reach alpha, and says so.
	once := runSuite(t, map[string]string{"PERF_TARGET": slow, "PERF_BASELINE": baseline})
	if once.err != nil {
		t.Fatalf("an inconclusive gate failed the run: %v\n%s", once.err, once.output)
	}
	junit, _ := os.ReadFile(filepath.Join(once.dir, report.FileJUnit))
	if c := once.results(t).Cells[0]; c.Verdict != results.Pass || c.Baseline == nil ||
		c.Baseline.Inconclusive != "inconclusive: needs PERF_REPEATS ≥ 4 on both sides (baseline 4, this run 1)" || !bytes.Contains(junit, []byte("gate_warning")) {
		t.Errorf("one repeat: verdict %s, comparison %+v", c.Verdict, c.Baseline)
	}
	required := runSuite(t, map[string]string{"PERF_TARGET": fast, "PERF_BASELINE": baseline, "PERF_GATE_REQUIRED": "1"})
	if required.err == nil || !strings.Contains(strings.Join(required.results(t).Cells[0].Reasons, " "), "PERF_GATE_REQUIRED: inconclusive") {
		t.Errorf("PERF_GATE_REQUIRED=1 passed an inconclusive gate:\n%s", required.output)
	}
}

// TestInterruptKeepsReports: SIGINT mid-sweep leaves valid reports for the
// finished cells, with the cut cell marked.
func TestInterruptKeepsReports(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
	defer cancel()
	target := newCellTarget(t)
	cmd, dir, out := command(t, ctx, map[string]string{"PERF_TARGET": target.URL, "PERF_CONCURRENCY": "1,2,4", "PERF_ITERATIONS_PER_VU": "40"})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The first cell is 40 requests at 1 VU; its report is written before
	// the next cell sends anything, so the 41st request is the second
	// cell's, with the first cell on disk.
	if !target.Served(41, time.Minute) {
		_ = cmd.Process.Kill()
		t.Fatalf("the second cell did not start within a minute:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	res, err := results.Load(filepath.Join(dir, report.FileResults))
	if err != nil {
		t.Fatalf("results.json after SIGINT: %v\n%s", err, out.String())
	}
	// The signal landed inside the second cell, which is kept, marked
	// interrupted; the third never ran.
	if !res.Interrupted || len(res.Cells) != 2 || res.Cells[0].Verdict != results.Pass || res.Cells[1].Verdict != results.Interrupted {
		t.Fatalf("after SIGINT: interrupted %v, cells %v\n%s", res.Interrupted, verdicts(res), out.String())
	}
	md, _ := os.ReadFile(filepath.Join(dir, report.FileMarkdown))
	if !bytes.Contains(md, []byte("**Interrupted.**")) {
		t.Error("report.md does not say the run was interrupted")
	}
	// A subtest: without xmllint only the schema check is skipped, and the
	// assertions above still report as passed.
	t.Run("junit.xml validates", func(t *testing.T) {
		xmllint, err := exec.LookPath("xmllint")
		if err != nil {
			simtest.Missing(t, "xmllint not installed (Debian package libxml2-utils): junit.xml schema check skipped")
		}
		if b, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join(perfDir, "..", "internal", "report", "testdata", "junit-10.xsd"),
			filepath.Join(dir, report.FileJUnit)).CombinedOutput(); err != nil {
			t.Errorf("junit.xml after SIGINT does not validate: %v\n%s", err, b)
		}
	})
}

// TestSignals: SIGTERM stops the sweep like SIGINT and leaves valid
// reports; a second signal ends the process at once. Nothing waits on the
// clock: the first signal goes once the target has served a cell's request
// (the payload's own text, which the suite's start-up probes never send),
// the second once the suite has said it received the first.
func TestSignals(t *testing.T) {
	started := func() (*exec.Cmd, string, *lockedBuffer, context.CancelFunc) {
		target := newCellTarget(t)
		ctx, cancel := context.WithTimeout(context.Background(), suiteTimeout)
		cmd, dir, out := command(t, ctx, map[string]string{"PERF_TARGET": target.URL, "PERF_CONCURRENCY": "1,2", "PERF_ITERATIONS_PER_VU": "200"})
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if !target.Served(1, time.Minute) {
			_ = cmd.Process.Kill()
			t.Fatalf("no cell's request reached the target within a minute:\n%s", out.String())
		}
		return cmd, dir, out, cancel
	}

	cmd, dir, out, cancel := started()
	defer cancel()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	res, err := results.Load(filepath.Join(dir, report.FileResults))
	if err != nil || !res.Interrupted || len(res.Cells) == 0 || res.Cells[len(res.Cells)-1].Verdict != results.Interrupted {
		t.Fatalf("after SIGTERM: %v, %+v\n%s", err, res, out.String())
	}

	cmd, _, out, cancel2 := started()
	defer cancel2()
	_ = cmd.Process.Signal(syscall.SIGINT)
	// Two signals, as a user pressing Ctrl-C twice: the second once Ginkgo
	// has taken the first (two sent back to back may arrive as one).
	if !out.WaitFor(interruptBanner, time.Minute) {
		_ = cmd.Process.Kill()
		t.Fatalf("the suite did not report the first SIGINT (%q):\n%s", interruptBanner, out.String())
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("a second SIGINT did not end the suite within 5 s:\n%s", out.String())
	}
}

// interruptBanner is what Ginkgo prints when it takes an interrupt.
const interruptBanner = "Interrupted by User"

// cellTarget is the fast simulator behind a handler that counts the
// requests of the suite's cells: those carrying the n16 payload's text,
// which the suite's start-up probes (readiness, tokenizer, pace) never send.
type cellTarget struct {
	*httptest.Server
	mu      sync.Mutex
	n       int
	waiters map[int]chan struct{}
}

func newCellTarget(t *testing.T) *cellTarget {
	t.Helper()
	preset, err := sim.Preset("fast")
	if err != nil {
		t.Fatal(err)
	}
	backend, err := sim.New(preset)
	if err != nil {
		t.Fatal(err)
	}
	c := &cellTarget{waiters: map[int]chan struct{}{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("Count to sixteen.")) {
			c.mu.Lock()
			c.n++
			if ch, ok := c.waiters[c.n]; ok {
				close(ch)
				delete(c.waiters, c.n)
			}
			c.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { c.Close(); _ = backend.Close() })
	return c
}

// Served reports whether the n-th cell request arrived within limit.
func (c *cellTarget) Served(n int, limit time.Duration) bool {
	c.mu.Lock()
	if c.n >= n {
		c.mu.Unlock()
		return true
	}
	ch, ok := c.waiters[n]
	if !ok {
		ch = make(chan struct{})
		c.waiters[n] = ch
	}
	c.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-time.After(limit):
		return false
	}
}

// lockedBuffer is a child's output, read while the child writes it.
type lockedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	grew chan struct{} // closed and replaced on every write
}

func newLockedBuffer() *lockedBuffer { return &lockedBuffer{grew: make(chan struct{})} }

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.grew)
	b.grew = make(chan struct{})
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// WaitFor reports whether s appears in the output within limit, waking on
// each write rather than polling.
func (b *lockedBuffer) WaitFor(s string, limit time.Duration) bool {
	deadline := time.After(limit)
	for {
		b.mu.Lock()
		found, grew := strings.Contains(b.buf.String(), s), b.grew
		b.mu.Unlock()
		if found {
			return true
		}
		select {
		case <-grew:
		case <-deadline:
			return false
		}
	}
}

func verdicts(r *results.Run) []string {
	var v []string
	for _, c := range r.Cells {
		v = append(v, c.Name()+": "+c.Verdict)
	}
	return v
}

// TestBadConfigurationFailsFast: a bad setting fails the suite before any
// request, naming the setting; a flag after -- wins over the variable.
func TestBadConfigurationFailsFast(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"PERF_CONCURRENCY": "0"}, nil, "PERF_CONCURRENCY"},
		{map[string]string{"PERF_PAYLOADS": "huge"}, nil, `PERF_PAYLOADS: payload: "huge": unknown payload`},
		{map[string]string{"PERF_TARGET": "llm.local"}, nil, "PERF_TARGET"},
		{map[string]string{"PERF_MAX_ERROR_RATE": "2"}, nil, "PERF_MAX_ERROR_RATE"},
		{nil, []string{"-perf.concurrency=1,-4"}, "-perf.concurrency"},
		{map[string]string{"PERF_BASELINE": "/nonexistent/results.json"}, nil, "PERF_BASELINE"},
		{map[string]string{"PERF_GPU_INTERVAL": "10ms"}, nil, "PERF_GPU_INTERVAL"},
	} {
		run := runSuite(t, tc.env, tc.args...)
		if run.err == nil || !strings.Contains(run.output, tc.want) {
			t.Errorf("%v %v: err %v, output lacks %q:\n%s", tc.env, tc.args, run.err, tc.want, run.output)
		}
	}
	// A GPU runner's setting on a machine without one fails before any cell.
	if _, err := exec.LookPath("nvidia-smi"); err != nil {
		run := runSuite(t, map[string]string{"PERF_REQUIRE_GPU": "1"})
		if run.err == nil || !strings.Contains(run.output, "PERF_REQUIRE_GPU=true") || !strings.Contains(run.output, "no GPU") {
			t.Errorf("PERF_REQUIRE_GPU=1 without a GPU: err %v\n%s", run.err, run.output)
		}
	}
	// The flag wins: PERF_CONCURRENCY says 1,4 but -perf.concurrency=2.
	run := runSuite(t, nil, "-perf.concurrency=2")
	if run.err != nil {
		t.Fatalf("%v\n%s", run.err, run.output)
	}
	if res := run.results(t); len(res.Cells) != 1 || res.Cells[0].Concurrency != 2 {
		t.Errorf("flag did not override the variable: %v", verdicts(res))
	}
}
