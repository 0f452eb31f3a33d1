package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/sim/simtest"
)

// TestRunsCommandBehindNginx: the command sees INGRESS_URL and BACKEND_URL,
// and a request with Host llm.local through nginx reaches the backend.
func TestRunsCommandBehindNginx(t *testing.T) {
	bin := os.Getenv("LLMD_INFERENCE_SIM")
	if bin == "" {
		simtest.Missing(t, "LLMD_INFERENCE_SIM not set: make test builds llm-d-inference-sim")
	}
	out := filepath.Join(t.TempDir(), "models.json")
	code, err := run(context.Background(), []string{"-llmd", bin, "-overlay", filepath.Join("..", "..", "manifests", "overlays", "lab"), "--",
		"sh", "-c", `test -n "$BACKEND_URL" && curl -sf -H 'Host: llm.local' "$INGRESS_URL/v1/models" > ` + out})
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "TinyLlama/TinyLlama-1.1B-Chat-v1.0") {
		t.Errorf("through nginx: %s", b)
	}
	if code, _ := run(context.Background(), []string{"-llmd", bin, "-overlay", filepath.Join("..", "..", "manifests", "overlays", "lab"), "--", "false"}); code != 1 {
		t.Errorf("a failing command's code: %d, want 1", code)
	}
	if _, err := run(context.Background(), []string{"-llmd", bin}); err == nil {
		t.Error("no command: want an error")
	}
}
