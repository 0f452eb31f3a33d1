package e2e

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/e2e-framework/klient/wait"

	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/record"
)

// ProxyTimeoutLessonSpec: with the route's read timeout (the Ingress's
// proxy-read-timeout annotation, NGF's ProxySettingsPolicy timeout.read,
// or the HTTPRoute's timeouts.request) lowered to LoweredReadTimeout, a
// non-streamed generation sized from the measured pace to last several
// times that ends in 504 (classified http_5xx, status 504); with the
// manifests' value it completes.
func ProxyTimeoutLessonSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	knob, err := in.Route.ReadTimeout()
	Expect(err).NotTo(HaveOccurred())
	original, err := knob.Get(ctx, in.Cluster)
	Expect(err).NotTo(HaveOccurred())
	Expect(original).NotTo(BeEmpty(), "the manifests set %s", knob)
	tokens, err := nginx.TokensToOutlast(LoweredReadTimeout, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("generation", fmt.Sprintf("%d tokens at a measured %v per token (about %v)", tokens, in.Pace.PerToken, (time.Duration(tokens)*in.Pace.PerToken).Round(time.Millisecond)))

	By(fmt.Sprintf("lowering %s to %v", knob, LoweredReadTimeout))
	DeferCleanup(func(ctx SpecContext) { restore(ctx, in) })
	Expect(knob.Set(ctx, in.Cluster, knob.Format(LoweredReadTimeout))).To(Succeed())
	Expect(in.Plane.Sync(ctx)).To(Succeed())
	Eventually(func(g Gomega) {
		rec, err := nginx.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		g.Expect(err).To(HaveOccurred())
		g.Expect(rec.Class).To(Equal(record.HTTP5xx))
		g.Expect(rec.Status).To(Equal(504))
	}).WithContext(ctx).WithTimeout(in.Reconfigure).WithPolling(time.Second).Should(Succeed())

	By("restoring the manifests' value, " + original)
	restore(ctx, in)
	// Polled until the route applies the value (e2e-framework's wait, as
	// the package's other polls), failing with the reason and the last
	// error first, so a job summary's one line says it (Gomega's Eventually
	// would put "Timed out after" first).
	var rec record.Record
	var last error
	// Each try runs on the spec's context, not the poll's: one cut by the
	// poll's deadline would leave its context error as the last error.
	err = wait.For(func(context.Context) (bool, error) {
		rec, last = nginx.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		return last == nil, nil
	}, wait.WithImmediate(), wait.WithTimeout(in.Reconfigure), wait.WithInterval(time.Second), wait.WithContext(ctx))
	if err != nil {
		Fail(fmt.Sprintf("with the manifests' %s %s a long generation (about %v) must complete, and did not: %v",
			knob, original, (time.Duration(tokens) * in.Pace.PerToken).Round(time.Millisecond), last))
	}
	AddReportEntry(fmt.Sprintf("long generation with %s %s", knob, original), fmt.Sprintf("%d tokens in %v", rec.OutputTokens, rec.End.Sub(rec.Start).Round(time.Millisecond)))
}
