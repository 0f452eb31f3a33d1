package sim_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var client = &http.Client{Timeout: 10 * time.Second}

func post(t *testing.T, url, path, body string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const chat = `{"model":"TinyLlama/TinyLlama-1.1B-Chat-v1.0","messages":[{"role":"user","content":"hello there"}],"max_tokens":3`

func TestEndpoints(t *testing.T) {
	url := simtest.Start(t, sim.Config{})
	if code, _ := get(t, url+"/health"); code != 200 {
		t.Errorf("/health: %d", code)
	}
	if code, body := get(t, url+"/v1/models"); code != 200 || !strings.Contains(body, `"id":"TinyLlama/TinyLlama-1.1B-Chat-v1.0"`) {
		t.Errorf("/v1/models: %d %s", code, body)
	}

	resp, body := post(t, url, "/v1/chat/completions", chat+`,"stream":true,"stream_options":{"include_usage":true}}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("stream content type %q", ct)
	}
	events := strings.Split(strings.TrimSpace(body), "\n\n")
	// role chunk, 3 tokens, usage chunk, [DONE]
	if len(events) != 6 || events[5] != "data: [DONE]" || !strings.Contains(events[0], `"role":"assistant"`) ||
		!strings.Contains(events[3], `"finish_reason":"length"`) || !strings.Contains(events[4], `"choices":[],"usage":{"prompt_tokens":`) ||
		!strings.Contains(events[4], `"completion_tokens":3`) {
		t.Errorf("chat stream:\n%s", body)
	}

	_, body = post(t, url, "/v1/chat/completions", chat+`}`)
	if !strings.Contains(body, `"object":"chat.completion"`) || !strings.Contains(body, `"message":{"role":"assistant","content":"The quick brown "}`) ||
		!strings.Contains(body, `"completion_tokens":3`) {
		t.Errorf("chat whole: %s", body)
	}

	_, body = post(t, url, "/v1/completions", `{"prompt":"hi","max_tokens":2,"stream":true}`)
	events = strings.Split(strings.TrimSpace(body), "\n\n")
	if len(events) != 3 || !strings.Contains(events[0], `"text":"The "`) || strings.Contains(body, "usage") {
		t.Errorf("completions stream (no usage asked):\n%s", body)
	}
	_, body = post(t, url, "/v1/completions", `{"prompt":"hi","max_tokens":2}`)
	if !strings.Contains(body, `"object":"text_completion"`) || !strings.Contains(body, `"text":"The quick "`) {
		t.Errorf("completions whole: %s", body)
	}
}

func TestBadRequests(t *testing.T) {
	url := simtest.Start(t, sim.Config{})
	for _, tc := range []struct {
		name, body string
		hdr        []string
		code       int
	}{
		{"bad json", `{"messages":`, nil, 400},
		{"no messages", `{"messages":[]}`, nil, 400},
		{"zero max_tokens", `{"messages":[{"role":"user","content":"x"}],"max_tokens":0}`, nil, 400},
		{"unknown model", `{"model":"gpt-9","messages":[{"role":"user","content":"x"}]}`, nil, 404},
		{"unknown fault", chat + `}`, []string{sim.FaultHeader, "meteor"}, 400},
		{"too large", `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 9<<20) + `"}]}`, nil, 413},
		{"header fault", chat + `}`, []string{sim.FaultHeader, "503"}, 503},
	} {
		resp, body := post(t, url, "/v1/chat/completions", tc.body, tc.hdr...)
		if resp.StatusCode != tc.code || !strings.Contains(body, `"object":"error"`) {
			t.Errorf("%s: %d %s, want %d and an error object", tc.name, resp.StatusCode, body, tc.code)
		}
	}
}

// scrape returns the value of the sample whose line starts with name.
func scrape(t *testing.T, url, name string) float64 {
	t.Helper()
	_, body := get(t, url+"/metrics")
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("metric %s not exposed", name)
	return 0
}

// TestQueueAndMetrics: with max_num_seqs 1, concurrent requests wait (and
// vllm:num_requests_waiting says so), run one after another, and the
// counters add up afterwards.
func TestQueueAndMetrics(t *testing.T) {
	const n, tokens = 3, 5
	url := simtest.Start(t, sim.Config{TTFT: 20 * time.Millisecond, ITL: 10 * time.Millisecond, MaxNumSeqs: 1})
	var wg sync.WaitGroup
	ends := make(chan time.Time, n)
	begin := time.Now()
	for range n {
		wg.Go(func() {
			post(t, url, "/v1/chat/completions", fmt.Sprintf(`{"messages":[{"role":"user","content":"abcdefgh"}],"max_tokens":%d}`, tokens))
			ends <- time.Now()
		})
	}
	// Wait (by polling the server's own gauge, not sleeping) for the queue.
	deadline := time.Now().Add(5 * time.Second)
	for scrape(t, url, "vllm:num_requests_waiting") != n-1 {
		if time.Now().After(deadline) {
			t.Fatal("never saw 2 requests waiting")
		}
	}
	if got := scrape(t, url, "vllm:num_requests_running"); got != 1 {
		t.Errorf("running = %v, want 1", got)
	}
	wg.Wait()
	close(ends)
	var last time.Time
	for e := range ends {
		if e.After(last) {
			last = e
		}
	}
	// Serial: 3 x (20 ms + 4 x 10 ms) = 180 ms at least.
	if took := last.Sub(begin); took < 180*time.Millisecond {
		t.Errorf("3 requests through 1 slot took %v, want >= 180ms", took)
	}
	for name, want := range map[string]float64{
		"vllm:num_requests_waiting":              0,
		"vllm:num_requests_running":              0,
		"vllm:request_success_total":             n,
		"vllm:generation_tokens_total":           n * tokens,
		"vllm:prompt_tokens_total":               n * 6, // 8 bytes / 4 + 4 template tokens
		"vllm:time_to_first_token_seconds_count": n,
		"vllm:e2e_request_latency_seconds_count": n,
	} {
		if got := scrape(t, url, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Queueing shows in vLLM's TTFT histogram: 20 ms, 60+20 ms, 120+20 ms
	// (240 ms, less the few ms the later requests arrived after the first);
	// without the queue it would be 3 x 20 ms.
	if sum := scrape(t, url, "vllm:time_to_first_token_seconds_sum"); sum < 0.2 {
		t.Errorf("TTFT sum %vs: queue wait not counted", sum)
	}
}

// TestBatchSlowdown: two running sequences stretch each other's ITL by
// half. Read off the simulator's own write times (sim.Delivery), not a
// client's clock: together, the median gap is 1.5x the alone gap of the
// same run (1.35-1.65), so a busy machine that delays both alike cannot
// fail it, and a slowdown not applied (1x) or applied alone too can. (A
// gap can be a little under 10 ms: the schedule is absolute, so a late
// write is followed by a shorter gap.)
// Under the attempt policy.
func TestBatchSlowdown(t *testing.T) {
	var mu sync.Mutex
	var deliveries []sim.Delivery
	url := simtest.Start(t, sim.Config{ITL: 10 * time.Millisecond, BatchSlowdown: 0.5, Delivered: func(d sim.Delivery) {
		mu.Lock()
		defer mu.Unlock()
		deliveries = append(deliveries, d)
	}})
	run := func(n int) []time.Duration {
		mu.Lock()
		deliveries = nil
		mu.Unlock()
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				post(t, url, "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}],"max_tokens":11,"stream":true}`)
			})
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		var gaps []time.Duration
		for _, d := range deliveries {
			// From the first content token on (the role chunk shares its write);
			// the first-admitted sequence's first gap ran alone: skip it.
			for i := 3; i < len(d.Chunks); i++ {
				gaps = append(gaps, d.Chunks[i].Sub(d.Chunks[i-1]))
			}
		}
		slices.Sort(gaps)
		return gaps
	}
	clock.Attempts(t, clock.DefaultAttempts, func(int) []string {
		alone, together := run(1), run(2)
		if len(alone) != 9 || len(together) != 18 {
			t.Fatalf("%d gaps alone, %d together; want 9 and 18", len(alone), len(together))
		}
		a, b := alone[len(alone)/2], together[len(together)/2]
		ratio := float64(b) / float64(a)
		t.Logf("median gap alone %v, together %v: x%.2f", a, b, ratio)
		if ratio < 1.35 || ratio > 1.65 {
			return []string{fmt.Sprintf("median gap alone %v, together %v (x%.2f); want together 1.5x alone", a, b, ratio)}
		}
		return nil
	})
}

func TestHangEndsWhenClientLeaves(t *testing.T) {
	url := simtest.Start(t, sim.Config{HangLimit: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v1/chat/completions", strings.NewReader(chat+`}`))
	req.Header.Set(sim.FaultHeader, "hang")
	if _, err := client.Do(req); err == nil {
		t.Fatal("hang answered")
	}
	// Close (in Cleanup) returning promptly and goleak passing prove the
	// handler left when the client did.
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		cfg   sim.Config
	}{
		{"ttft", sim.Config{TTFT: -1}},
		{"prefill_per_token", sim.Config{PrefillPerToken: -1}},
		{"itl", sim.Config{ITL: -1}},
		{"max_num_seqs", sim.Config{MaxNumSeqs: -1}},
		{"batch_slowdown", sim.Config{BatchSlowdown: -1}},
		{"jitter", sim.Config{Jitter: 1}},
		{"prefill_slowdown", sim.Config{PrefillSlowdown: -1}},
		{"decode_slowdown", sim.Config{DecodeSlowdown: -1}},
		{"restart_cv", sim.Config{RestartCV: 0.5}},
		{"default_max_tokens", sim.Config{DefaultMaxTokens: -1}},
		{"faults", sim.Config{Faults: map[sim.Fault]float64{"meteor": 0.1}}},
		{"faults", sim.Config{Faults: map[sim.Fault]float64{sim.Fault429: 2}}},
		{"faults", sim.Config{Faults: map[sim.Fault]float64{sim.Fault429: 0.6, sim.Fault500: 0.6}}},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%+v: err = %v, want one naming %s", tc.cfg, err, tc.field)
		}
	}
	for name, p := range sim.Presets {
		if err := p.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	if _, err := sim.Preset("h100"); err == nil || !strings.Contains(err.Error(), "fast, rtx3060-tinyllama") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestParseFaults(t *testing.T) {
	f, err := sim.ParseFaults(" 429=0.01, stall=0.5 ")
	if err != nil || len(f) != 2 || f[sim.Fault429] != 0.01 || f[sim.FaultStall] != 0.5 {
		t.Fatalf("got %v, %v", f, err)
	}
	for _, bad := range []string{"429", "429=x", "meteor=0.1"} {
		if _, err := sim.ParseFaults(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	if f, err := sim.ParseFaults(""); err != nil || len(f) != 0 {
		t.Errorf("empty: %v %v", f, err)
	}
}

// TestFaultRates: rate-based faults hit about the configured share.
func TestFaultRates(t *testing.T) {
	url := simtest.Start(t, sim.Config{Faults: map[sim.Fault]float64{sim.Fault429: 0.3, sim.Fault500: 0.2}, Seed: 3})
	codes := map[int]int{}
	for range 400 {
		resp, _ := post(t, url, "/v1/chat/completions", chat+`}`)
		codes[resp.StatusCode]++
	}
	// Binomial sd at n=400 is about 9 and 8: allow 4 sd.
	if codes[429] < 120-36 || codes[429] > 120+36 || codes[500] < 80-32 || codes[500] > 80+32 || codes[200]+codes[429]+codes[500] != 400 {
		t.Errorf("status counts %v, want about 120 x 429, 80 x 500, rest 200", codes)
	}
}

// TestKVCachePressure: a KV cache of 40 tokens cannot hold 4 sequences of
// 6 prompt and 16 output tokens (88 tokens at their ends): sequences are
// preempted and recomputed, every request still completes with all its
// tokens, and the counters say so. With room for them all, nothing is
// preempted.
func TestKVCachePressure(t *testing.T) {
	const n, tokens = 4, 16
	body := fmt.Sprintf(`{"messages":[{"role":"user","content":"abcdefgh"}],"max_tokens":%d}`, tokens)
	run := func(kv int) string {
		url := simtest.Start(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: 2 * time.Millisecond, KVCacheTokens: kv})
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				resp, out := post(t, url, "/v1/chat/completions", body)
				if resp.StatusCode != http.StatusOK || !strings.Contains(out, fmt.Sprintf(`"completion_tokens":%d`, tokens)) {
					t.Errorf("status %d: %s", resp.StatusCode, out)
				}
			})
		}
		wg.Wait()
		return url
	}
	tight := run(40)
	if p := scrape(t, tight, "vllm:num_preemptions_total"); p < 1 {
		t.Errorf("40 tokens of KV cache for 4 x 22: %v preemptions", p)
	}
	if u := scrape(t, tight, "vllm:kv_cache_usage_perc"); u != 0 {
		t.Errorf("KV cache usage %v after every request ended, want 0", u)
	}
	if c := scrape(t, tight, "vllm:request_queue_time_seconds_count"); c != n {
		t.Errorf("queue time observed %v times, want %d", c, n)
	}
	roomy := run(1000)
	if p := scrape(t, roomy, "vllm:num_preemptions_total"); p != 0 {
		t.Errorf("room for all: %v preemptions", p)
	}
	// A request that could never fit is refused, as vLLM refuses it.
	url := simtest.Start(t, sim.Config{KVCacheTokens: 10})
	if resp, out := post(t, url, "/v1/chat/completions", body); resp.StatusCode != http.StatusBadRequest || !strings.Contains(out, "exceed the KV cache") {
		t.Errorf("a request larger than the cache: %d %s", resp.StatusCode, out)
	}
}

// TestContextWindow: a request whose prompt plus max_tokens exceeds the
// window is refused as vLLM refuses it (status 400, its error object and
// sentence); one that fits is served; /v1/models and /tokenize report the
// window.
func TestContextWindow(t *testing.T) {
	url := simtest.Start(t, sim.Config{MaxModelLen: 64})
	msg := `{"messages":[{"role":"user","content":"Say something."}],"max_tokens":%d}` // 4 + 4 prompt tokens
	resp, body := post(t, url, "/v1/chat/completions", fmt.Sprintf(msg, 100))
	want := `{"object":"error","message":"This model's maximum context length is 64 tokens. However, you requested 108 tokens (8 in the messages, 100 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}`
	if resp.StatusCode != 400 || body != want {
		t.Errorf("over the window: %d %s\nwant 400 %s", resp.StatusCode, body, want)
	}
	if resp, body := post(t, url, "/v1/chat/completions", fmt.Sprintf(msg, 56)); resp.StatusCode != 200 {
		t.Errorf("exactly the window: %d %s", resp.StatusCode, body)
	}
	if _, body := get(t, url+"/v1/models"); !strings.Contains(body, `"max_model_len":64`) {
		t.Errorf("/v1/models: %s", body)
	}
	if err := (sim.Config{MaxModelLen: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "max_model_len") {
		t.Errorf("a negative window: %v", err)
	}
}
