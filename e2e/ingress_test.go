package e2e_test

import (
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/e2e"
	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/ingress"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// Ordered: the data plane is set up once, then exercised.
var _ = Describe("the ingress", Label("needs:cluster", "needs:ingress", "lab-ok"), Ordered, func() {
	var in e2e.IngressInput
	getter := func() e2e.IngressInput { return in }

	BeforeAll(func(ctx SpecContext) {
		p := input()
		Expect(p.Cluster.Apply(ctx, p.Objects, false)).To(Succeed(), "the platform (applied idempotently)")
		ing := e2e.Find(p.Objects, "Ingress")
		Expect(ing).NotTo(BeNil())
		in = e2e.IngressInput{Cluster: p.Cluster, Namespace: p.Namespace, Ingress: ing.GetName()}
		model := sim.DefaultModel
		if url := os.Getenv("INGRESS_URL"); url != "" {
			// A real cluster: its controller serves the Ingress.
			in.Plane = e2e.ExternalPlane{T: ingress.Target{URL: url, Host: env("INGRESS_HOST", "llm.local"), Model: model}}
			if b := os.Getenv("E2E_BACKEND_URL"); b != "" {
				in.Direct = &ingress.Target{URL: b, Model: model}
			}
			in.Reconfigure = duration("E2E_INGRESS_RECONFIGURE_TIMEOUT", 2*time.Minute)
			return
		}
		Expect(suite.settings.cluster.Kind).To(Equal(cluster.Lab), "set INGRESS_URL to the cluster's ingress address")
		// The lab: llm-d-inference-sim stands in for the Service's pods,
		// with tokens 100 ms apart so buffering and timeouts show.
		backend := simtest.StartLLMD(GinkgoT(), "--model", model, "--time-to-first-token", "50ms", "--inter-token-latency", "100ms", "--max-num-seqs", "16")
		lp := &e2e.LabPlane{Cluster: p.Cluster, Namespace: p.Namespace, Ingress: ing.GetName(),
			Backend: strings.TrimPrefix(backend, "http://"), Model: model, Dir: e2e.MkdirTemp("llm-ingress-")}
		Expect(lp.Sync(ctx)).To(Succeed())
		DeferCleanup(lp.Stop)
		in.Plane, in.Direct, in.Reconfigure = lp, &ingress.Target{URL: backend, Model: model}, 10*time.Second
		GinkgoWriter.Printf("lab ingress: nginx at %s, backend %s, access log %s\n", lp.Target().URL, backend, lp.AccessLog())
	})

	It("routes host and path to vLLM, answers an unknown host 404 and a body over the limit 413", func(ctx SpecContext) {
		e2e.RoutingSpec(ctx, getter)
	})
	It("does not buffer streamed tokens", func(ctx SpecContext) {
		e2e.NotBufferedSpec(ctx, getter)
	})
	It("cuts a long generation with 504 when proxy-read-timeout is too short, and not with the manifests' value", func(ctx SpecContext) {
		e2e.ProxyTimeoutLessonSpec(ctx, getter, 15) // 50 ms + 14 x 100 ms, non-streamed
	})
	It("records a client abort as client_abort and nginx logs it 499", func(ctx SpecContext) {
		e2e.ClientAbortLessonSpec(ctx, getter, 20)
	})
})
