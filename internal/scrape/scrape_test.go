package scrape_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/scrape"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// TestDeltaAgainstSimulator: the counters' deltas are exact, and the
// latency means the delta derives from the server's histograms are the
// ones the server itself delivered (its handler's write times, in this
// process), within a millisecond: they are read off the same clock a few
// microseconds apart. The configured 20 ms is only a floor (the simulator
// is never early); a busy machine delivers later.
func TestDeltaAgainstSimulator(t *testing.T) {
	var mu sync.Mutex
	var ttftSum, e2eSum time.Duration
	url := simtest.Start(t, sim.Config{TTFT: 20 * time.Millisecond, ITL: time.Millisecond, Delivered: func(d sim.Delivery) {
		mu.Lock()
		defer mu.Unlock()
		ttftSum += d.Chunks[0].Sub(d.Received)
		e2eSum += d.Chunks[len(d.Chunks)-1].Sub(d.Received)
	}})
	e := openai.Endpoint{BaseURL: url}
	before, err := scrape.Take(context.Background(), http.DefaultClient, e)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		resp, err := http.Post(url+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"messages":[{"role":"user","content":"abcdefgh"}],"max_tokens":5,"stream":true}`))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	after, err := scrape.Take(context.Background(), http.DefaultClient, e)
	if err != nil {
		t.Fatal(err)
	}
	d := after.Since(before)
	if !is(d.Requests, 3) || !is(d.GenerationTokens, 15) || !is(d.PromptTokens, 18) || !is(d.RunningAfter, 0) {
		t.Errorf("delta %s", show(d))
	}
	mu.Lock()
	ttft, e2e := float64(ttftSum.Microseconds())/3e3, float64(e2eSum.Microseconds())/3e3
	mu.Unlock()
	near := func(p *float64, v float64) bool { return p != nil && *p >= v-1 && *p <= v+1 }
	if !near(d.TTFTMeanMs, ttft) || !near(d.E2EMeanMs, e2e) || *d.TTFTMeanMs < 20 || *d.E2EMeanMs < 24 {
		t.Errorf("server means: %s; delivered: TTFT %.3f ms, E2E %.3f ms (each at least the configured 20 and 24)", show(d), ttft, e2e)
	}
}

func is(p *float64, v float64) bool { return p != nil && *p == v }

// show renders a Delta with its nulls.
func show(d scrape.Delta) string {
	b, _ := json.Marshal(d)
	return string(b)
}

func TestCounterReset(t *testing.T) {
	before := scrape.Snapshot{Successes: scrape.Of(100), GenerationTokens: scrape.Of(6400)}
	after := scrape.Snapshot{Successes: scrape.Of(7), GenerationTokens: scrape.Of(448)}
	if d := after.Since(before); !is(d.Requests, 7) || !is(d.GenerationTokens, 448) {
		t.Errorf("after a restart: %s", show(d))
	}
}

// A metric the target does not expose is null, never 0; vLLM's counter
// names with _total and the bare names some simulators use both count.
func TestUnexposedIsNull(t *testing.T) {
	const only = "# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running 2\n" +
		"# TYPE vllm:request_success counter\nvllm:request_success{finished_reason=\"length\"} %d\n"
	before, err := scrape.Parse(strings.NewReader(fmt.Sprintf(only, 5)))
	if err != nil {
		t.Fatal(err)
	}
	after, err := scrape.Parse(strings.NewReader(fmt.Sprintf(only, 9)))
	if err != nil {
		t.Fatal(err)
	}
	d := after.Since(before)
	if !is(d.Requests, 4) || !is(d.RunningAfter, 2) || d.GenerationTokens != nil || d.PromptTokens != nil ||
		d.TTFTMeanMs != nil || d.E2EMeanMs != nil || d.WaitingAfter != nil {
		t.Fatalf("delta %s", show(d))
	}
	if got := show(d); !strings.Contains(got, `"generation_tokens":null`) || !strings.Contains(got, `"requests":4`) {
		t.Errorf("JSON %s", got)
	}
}

func TestBadEndpoints(t *testing.T) {
	for name, tc := range map[string]struct {
		h    http.HandlerFunc
		want error
	}{
		"404":      {func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, nil},
		"garbage":  {func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "{not: prometheus}\n") }, nil},
		"not vllm": {func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "# TYPE up gauge\nup 1\n") }, scrape.ErrNoVLLMMetrics},
		"truncated": {func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "vllm:num_requests_running{model_name=\"m")
		}, nil},
	} {
		srv := httptest.NewServer(tc.h)
		_, err := scrape.Take(context.Background(), http.DefaultClient, openai.Endpoint{BaseURL: srv.URL})
		srv.Close()
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

// FuzzParse: any exposition parses or fails with an error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name=\"m\"} 3\n"))
	f.Add([]byte("# TYPE vllm:time_to_first_token_seconds histogram\nvllm:time_to_first_token_seconds_bucket{le=\"+Inf\"} 2\nvllm:time_to_first_token_seconds_sum 0.1\nvllm:time_to_first_token_seconds_count 2\n"))
	f.Add([]byte("up 1\n"))
	f.Add([]byte("vllm:x{"))
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := scrape.Parse(bytes.NewReader(in))
		if err != nil {
			return
		}
		_ = s.Since(scrape.Snapshot{})
	})
}
