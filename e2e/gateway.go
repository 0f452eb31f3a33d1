package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

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

// fieldValue reads a path in gateway.Fields' form (spec.rules[0].timeouts).
func fieldValue(obj map[string]any, path string) (any, bool) {
	return fieldAt(obj, strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(path), "."))
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
