package simtest

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/llm-platform/harness/internal/openai"
)

// T is the part of testing.TB the helpers use, so Ginkgo's GinkgoT() can
// stand in for a *testing.T.
type T interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
}

// LLMDStartTimeout bounds llm-d-inference-sim's start-up.
const LLMDStartTimeout = 20 * time.Second

// StartLLMD runs llm-d-inference-sim (an independent vLLM simulator, built
// by `make tools`) on a free loopback port. Without the binary the test is
// skipped, or fails when HARNESS_REQUIRE_TOOLS=1 (as make test sets).
func StartLLMD(t T, args ...string) string {
	t.Helper()
	bin := os.Getenv("LLMD_INFERENCE_SIM")
	if bin == "" {
		if os.Getenv("HARNESS_REQUIRE_TOOLS") == "1" {
			t.Fatal("LLMD_INFERENCE_SIM is not set: run `make test`, which builds llm-d-inference-sim")
		}
		t.Skip("LLMD_INFERENCE_SIM not set: `make test` builds llm-d-inference-sim and runs this cross-check")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var logs bytes.Buffer
	cmd := exec.Command(bin, append([]string{"--port", strconv.Itoa(port)}, args...)...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("llm-d-inference-sim output:\n%s", logs.String())
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), LLMDStartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := openai.ListModels(ctx, &http.Client{Timeout: time.Second}, openai.Endpoint{BaseURL: url}); err == nil {
			return url
		}
		select {
		case <-ctx.Done():
			t.Fatalf("llm-d-inference-sim not ready within %v", LLMDStartTimeout)
		case <-tick.C:
		}
	}
}
