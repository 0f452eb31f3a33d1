package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/nginx"
)

// NotBufferedSpec: TTFT through the ingress within BufferingTolerance of
// TTFT direct, on a stream sized from the measured pace to last several
// times bufferedStream.
func NotBufferedSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	if in.Direct == nil {
		Skip("no direct route to the backend: the port-forward to the vLLM Service failed and E2E_BACKEND_URL is not set")
	}
	tokens, err := nginx.TokensToOutlast(bufferedStream, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	// Medians within BufferingTolerance: a bias a buffering proxy misses by
	// hundreds of milliseconds every time, so up to bufferingAttempts tries
	// absorb a noisy machine without hiding it (clock.Attempts, the timing
	// tests' policy).
	clock.Attempts(GinkgoT(), bufferingAttempts, func(attempt int) []string {
		d, i, err := nginx.CheckNotBuffered(ctx, in.Plane.Target(), *in.Direct, BufferingTolerance, max(tokens, 4))
		AddReportEntry("TTFT direct vs through the ingress", fmt.Sprintf("attempt %d: %v vs %v", attempt, d, i))
		if err != nil {
			return []string{fmt.Sprintf("the route buffers streamed tokens (proxy buffering on?): %v", err)}
		}
		return nil
	})
}
