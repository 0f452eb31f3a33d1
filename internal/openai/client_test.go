package openai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llm-platform/harness/internal/accuracy"
	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var prompt = []openai.Message{{Role: "user", Content: "Say something."}}

func newClient(t *testing.T, cfg openai.Config) *openai.Client {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = sim.DefaultModel
	}
	if cfg.Messages == nil {
		cfg.Messages = prompt
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = 8
	}
	c, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func do(c *openai.Client) record.Record {
	var rec record.Record
	c.Do(context.Background(), &rec)
	return rec
}

// TestStreamMeasuresDesignMetrics: the record's counts are exact, and its
// timings match what the simulator, in this process, actually delivered:
// the handler's own write times (sim.Delivery), not its configured
// latencies, which a busy machine does not keep. The check bounds the
// harness's error, request by request, at the median (package accuracy),
// under the attempt policy; and the same samples with the first token
// stamped 3 ms late must fail it, or the check could not see an error of
// that size.
func TestStreamMeasuresDesignMetrics(t *testing.T) {
	const ttft, itl, tokens, requests = 20 * time.Millisecond, 5 * time.Millisecond, 8, 15
	var mu sync.Mutex
	var delivered []sim.Delivery
	url := simtest.Start(t, sim.Config{TTFT: ttft, ITL: itl, Delivered: func(d sim.Delivery) {
		mu.Lock()
		defer mu.Unlock()
		delivered = append(delivered, d)
	}})
	c := newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: url}, MaxTokens: tokens})
	clock.Attempts(t, clock.DefaultAttempts, func(int) []string {
		mu.Lock()
		delivered = nil
		mu.Unlock()
		var h, s accuracy.Samples
		var tpot, serverTPOT []time.Duration
		for range requests {
			rec := do(c)
			if !rec.Succeeded() {
				t.Fatalf("request failed: %s %s", rec.Class, rec.Err)
			}
			if rec.Status != 200 || rec.OutputTokens != tokens || rec.ContentChunks != tokens || rec.UsageMismatch {
				t.Fatalf("status %d, tokens %d, content chunks %d, mismatch %v; want 200, %d, %d, false",
					rec.Status, rec.OutputTokens, rec.ContentChunks, rec.UsageMismatch, tokens, tokens)
			}
			// The role chunk comes with the first token, as vLLM sends it.
			if rec.Chunks != tokens+1 || len(rec.ChunkGaps) != tokens {
				t.Fatalf("chunks %d, gaps %d; want %d and %d", rec.Chunks, len(rec.ChunkGaps), tokens+1, tokens)
			}
			if rec.PromptTokens <= 0 {
				t.Fatalf("prompt tokens %d, want > 0 from usage", rec.PromptTokens)
			}
			if rec.End.Before(rec.LastToken) {
				t.Fatal("End before LastToken")
			}
			h.TTFT, h.E2E, h.ITL = append(h.TTFT, rec.TTFT()), append(h.E2E, rec.E2E()), append(h.ITL, rec.ChunkGaps...)
			p, ok := rec.TPOT()
			if !ok {
				t.Fatal("no TPOT for a multi-token response")
			}
			tpot = append(tpot, p)
		}
		mu.Lock()
		got := slices.Clone(delivered)
		mu.Unlock()
		if len(got) != requests {
			t.Fatalf("the simulator delivered %d responses, want %d", len(got), requests)
		}
		for _, d := range got {
			if len(d.Chunks) != tokens+1 {
				t.Fatalf("the simulator wrote %d choices events, want %d", len(d.Chunks), tokens+1)
			}
			first, last := d.Chunks[0].Sub(d.Received), d.Chunks[len(d.Chunks)-1].Sub(d.Received)
			s.TTFT, s.E2E = append(s.TTFT, first), append(s.E2E, last)
			for i := 1; i < len(d.Chunks); i++ {
				s.ITL = append(s.ITL, d.Chunks[i].Sub(d.Chunks[i-1]))
			}
			serverTPOT = append(serverTPOT, (last-first)/(tokens-1))
		}
		// Paired, request by request (and gap by gap): the simulator's own
		// timer noise, which a busy machine makes milliseconds wide, cancels.
		a := accuracy.DefaultAllowance
		cs := []accuracy.Check{accuracy.ComparePaired("TTFT", a, h.TTFT, s.TTFT), accuracy.ComparePaired("ITL", a, h.ITL, s.ITL),
			accuracy.ComparePaired("E2E", a, h.E2E, s.E2E), accuracy.ComparePaired("TPOT", a, tpot, serverTPOT)}
		for _, c := range cs {
			t.Log(c)
		}
		problems := accuracy.Problems(cs...)
		if late := cs[0].Late(accuracy.InjectedLate); late.OK() {
			problems = append(problems, fmt.Sprintf("the check cannot see a first token stamped %v late: %v", accuracy.InjectedLate, late))
		}
		return problems
	})
}

func TestNoStream(t *testing.T) {
	url := simtest.Start(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: time.Millisecond})
	rec := do(newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: url}, NoStream: true, MaxTokens: 12}))
	if !rec.Succeeded() || rec.OutputTokens != 12 || rec.TTFT() != rec.E2E() || rec.E2E() < 16*time.Millisecond {
		t.Fatalf("got %+v", rec)
	}
	for fault, class := range map[sim.Fault]record.Class{
		sim.FaultDisconnect: record.ConnReset,
		sim.FaultMalformed:  record.BadEvent,
		sim.FaultStall:      record.Timeout,
		sim.Fault503:        record.HTTP5xx,
	} {
		url := simtest.Start(t, sim.Config{Faults: map[sim.Fault]float64{fault: 1}})
		rec := do(newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: url}, NoStream: true, IdleTimeout: 200 * time.Millisecond}))
		if rec.Class != class {
			t.Errorf("no-stream %s: class %q (%s), want %q", fault, rec.Class, rec.Err, class)
		}
	}
}

// TestRequestOnTheWire checks what a vLLM server receives: the body fields
// docs/metrics.md names, the Host override and the bearer token.
func TestRequestOnTheWire(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		b, _ := json.Marshal(body)
		got <- fmt.Sprintf("%s %s host=%s auth=%s accept=%s body=%s", r.Method, r.URL.Path, r.Host, r.Header.Get("Authorization"), r.Header.Get("Accept"), b)
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n")
	}))
	defer srv.Close()
	c := newClient(t, openai.Config{
		Endpoint: openai.Endpoint{BaseURL: srv.URL + "/", Host: "llm.local", APIKey: "s3cret"}, Model: "m", MaxTokens: 64,
	})
	if rec := do(c); !rec.Succeeded() || rec.OutputTokens != 1 {
		t.Fatalf("got %+v", rec)
	}
	want := `POST /v1/chat/completions host=llm.local auth=Bearer s3cret accept=text/event-stream body={"ignore_eos":true,"max_tokens":64,"messages":[{"content":"Say something.","role":"user"}],"model":"m","stream":true,"stream_options":{"include_usage":true}}`
	if g := <-got; g != want {
		t.Errorf("server saw\n%s\nwant\n%s", g, want)
	}
}

// TestFaultClasses drives every simulator fault and checks the class.
func TestFaultClasses(t *testing.T) {
	for _, tc := range []struct {
		fault  sim.Fault
		class  record.Class
		status int
	}{
		{sim.Fault429, record.HTTP429, 429},
		{sim.Fault500, record.HTTP5xx, 500},
		{sim.Fault503, record.HTTP5xx, 503},
		{sim.FaultDisconnect, record.ConnReset, 200},
		{sim.FaultHang, record.Timeout, 0},
		{sim.FaultStall, record.Timeout, 200},
		{sim.FaultMalformed, record.BadEvent, 200},
		{sim.FaultNoDone, record.StreamTruncated, 200},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			url := simtest.Start(t, sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, Faults: map[sim.Fault]float64{tc.fault: 1}})
			c := newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: url}, IdleTimeout: 200 * time.Millisecond, Timeout: 5 * time.Second})
			rec := do(c)
			if rec.Class != tc.class || rec.Status != tc.status {
				t.Errorf("class %q status %d (%s), want %q %d", rec.Class, rec.Status, rec.Err, tc.class, tc.status)
			}
			if rec.End.IsZero() || rec.End.Before(rec.Start) {
				t.Errorf("start %v end %v", rec.Start, rec.End)
			}
		})
	}
}

// TestClientAbort: our deadline ends a stream that is still arriving.
func TestClientAbort(t *testing.T) {
	url := simtest.Start(t, sim.Config{TTFT: time.Millisecond, ITL: 10 * time.Millisecond})
	c := newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: url}, MaxTokens: 100, Timeout: 100 * time.Millisecond})
	rec := do(c)
	if rec.Class != record.ClientAbort || rec.Chunks == 0 {
		t.Fatalf("class %q after %d chunks (%s), want client_abort mid-stream", rec.Class, rec.Chunks, rec.Err)
	}
	// The caller cancelling is an abort too.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	var r2 record.Record
	c.Do(ctx, &r2)
	if r2.Class != record.ClientAbort {
		t.Fatalf("cancelled: class %q (%s)", r2.Class, r2.Err)
	}
}

func TestTransportClasses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	handlers := map[string]http.HandlerFunc{
		"not found": func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		"redirect":  func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) },
		"no choices": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"completion_tokens\":0}}\n\ndata: [DONE]\n\n")
		},
		"closed before headers": func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		},
		"truncated chunk": func(w http.ResponseWriter, r *http.Request) {
			// Declares a length it never sends: the body ends early.
			w.Header().Set("Content-Length", "1000")
			fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n")
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		},
		"usage disagrees": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"ab\"}}]}\n\n"+
				"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n")
		},
	}
	urls := map[string]string{"refused": closed}
	for name, h := range handlers {
		srv := httptest.NewServer(h)
		defer srv.Close()
		urls[name] = srv.URL
	}
	for _, tc := range []struct {
		name   string
		class  record.Class
		status int
	}{
		{"refused", record.ConnRefused, 0},
		{"not found", record.HTTP4xx, 404},
		{"redirect", record.Other, 302},
		{"no choices", record.BadEvent, 200},
		{"closed before headers", record.ConnReset, 0},
		{"truncated chunk", record.StreamTruncated, 200},
		{"usage disagrees", record.OK, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: urls[tc.name]}}))
			if rec.Class != tc.class || rec.Status != tc.status {
				t.Errorf("class %q status %d (%s), want %q %d", rec.Class, rec.Status, rec.Err, tc.class, tc.status)
			}
			if tc.name == "usage disagrees" && (!rec.UsageMismatch || rec.OutputTokens != 2 || rec.ContentChunks != 1) {
				t.Errorf("mismatch %v tokens %d content %d; want true, 2 (usage wins), 1", rec.UsageMismatch, rec.OutputTokens, rec.ContentChunks)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := openai.Config{Endpoint: openai.Endpoint{BaseURL: "http://127.0.0.1:8000"}, Model: "m", Messages: prompt, MaxTokens: 1}
	for _, tc := range []struct {
		field string
		edit  func(*openai.Config)
	}{
		{"base_url", func(c *openai.Config) { c.BaseURL = "" }},
		{"base_url", func(c *openai.Config) { c.BaseURL = "127.0.0.1:8000" }},
		{"base_url", func(c *openai.Config) { c.BaseURL = "ftp://x" }},
		{"base_url", func(c *openai.Config) { c.BaseURL = "http://[::1" }},
		{"base_url", func(c *openai.Config) { c.BaseURL = "http:///v1" }},
		{"model", func(c *openai.Config) { c.Model = "" }},
		{"messages", func(c *openai.Config) { c.Messages = nil }},
		{"max_tokens", func(c *openai.Config) { c.MaxTokens = 0 }},
		{"timeout", func(c *openai.Config) { c.Timeout = -1 }},
		{"idle_timeout", func(c *openai.Config) { c.IdleTimeout = -1 }},
		{"max_conns", func(c *openai.Config) { c.MaxConns = -1 }},
	} {
		c := ok
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%s: err = %v, want one naming %q", tc.field, err, tc.field)
		}
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestListModels(t *testing.T) {
	url := simtest.Start(t, sim.Config{Model: "tiny"})
	ids, err := openai.ListModels(context.Background(), &http.Client{}, openai.Endpoint{BaseURL: url})
	if err != nil || len(ids) != 1 || ids[0] != "tiny" {
		t.Fatalf("got %v, %v", ids, err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"data":[]}`) }))
	defer srv.Close()
	if _, err := openai.ListModels(context.Background(), &http.Client{}, openai.Endpoint{BaseURL: srv.URL}); err == nil {
		t.Error("empty model list: want an error")
	}
}

// TestContextOverflow: a request longer than the model's window is its own
// class, from the embedded simulator's answer (vLLM's status and
// sentence) and from llm-d-inference-sim's (--max-model-len: a 400 to a
// whole request, an error event in a 200 stream to a streamed one); a
// request that fits is not; and another 400 stays http_4xx.
func TestContextOverflow(t *testing.T) {
	long := []openai.Message{{Role: "user", Content: strings.Repeat("word ", 400)}} // over 128 tokens by any count
	targets := map[string]string{"embedded simulator": simtest.Start(t, sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond, MaxModelLen: 128})}
	if os.Getenv("LLMD_INFERENCE_SIM") != "" || os.Getenv("HARNESS_REQUIRE_TOOLS") == "1" {
		targets["llm-d-inference-sim"] = simtest.StartLLMD(t, "--model", sim.DefaultModel, "--max-model-len", "128", "--time-to-first-token", "1ms")
	}
	for name, url := range targets {
		for _, tc := range []struct {
			what      string
			messages  []openai.Message
			maxTokens int
			class     record.Class
		}{
			{"fits", prompt, 8, record.OK},
			{"prompt over the window", long, 8, record.ContextOverflow},
			{"output over the window", prompt, 200, record.ContextOverflow},
		} {
			for _, noStream := range []bool{false, true} {
				rec := do(newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: url}, Messages: tc.messages, MaxTokens: tc.maxTokens, NoStream: noStream}))
				if rec.Class != tc.class || (tc.class != record.OK && rec.Status != 400) {
					t.Errorf("%s, %s, streamed %v: class %q status %d (%v), want %q", name, tc.what, !noStream, rec.Class, rec.Status, rec.Err, tc.class)
				}
			}
		}
	}
	url := simtest.Start(t, sim.Config{})
	if rec := do(newClient(t, openai.Config{Endpoint: openai.Endpoint{BaseURL: url}, Model: "gpt-9"})); rec.Class != record.HTTP4xx {
		t.Errorf("an unknown model: class %q, want http_4xx", rec.Class)
	}
}
