package e2e_test

import (
	"cmp"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/e2e"
	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/podio"
	"github.com/llm-platform/harness/internal/sim"
)

// Ordered: the data plane is set up once, then exercised; ContinueOnFailure:
// each lesson is independent of the others, so one failed lesson does not
// hide the next (each puts back what it changed). Its set-up waits
// for everything the specs need (the Deployment Available, the route
// answering), so it holds in any order Ginkgo runs the containers in.
//
// One set of specs for both route kinds (E2E_ROUTE): the lessons hold
// through an Ingress and through a Gateway alike.
var _ = Describe("the route", Label("needs:cluster", "needs:ingress", "lab-ok"), Ordered, ContinueOnFailure, func() {
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
		url := suite.settings.ingressURL
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
			trust, err := openai.TLSConfig(suite.settings.caFile, false)
			Expect(err).NotTo(HaveOccurred(), "E2E_CA_FILE")
			plane := e2e.ExternalPlane{T: nginx.Address{URL: url, Host: suite.settings.ingressHost, Model: model, TLS: trust}}
			// The controller's own access log, through the API server,
			// for the 499 lesson.
			ct := e2e.Controller(route)
			ct.Namespace = cmp.Or(suite.settings.controllerNamespace, ct.Namespace)
			ct.Selector = cmp.Or(suite.settings.controllerSelector, ct.Selector)
			ct.Name = cmp.Or(suite.settings.controllerContainer, ct.Name)
			if log, pod, err := e2e.OpenPodLog(ctx, p.Cluster, ct); err == nil {
				plane.Log = log
				GinkgoWriter.Printf("the controller's access log: pod %s/%s container %s\n", ct.Namespace, pod, ct.Name)
			} else {
				GinkgoWriter.Printf("no access log for the 499 lesson: %v\n", err)
			}
			in.Plane = plane
			// The backend direct, for the buffering lesson: E2E_BACKEND_URL,
			// else a port-forward to the Service through the API server.
			if b := suite.settings.backendURL; b != "" {
				in.Direct = &nginx.Address{URL: b, Model: model, TLS: trust}
			} else if svc := cluster.Find(p.Objects, "Service"); svc != nil {
				pods, err := podio.New(p.Cluster.Client.RESTConfig())
				Expect(err).NotTo(HaveOccurred())
				fwd, err := pods.ForwardService(ctx, p.Namespace, svc.GetName(), e2e.ServicePort)
				if err == nil {
					DeferCleanup(fwd.Close)
					in.Direct = &nginx.Address{URL: "http://" + fwd.Addr, Model: model}
					GinkgoWriter.Printf("the backend direct: port-forward %s -> pod %s\n", fwd.Addr, fwd.Pod)
				} else {
					GinkgoWriter.Printf("no direct route to the backend for the buffering lesson: %v\n", err)
				}
			}
			in.Reconfigure = suite.settings.reconfigure
		} else {
			Expect(suite.settings.cluster.Kind).To(Equal(cluster.Lab), "set INGRESS_URL to the cluster's ingress or Gateway address")
			// The lab: nginx, rendered from the cluster's route objects,
			// proxies to the Service's ClusterIP, which kube-proxy's rules
			// carry on to vLLM's pod on the real node (the simulator at an
			// RTX 3060's pace, overlay lab). The suite runs in the lab's
			// network namespace, where those addresses exist.
			svc := cluster.Find(p.Objects, "Service")
			Expect(svc).NotTo(BeNil(), "the overlay has no Service")
			backend, err := e2e.ServiceAddr(ctx, p.Cluster, p.Namespace, svc.GetName(), e2e.ServicePort)
			Expect(err).NotTo(HaveOccurred())
			pod := "http://" + e2e.PodAddr(ctx, p)
			lp := &e2e.LabPlane{Cluster: p.Cluster, Route: route, Backend: backend, Model: model, Dir: e2e.MkdirTemp("llm-ingress-")}
			Expect(lp.Sync(ctx)).To(Succeed())
			DeferCleanup(lp.Stop)
			in.Plane, in.Direct, in.Reconfigure = lp, &nginx.Address{URL: pod, Model: model}, 10*time.Second
			GinkgoWriter.Printf("lab %s route: nginx at %s -> Service %s at %s -> pod %s; access log %s\n", route.Kind, lp.Target().URL, svc.GetName(), backend, pod, lp.AccessLog())
		}
		// The route answers before the first spec's request (a real vLLM
		// may still be loading the model: the controller answers 503).
		Eventually(func() error {
			err := nginx.CheckModels(ctx, in.Plane.Target())
			if openai.IsCertificateError(err) { // waiting cannot fix it
				return StopTrying("the ingress's certificate").Wrap(openai.ExplainTLS(err, "set E2E_CA_FILE to its CA's PEM bundle"))
			}
			return err
		}).WithContext(ctx).
			WithTimeout(p.Timeouts.Deploy).WithPolling(2 * time.Second).Should(Succeed())
		in.Pace, err = nginx.MeasurePace(ctx, in.Plane.Target())
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("measured %v per token, context %d tokens\n", in.Pace.PerToken, in.Pace.Context)
		AddReportEntry("token pace", in.Pace.PerToken.String())
	})

	It("routes host and path to vLLM, answers an unknown host 404 and a body over the limit 413", func(ctx SpecContext) {
		e2e.RoutingSpec(ctx, getter)
	})
	// The lessons: each must run on the GPU box (E2E_REQUIRE_LESSONS), not
	// skip.
	It("does not buffer streamed tokens", Label("lesson"), func(ctx SpecContext) {
		e2e.NotBufferedSpec(ctx, getter)
	})
	It("cuts a long generation with 504 when the proxy read timeout is too short, and not with the manifests' value", Label("lesson"), func(ctx SpecContext) {
		e2e.ProxyTimeoutLessonSpec(ctx, getter)
	})
	It("records a client abort as client_abort and nginx logs it 499", Label("lesson"), func(ctx SpecContext) {
		e2e.ClientAbortLessonSpec(ctx, getter)
	})
	// The lab's own proof that its route is the real chain (nginx, the
	// Service's ClusterIP, kube-proxy, the selector's endpoints); a real
	// cluster's controller needs no such proof.
	if suite.settings.cluster.Kind == cluster.Lab {
		It("fails the route to a throwaway copy of the Service whose selector matches no pod, and not to a faithful copy", func(ctx SpecContext) {
			p := input()
			e2e.BrokenSelectorSpec(ctx, func() e2e.ChainInput {
				return e2e.ChainInput{Cluster: p.Cluster, Route: in.Route, Service: cluster.Find(p.Objects, "Service"), Model: sim.DefaultModel, Timeout: p.Timeouts.Schedule}
			})
		})
	}
})
