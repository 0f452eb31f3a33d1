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
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// Ordered: the data plane is set up once, then exercised. Its set-up waits
// for everything the specs need (the Deployment Available, the route
// answering), so it holds in any order Ginkgo runs the containers in.
//
// One set of specs for both route kinds (E2E_ROUTE): the lessons hold
// through an Ingress and through a Gateway alike.
var _ = Describe("the route", Label("needs:cluster", "needs:ingress", "lab-ok"), Ordered, func() {
	var in e2e.IngressInput
	getter := func() e2e.IngressInput { return in }

	BeforeAll(func(ctx SpecContext) {
		p := input()
		e2e.EnsurePlatform(ctx, p)
		route, err := e2e.NewRoute(suite.settings.route, p.Namespace, p.Objects)
		Expect(err).NotTo(HaveOccurred())
		in = e2e.IngressInput{Cluster: p.Cluster, Route: route}
		// A run killed mid-lesson left a lesson's value: put it back first.
		restored, err := route.Restore(ctx, p.Cluster)
		Expect(err).NotTo(HaveOccurred())
		if len(restored) > 0 {
			GinkgoWriter.Printf("restored values an interrupted run had changed: %v\n", restored)
		}

		model := sim.DefaultModel
		url := os.Getenv("INGRESS_URL")
		switch {
		case url != "" || suite.settings.cluster.Kind == cluster.Lab:
		case route.Kind == e2e.RouteGateway:
			// A real cluster's Gateway: the address its controller
			// reports (on Minikube a LoadBalancer's needs `minikube tunnel`).
			Eventually(func() (err error) {
				url, err = e2e.GatewayURL(ctx, p.Cluster, route)
				return err
			}).WithContext(ctx).WithTimeout(p.Timeouts.Deploy).WithPolling(2 * time.Second).Should(Succeed())
		default:
			url = p.Cluster.IngressURL // Minikube: http://$(minikube ip)
		}
		if url != "" {
			// A real cluster: its controller serves the Ingress.
			// An https ingress with a private CA (routine for llm.local):
			// E2E_CA_FILE is that CA's PEM bundle.
			trust, err := openai.TLSConfig(os.Getenv("E2E_CA_FILE"), false)
			Expect(err).NotTo(HaveOccurred(), "E2E_CA_FILE")
			in.Plane = e2e.ExternalPlane{T: ingress.Target{URL: url, Host: env("INGRESS_HOST", "llm.local"), Model: model, TLS: trust}}
			if b := os.Getenv("E2E_BACKEND_URL"); b != "" {
				in.Direct = &ingress.Target{URL: b, Model: model, TLS: trust}
			}
			in.Reconfigure = duration("E2E_INGRESS_RECONFIGURE_TIMEOUT", 2*time.Minute)
		} else {
			Expect(suite.settings.cluster.Kind).To(Equal(cluster.Lab), "set INGRESS_URL to the cluster's ingress or Gateway address")
			// The lab: llm-d-inference-sim stands in for the Service's pods,
			// at an RTX 3060's pace (about 8 ms per token for TinyLlama):
			// the lessons must fire at a real GPU's speed.
			backend := simtest.StartLLMD(GinkgoT(), "--model", model, "--time-to-first-token", "20ms", "--inter-token-latency", "8ms",
				"--max-num-seqs", "16", "--max-model-len", "2048")
			lp := &e2e.LabPlane{Cluster: p.Cluster, Route: route,
				Backend: strings.TrimPrefix(backend, "http://"), Model: model, Dir: e2e.MkdirTemp("llm-ingress-")}
			Expect(lp.Sync(ctx)).To(Succeed())
			DeferCleanup(lp.Stop)
			in.Plane, in.Direct, in.Reconfigure = lp, &ingress.Target{URL: backend, Model: model}, 10*time.Second
			GinkgoWriter.Printf("lab %s route: nginx at %s, backend %s, access log %s\n", route.Kind, lp.Target().URL, backend, lp.AccessLog())
		}
		// The route answers before the first spec's request (a real vLLM
		// may still be loading the model: the controller answers 503).
		Eventually(func() error {
			err := ingress.CheckModels(ctx, in.Plane.Target())
			if openai.IsCertificateError(err) { // waiting cannot fix it
				return StopTrying("the ingress's certificate").Wrap(openai.ExplainTLS(err, "set E2E_CA_FILE to its CA's PEM bundle"))
			}
			return err
		}).WithContext(ctx).
			WithTimeout(p.Timeouts.Deploy).WithPolling(2 * time.Second).Should(Succeed())
		in.Pace, err = ingress.MeasurePace(ctx, in.Plane.Target())
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("measured %v per token, context %d tokens\n", in.Pace.PerToken, in.Pace.Context)
		AddReportEntry("token pace", in.Pace.PerToken.String())
	})

	It("routes host and path to vLLM, answers an unknown host 404 and a body over the limit 413", func(ctx SpecContext) {
		e2e.RoutingSpec(ctx, getter)
	})
	It("does not buffer streamed tokens", func(ctx SpecContext) {
		e2e.NotBufferedSpec(ctx, getter)
	})
	It("cuts a long generation with 504 when the proxy read timeout is too short, and not with the manifests' value", func(ctx SpecContext) {
		e2e.ProxyTimeoutLessonSpec(ctx, getter)
	})
	It("records a client abort as client_abort and nginx logs it 499", func(ctx SpecContext) {
		e2e.ClientAbortLessonSpec(ctx, getter)
	})
})
