package e2e_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/e2e"
	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/gateway"
)

// The Gateway API path (E2E_ROUTE=gateway): its objects, the API server's
// own validation of them, and the controller's status. The lessons
// themselves run through the route container (ingress_test.go), for both
// route kinds.
var _ = Describe("the Gateway API route", Label("needs:cluster", "route:gateway"), Ordered, func() {
	if suite.settings.route != e2e.RouteGateway {
		return
	}
	var in e2e.GatewayInput
	getter := func() e2e.GatewayInput { return in }
	BeforeAll(func(ctx SpecContext) {
		p := input()
		e2e.EnsurePlatform(ctx, p)
		route, err := e2e.NewRoute(e2e.RouteGateway, p.Namespace, p.Objects)
		Expect(err).NotTo(HaveOccurred())
		in = e2e.GatewayInput{Cluster: p.Cluster, Route: route, Timeout: suite.settings.gatewayStatus}
	})

	It("admits the Gateway, HTTPRoute and policies with every field the manifests set", Label("lab-ok"), func(ctx SpecContext) {
		e2e.GatewayObjectsSpec(ctx, getter)
	})
	It("rejects an HTTPRoute whose backendRequest timeout is longer than its request timeout (the CRD's CEL)", Label("lab-ok"), func(ctx SpecContext) {
		e2e.CELRejectsSpec(ctx, getter)
	})
	It("is Accepted and Programmed by its controller, with no field of ours ignored", Label("needs:gateway-controller"), func(ctx SpecContext) {
		e2e.ControllerStatusSpec(ctx, getter)
	})
	It("judges controller status: accepted passes, an ignored field of ours or an unobserved change fails (status written by a stand-in, not a controller)", Label("lab-ok", "status-stand-in"), func(ctx SpecContext) {
		if suite.settings.cluster.Kind != cluster.Lab {
			Skip("the status stand-in writes status only on the lab; a real cluster's controller owns it (see the needs:gateway-controller spec)")
		}
		envoy := cluster.Find(suite.overlays["minikube-gpu-envoy-gateway"], gateway.KindHTTPRoute)
		Expect(envoy).NotTo(BeNil(), "overlay minikube-gpu-envoy-gateway has no HTTPRoute")
		e2e.StatusChecksSpec(ctx, getter, envoy)
	})
})
