package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-platform/harness/internal/gateway"
)

// StatusChecksSpec (lab only): with status written by StandInController,
// CheckControllerStatus passes; an UnsupportedField on a field the
// envoy-gateway component sets (NGF's words for route timeouts) fails
// naming the field; a change the stand-in has not observed fails on the
// generation.
func StatusChecksSpec(ctx context.Context, inputGetter func() GatewayInput, envoyRoute *unstructured.Unstructured) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	cl := in.Cluster.Client.Resources().GetControllerRuntimeClient()
	gw, err := live(ctx, in.Cluster, in.Route.Find(gateway.KindGateway))
	Expect(err).NotTo(HaveOccurred())
	className, _, _ := unstructured.NestedString(gw.Object, "spec", "gatewayClassName")

	By("the stand-in's GatewayClass " + className)
	gc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"controllerName": StandInController}}}
	gc.SetAPIVersion(gateway.Group + "/v1")
	gc.SetKind("GatewayClass")
	gc.SetName(className)
	if err := cl.Create(ctx, gc); err != nil && !apierrors.IsAlreadyExists(err) {
		Expect(err).NotTo(HaveOccurred())
	}
	Expect(cl.Get(ctx, client.ObjectKey{Name: className}, gc)).To(Succeed())
	owner, _, _ := unstructured.NestedString(gc.Object, "spec", "controllerName")
	Expect(owner).To(Equal(StandInController), "GatewayClass %s belongs to a real controller: this spec is for the lab", className)
	Expect(writeStatus(ctx, cl, gc, "conditions", []any{standInCondition("Accepted", "Accepted", gc.GetGeneration(), "")})).To(Succeed())

	By("the stand-in's status on the Gateway, HTTPRoute and policies")
	route := in.Route.Find(gateway.KindHTTPRoute)
	for _, o := range in.Route.Objects {
		u, err := live(ctx, in.Cluster, o)
		Expect(err).NotTo(HaveOccurred())
		g := u.GetGeneration()
		switch o.GetKind() {
		case gateway.KindGateway:
			Expect(writeStatus(ctx, cl, u, "conditions", []any{standInCondition("Accepted", "Accepted", g, ""), standInCondition("Programmed", "Programmed", g, "")},
				"addresses", []any{map[string]any{"type": "IPAddress", "value": "192.0.2.1"}})).To(Succeed())
		case gateway.KindHTTPRoute:
			Expect(writeStatus(ctx, cl, u, "parents", routeParents(gw.GetName(), standInCondition("Accepted", "Accepted", g, ""), standInCondition("ResolvedRefs", "ResolvedRefs", g, "")))).To(Succeed())
		default:
			Expect(writeStatus(ctx, cl, u, "ancestors", []any{map[string]any{
				"ancestorRef": map[string]any{"group": gateway.Group, "kind": gateway.KindGateway, "name": gw.GetName()}, "controllerName": StandInController,
				"conditions": []any{standInCondition("Accepted", "Accepted", g, "")}}})).To(Succeed())
		}
	}
	Expect(CheckControllerStatus(ctx, in.Cluster, in.Route)).To(Succeed())
	Expect(GatewayURL(ctx, in.Cluster, in.Route)).To(Equal("http://192.0.2.1:80"), "the Gateway's reported address, as the route specs take it on a real cluster")

	By("an UnsupportedField on the envoy-gateway component's route timeouts fails, naming the field")
	envoy := envoyRoute.DeepCopy()
	envoy.SetName(route.GetName() + "-envoy-copy")
	envoy.SetNamespace(in.Route.Namespace)
	Expect(in.Cluster.Apply(ctx, []*unstructured.Unstructured{envoy}, false)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { _ = cl.Delete(ctx, envoy) })
	e, err := live(ctx, in.Cluster, envoy)
	Expect(err).NotTo(HaveOccurred())
	Expect(writeStatus(ctx, cl, e, "parents", routeParents(gw.GetName(),
		standInCondition("Accepted", gateway.ReasonUnsupportedField, e.GetGeneration(), "spec.rules[0].timeouts: Forbidden: Timeouts"),
		standInCondition("ResolvedRefs", "ResolvedRefs", e.GetGeneration(), "")))).To(Succeed())
	withEnvoy := in.Route
	withEnvoy.Objects = append(append([]*unstructured.Unstructured{}, in.Route.Objects...), envoy)
	err = CheckControllerStatus(ctx, in.Cluster, withEnvoy)
	Expect(err).To(MatchError(ContainSubstring("ignores spec.rules[0].timeouts, which the manifests set")))
	AddReportEntry("UnsupportedField", err.Error())

	By("a change the controller has not observed fails on the generation")
	e, err = live(ctx, in.Cluster, envoy)
	Expect(err).NotTo(HaveOccurred())
	Expect(unstructured.SetNestedField(e.Object, []any{"llm.local", "llm2.local"}, "spec", "hostnames")).To(Succeed())
	Expect(cl.Update(ctx, e)).To(Succeed())
	e, err = live(ctx, in.Cluster, envoy)
	Expect(err).NotTo(HaveOccurred())
	Expect(gateway.CheckRoute(e, gw.GetName())).To(MatchError(ContainSubstring(fmt.Sprintf("the object is at %d", e.GetGeneration()))))
}
