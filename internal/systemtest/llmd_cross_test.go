package systemtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/accuracy"
	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// TestAgainstLLMDInferenceSim cross-checks the engine against a vLLM
// simulator we did not write: exact token counts, and the engine's timing
// error against a raw-socket reference interleaved request by request
// (package accuracy), under the attempt policy. Its configured 50 ms TTFT
// is not what it delivers on every machine (58-61 ms was seen, by curl
// too), so it is no bound here.
func TestAgainstLLMDInferenceSim(t *testing.T) {
	const model = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
	url := simtest.StartLLMD(t, "--model", model, "--time-to-first-token", "50ms", "--inter-token-latency", "10ms", "--max-num-seqs", "8")
	ref := reference(t, url, model, payloads["n32"])
	var records bytes.Buffer
	clock.Attempts(t, clock.DefaultAttempts, func(attempt int) []string {
		records.Reset()
		il, kept := (*accuracy.Interleaved)(nil), &accuracy.Recorder{}
		res, err := measurement.Run(context.Background(), measurement.Spec{
			Target:      measurement.Requests{Endpoint: openai.Endpoint{BaseURL: url}, Model: model},
			Payload:     "n32",
			Plan:        load.Plan{VUs: 4, Iterations: 40, Warmup: 4},
			Records:     &records,
			Wrap:        func(d load.Doer) load.Doer { il = accuracy.Interleave(d, ref); return il },
			AfterWarmup: func(context.Context) { il.Reset() },
			Observe:     kept,
		}, payloads)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Stats
		if s.Successes != 40 {
			t.Fatalf("%d of 40 succeeded: %v", s.Successes, s.Errors)
		}
		return checkAgainstReference(t, fmt.Sprintf("attempt %d", attempt), kept, il, 40, accuracy.DefaultAllowance)
	})
	// Every request's token count equals max_tokens, by usage and by
	// content chunks alike.
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(records.String()), "\n") {
		var r struct {
			OutputTokens  int  `json:"output_tokens"`
			ContentChunks int  `json:"content_chunks"`
			Mismatch      bool `json:"usage_mismatch"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.OutputTokens != 32 || r.ContentChunks != 32 || r.Mismatch {
			t.Errorf("record %d: %d tokens by usage, %d content chunks; want 32 and 32", n, r.OutputTokens, r.ContentChunks)
		}
		n++
	}
	if n != 40 {
		t.Errorf("%d records, want 40", n)
	}
}
