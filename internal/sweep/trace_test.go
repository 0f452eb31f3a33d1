package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/sim/simtest"
	"github.com/llm-platform/harness/internal/trace"
)

// TestTraceFormatsFitTheWindow replays each committed excerpt of the
// public traces (fixtures/traces/SOURCES.md) against a 2,048-token model,
// the embedded simulator and llm-d-inference-sim with --max-model-len 2048
// (when make test has built it): with PERF_TRACE_FIT=scale no request
// overflows and every request's prompt is sized exactly (its usage agrees);
// with none, the over-long ones come back as context_overflow, as many as
// the trace has over the window; with skip, they are not sent at all.
func TestTraceFormatsFitTheWindow(t *testing.T) {
	targets := map[string]string{"embedded simulator": ""}
	if os.Getenv("LLMD_INFERENCE_SIM") != "" || os.Getenv("HARNESS_REQUIRE_TOOLS") == "1" {
		targets["llm-d-inference-sim"] = simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--max-model-len", "2048",
			"--time-to-first-token", "1ms", "--inter-token-latency", "0s", "--max-num-seqs", "64")
	}
	for name, url := range targets {
		for _, tc := range []struct {
			file    string
			speedup string
		}{
			{"mooncake-conversation.jsonl", "10"}, {"azure-conv-2023.csv", "20"}, {"azure-conv-2024.csv", "1"}, {"burstgpt.csv", "200"},
		} {
			path := filepath.Join("..", "..", "fixtures", "traces", tc.file)
			tr, _, err := trace.Load(path, "")
			if err != nil {
				t.Fatal(err)
			}
			over := 0
			for _, q := range tr {
				if q.InputLength+q.OutputLength > 2048 {
					over++
				}
			}
			for _, fit := range []string{trace.FitScale, trace.FitNone, trace.FitSkip} {
				if fit != trace.FitScale && over == 0 {
					continue // the same replay as scale's
				}
				cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_TRACE": path, "PERF_TRACE_SPEEDUP": tc.speedup,
					"PERF_TRACE_FIT": fit, "PERF_WARMUP": "0", "PERF_TIMEOUT": "60s"})
				c, res := firstCell(t, cfg)
				note := res.Payloads[c.Payload].InputNote
				t.Logf("%s, %s, fit %s: %d requests, %d ok, %.2f req/s offered, TTFT p50 %.1f ms, E2E p95 %.1f ms, input tokens mean %.1f; %s",
					name, tc.file, fit, c.Requests, c.Successes, c.Rate, c.TTFT.P50, c.E2E.P95, c.InputTokensMean, note)
				overflow := int(c.Errors["context_overflow"])
				want, sent := 0, len(tr)
				switch fit {
				case trace.FitNone:
					want = over
				case trace.FitSkip:
					sent = len(tr) - over // the schedule without them
				}
				if overflow != want || int(c.Successes) != sent-want || int(c.Requests) != sent || (fit == trace.FitScale && c.PromptMismatches != 0) || strings.Contains(note, "could not be sized") {
					t.Errorf("%s, %s, fit %s: %d ok of %d, %d context_overflow (want %d), errors %v, %d prompt mismatches, note %q",
						name, tc.file, fit, c.Successes, len(tr), overflow, want, c.Errors, c.PromptMismatches, note)
				}
			}
		}
	}
}
