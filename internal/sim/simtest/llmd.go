package simtest

import (
	"context"
	"os"

	"github.com/llm-platform/harness/internal/llmd"
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

// Missing reports a tool a test needs and does not have: a skip that says
// so, or a failure under HARNESS_REQUIRE_TOOLS=1 (as make test sets, having
// installed every tool), so that a check never passes by not running.
func Missing(t T, msg string) {
	t.Helper()
	if os.Getenv("HARNESS_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg + " (HARNESS_REQUIRE_TOOLS=1 makes this a failure)")
	}
	t.Skip(msg)
}

// StartLLMD runs llm-d-inference-sim (an independent vLLM simulator, built
// by `make tools`) on a free loopback port for the test's lifetime. Without
// the binary the test is skipped, or fails when HARNESS_REQUIRE_TOOLS=1 (as
// make test sets).
func StartLLMD(t T, args ...string) string {
	t.Helper()
	bin := os.Getenv("LLMD_INFERENCE_SIM")
	if bin == "" {
		Missing(t, "LLMD_INFERENCE_SIM not set: `make test` builds llm-d-inference-sim and runs this cross-check")
	}
	p, err := llmd.Start(context.Background(), bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("llm-d-inference-sim output:\n%s", p.Logs())
		}
	})
	return p.URL
}
