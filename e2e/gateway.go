package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/gateway"
)

// GatewayInput is what the Gateway API scenarios need.
type GatewayInput struct {
	Cluster *cluster.Cluster
	Route   Route
	// Timeout bounds the wait for a controller to report on the objects.
	Timeout time.Duration
}

func (in GatewayInput) validate() error {
	switch {
	case in.Cluster == nil:
		return errors.New("e2e: GatewayInput.Cluster: must be set")
	case in.Route.Kind != RouteGateway:
		return fmt.Errorf("e2e: GatewayInput.Route: kind %q, want %s", in.Route.Kind, RouteGateway)
	case in.Timeout <= 0:
		return errors.New("e2e: GatewayInput.Timeout: must be > 0")
	}
	return in.Route.validate()
}

// GatewayObjectsSpec: every route object is in the cluster with every field
// the manifests set, at the manifests' value (the API server may add
// defaults; it must not drop or change ours, as an older CRD without a
// field would).
func GatewayObjectsSpec(ctx context.Context, inputGetter func() GatewayInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	for _, want := range in.Route.Objects {
		got, err := live(ctx, in.Cluster, want)
		Expect(err).NotTo(HaveOccurred())
		for _, f := range gateway.Fields(want) {
			w, _ := fieldValue(want.Object, f)
			if _, leaf := w.(map[string]any); leaf {
				continue
			}
			if _, list := w.([]any); list {
				continue
			}
			g, ok := fieldValue(got.Object, f)
			Expect(ok).To(BeTrue(), "%s %s: %s is not in the cluster (dropped by the CRD's schema?)", want.GetKind(), want.GetName(), f)
			Expect(fmt.Sprint(g)).To(Equal(fmt.Sprint(w)), "%s %s: %s", want.GetKind(), want.GetName(), f)
		}
		GinkgoWriter.Printf("%s %s: %d fields as the manifests set them\n", want.GetKind(), want.GetName(), len(gateway.Fields(want)))
	}
}

// fieldValue reads a path in gateway.Fields' form (spec.rules[0].timeouts).
func fieldValue(obj map[string]any, path string) (any, bool) {
	return lookup(obj, strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(path), "."))
}

// CELRejectsSpec: the API server's own CEL rule (from the Gateway API's
// CRD, GEP-1742) rejects an HTTPRoute whose backendRequest timeout is
// longer than its request timeout, on a dry run of a copy of ours.
func CELRejectsSpec(ctx context.Context, inputGetter func() GatewayInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	bad := in.Route.Find(gateway.KindHTTPRoute).DeepCopy()
	bad.SetName(bad.GetName() + "-cel-check")
	rules, _, _ := unstructured.NestedSlice(bad.Object, "spec", "rules")
	Expect(rules).NotTo(BeEmpty())
	rules[0].(map[string]any)["timeouts"] = map[string]any{"request": "10s", "backendRequest": "20s"}
	Expect(unstructured.SetNestedSlice(bad.Object, rules, "spec", "rules")).To(Succeed())
	err := in.Cluster.Apply(ctx, []*unstructured.Unstructured{bad}, true)
	Expect(err).To(HaveOccurred(), "the API server admitted backendRequest 20s > request 10s")
	Expect(apierrors.IsInvalid(errors.Unwrap(err))).To(BeTrue(), "want an Invalid error, got %v", err)
	Expect(err.Error()).To(ContainSubstring("backendRequest timeout cannot be longer than request timeout"))
	AddReportEntry("CEL", err.Error())

	By("and admits backendRequest equal to request")
	rules[0].(map[string]any)["timeouts"] = map[string]any{"request": "20s", "backendRequest": "20s"}
	Expect(unstructured.SetNestedSlice(bad.Object, rules, "spec", "rules")).To(Succeed())
	Expect(in.Cluster.Apply(ctx, []*unstructured.Unstructured{bad}, true)).To(Succeed())
}

// CheckControllerStatus runs the gateway package's checks on the route's
// live objects: the GatewayClass Accepted; the Gateway Accepted and
// Programmed with an address; the HTTPRoute Accepted and ResolvedRefs for
// the Gateway at its current generation, with no UnsupportedField on a
// field the manifests set; each policy Accepted.
func CheckControllerStatus(ctx context.Context, c *cluster.Cluster, r Route) error {
	gwObj := r.Find(gateway.KindGateway)
	if gwObj == nil {
		return errors.New("e2e: the route has no Gateway")
	}
	gw, err := live(ctx, c, gwObj)
	if err != nil {
		return err
	}
	className, _, _ := unstructured.NestedString(gw.Object, "spec", "gatewayClassName")
	gc := &unstructured.Unstructured{}
	gc.SetAPIVersion(gateway.Group + "/v1")
	gc.SetKind("GatewayClass")
	if err := c.Client.Resources().GetControllerRuntimeClient().Get(ctx, client.ObjectKey{Name: className}, gc); err != nil {
		return fmt.Errorf("e2e: GatewayClass %s (is its implementation installed?): %w", className, err)
	}
	errs := []error{gateway.CheckGatewayClass(gc), gateway.CheckGateway(gw)}
	for _, o := range r.Objects {
		switch o.GetKind() {
		case gateway.KindGateway:
		case gateway.KindHTTPRoute:
			route, err := live(ctx, c, o)
			if err != nil {
				return err
			}
			errs = append(errs, gateway.CheckRoute(route, gw.GetName()))
		default:
			p, err := live(ctx, c, o)
			if err != nil {
				return err
			}
			errs = append(errs, gateway.CheckPolicy(p))
		}
	}
	return errors.Join(errs...)
}

// ControllerStatusSpec: on a cluster with a Gateway controller, the
// controller's own status passes CheckControllerStatus within Timeout.
func ControllerStatusSpec(ctx context.Context, inputGetter func() GatewayInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	Eventually(func() error { return CheckControllerStatus(ctx, in.Cluster, in.Route) }).
		WithContext(ctx).WithTimeout(in.Timeout).WithPolling(2 * time.Second).Should(Succeed())
}

// GatewayURL is the base URL of the route's Gateway on a real cluster: the
// first address its controller reports in status.addresses, on its first
// listener's port.
func GatewayURL(ctx context.Context, c *cluster.Cluster, r Route) (string, error) {
	o := r.Find(gateway.KindGateway)
	if o == nil {
		return "", errors.New("e2e: the route has no Gateway")
	}
	gw, err := live(ctx, c, o)
	if err != nil {
		return "", err
	}
	addrs, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses")
	if len(addrs) == 0 {
		return "", fmt.Errorf("e2e: Gateway %s has no status.addresses yet (set INGRESS_URL, or on Minikube run `minikube tunnel` for its LoadBalancer)", gw.GetName())
	}
	host, _ := addrs[0].(map[string]any)["value"].(string)
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	port := int64(80)
	if len(listeners) > 0 {
		if p, ok := listeners[0].(map[string]any)["port"].(int64); ok {
			port = p
		}
	}
	return fmt.Sprintf("http://%s", net.JoinHostPort(host, fmt.Sprint(port))), nil
}

// StandInController is the controllerName of the status the lab's
// StatusChecksSpec writes. It is not a controller: it writes, once, the
// status a conformant controller would, so that the status checks
// themselves are exercised against the real API server (status
// subresources, the CRDs' status schemas). Nothing it writes is evidence
// that any implementation accepts the manifests.
const StandInController = "harness.llm-platform.io/status-stand-in"

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

func standInCondition(t, reason string, generation int64, msg string) any {
	if msg == "" {
		msg = "written by the harness's status stand-in, not by a controller"
	}
	return map[string]any{"type": t, "status": "True", "reason": reason, "message": msg, "observedGeneration": generation,
		"lastTransitionTime": metav1.Now().UTC().Format(time.RFC3339)}
}

func routeParents(gateway string, conds ...any) []any {
	return []any{map[string]any{"parentRef": map[string]any{"name": gateway}, "controllerName": StandInController, "conditions": conds}}
}

// writeStatus sets status fields (name, value pairs) through the status
// subresource.
func writeStatus(ctx context.Context, cl client.Client, u *unstructured.Unstructured, kv ...any) error {
	u = u.DeepCopy()
	for i := 0; i < len(kv); i += 2 {
		if err := unstructured.SetNestedField(u.Object, kv[i+1], "status", kv[i].(string)); err != nil {
			return err
		}
	}
	if err := cl.Status().Update(ctx, u); err != nil {
		return fmt.Errorf("e2e: status of %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}
