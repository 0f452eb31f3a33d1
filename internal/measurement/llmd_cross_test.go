package measurement_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/attempts"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// TestAgainstLLMDInferenceSim cross-checks the engine against a vLLM
// simulator we did not write: its TTFT (a bias check under the attempt
// policy: never early, at most 5 ms late at the median, with its timers
// and ours on a busy machine), and exact token counts.
func TestAgainstLLMDInferenceSim(t *testing.T) {
	const model = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
	url := simtest.StartLLMD(t, "--model", model, "--time-to-first-token", "50ms", "--inter-token-latency", "10ms", "--max-num-seqs", "8")
	var records bytes.Buffer
	attempts.Run(t, attempts.Default, func(int) []string {
		records.Reset()
		res, err := measurement.Run(context.Background(), measurement.Spec{
			Target:  measurement.Target{Endpoint: openai.Endpoint{BaseURL: url}, Model: model},
			Payload: "n32",
			Plan:    load.Plan{VUs: 4, Iterations: 40, Warmup: 4},
			Records: &records,
		}, payloads)
		if err != nil {
			t.Fatal(err)
		}
		s := res.Stats
		t.Logf("TTFT p50 %v p99 %v; ITL p50 %v; E2E p50 %v; %d tokens", s.TTFT.P50, s.TTFT.P99, s.ITL.P50, s.E2E.P50, s.OutputTokens)
		if s.Successes != 40 {
			t.Fatalf("%d of 40 succeeded: %v", s.Successes, s.Errors)
		}
		if d := s.TTFT.P50 - 50*time.Millisecond; d < -time.Millisecond || d > 5*time.Millisecond {
			return []string{fmt.Sprintf("TTFT p50 %v, want 50ms within [-1ms, +5ms]", s.TTFT.P50)}
		}
		return nil
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
