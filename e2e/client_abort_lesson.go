package e2e

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/nginx"
)

// ClientAbortLessonSpec: a client deadline shorter than the generation
// (sized from the pace to last several times the deadline) is the
// harness's client_abort, and nginx's access log says 499 for it.
func ClientAbortLessonSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	if in.Plane.AccessLog() == nil {
		Skip("the controller's access log is not readable from the suite on this cluster (E2E_CONTROLLER_SELECTOR finds no pod)")
	}
	tokens, err := nginx.TokensToOutlast(AbortDeadline, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	rec, entry, err := nginx.CheckClientAbort(ctx, in.Plane.Target(), in.Plane.AccessLog(), AbortDeadline, tokens)
	AddReportEntry("client abort", fmt.Sprintf("harness: %s after %v; nginx: %d %q after %v", rec.Class, rec.End.Sub(rec.Start).Round(time.Millisecond), entry.Status, entry.Request, entry.RequestTime))
	Expect(err).NotTo(HaveOccurred())
}
