package gateway_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/gateway"
)

func cond(t, status, reason, msg string, gen int64) any {
	return map[string]any{"type": t, "status": status, "reason": reason, "message": msg, "observedGeneration": gen}
}

func withGeneration(u *unstructured.Unstructured, g int64) *unstructured.Unstructured {
	u = u.DeepCopy()
	u.SetGeneration(g)
	return u
}

func routeStatus(route *unstructured.Unstructured, parent string, conds ...any) *unstructured.Unstructured {
	r := route.DeepCopy()
	_ = unstructured.SetNestedSlice(r.Object, []any{map[string]any{
		"parentRef": map[string]any{"name": parent}, "controllerName": "example.com/controller", "conditions": conds}}, "status", "parents")
	return r
}

func TestCheckRoute(t *testing.T) {
	ngf := withGeneration(cluster.Find(overlay(t, "lab-gateway"), "HTTPRoute"), 2)
	envoy := withGeneration(cluster.Find(overlay(t, "minikube-gpu-envoy-gateway"), "HTTPRoute"), 2)
	timeoutsIgnored := cond("Accepted", "True", gateway.ReasonUnsupportedField, "spec.rules[0].timeouts: Forbidden: Timeouts", 2)
	for _, c := range []struct {
		name  string
		route *unstructured.Unstructured
		want  string // "" passes
	}{
		{"accepted and resolved", routeStatus(ngf, "vllm", cond("Accepted", "True", "Accepted", "", 2), cond("ResolvedRefs", "True", "ResolvedRefs", "", 2)), ""},
		{"no status", ngf, "no status for parent Gateway vllm"},
		{"another parent only", routeStatus(ngf, "other", cond("Accepted", "True", "Accepted", "", 2)), "no status for parent Gateway vllm"},
		{"not accepted", routeStatus(ngf, "vllm", cond("Accepted", "False", "NoMatchingParent", "no listener", 2), cond("ResolvedRefs", "True", "ResolvedRefs", "", 2)), "Accepted=False, reason NoMatchingParent"},
		{"unresolved", routeStatus(ngf, "vllm", cond("Accepted", "True", "Accepted", "", 2), cond("ResolvedRefs", "False", "BackendNotFound", "service vllm not found", 2)), "ResolvedRefs=False, reason BackendNotFound"},
		{"stale", routeStatus(ngf, "vllm", cond("Accepted", "True", "Accepted", "", 1), cond("ResolvedRefs", "True", "ResolvedRefs", "", 2)), "Accepted observed at generation 1, the object is at 2"},
		// NGF's own words for a route with timeouts: the envoy component's
		// route under NGF loses its long-generation timeout.
		{"timeouts ignored", routeStatus(envoy, "vllm", timeoutsIgnored, cond("ResolvedRefs", "True", "ResolvedRefs", "", 2)), "ignores spec.rules[0].timeouts, which the manifests set"},
		// The same condition on a route that sets no timeouts names nothing of ours.
		{"unsupported field we do not set", routeStatus(ngf, "vllm", timeoutsIgnored, cond("ResolvedRefs", "True", "ResolvedRefs", "", 2)), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := gateway.CheckRoute(c.route, "vllm")
			switch {
			case c.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestCheckGatewayAndClass(t *testing.T) {
	gw := withGeneration(cluster.Find(overlay(t, "lab-gateway"), "Gateway"), 1)
	ok := gw.DeepCopy()
	_ = unstructured.SetNestedSlice(ok.Object, []any{cond("Accepted", "True", "Accepted", "", 1), cond("Programmed", "True", "Programmed", "", 1)}, "status", "conditions")
	_ = unstructured.SetNestedSlice(ok.Object, []any{map[string]any{"type": "IPAddress", "value": "10.0.0.1"}}, "status", "addresses")
	if err := gateway.CheckGateway(ok); err != nil {
		t.Errorf("programmed Gateway with an address: %v", err)
	}
	noAddr := ok.DeepCopy()
	unstructured.RemoveNestedField(noAddr.Object, "status", "addresses")
	if err := gateway.CheckGateway(noAddr); err == nil || !strings.Contains(err.Error(), "no status.addresses") {
		t.Errorf("no address: %v", err)
	}
	pending := ok.DeepCopy()
	_ = unstructured.SetNestedSlice(pending.Object, []any{cond("Accepted", "True", "Accepted", "", 1), cond("Programmed", "False", "Pending", "waiting for the data plane", 1)}, "status", "conditions")
	if err := gateway.CheckGateway(pending); err == nil || !strings.Contains(err.Error(), "Programmed=False, reason Pending") {
		t.Errorf("not programmed: %v", err)
	}
	hostIgnored := ok.DeepCopy()
	_ = unstructured.SetNestedSlice(hostIgnored.Object, []any{cond("Accepted", "True", gateway.ReasonUnsupportedField, "spec.listeners[0].hostname: Forbidden", 1), cond("Programmed", "True", "Programmed", "", 1)}, "status", "conditions")
	if err := gateway.CheckGateway(hostIgnored); err == nil || !strings.Contains(err.Error(), "ignores spec.listeners[0].hostname") {
		t.Errorf("unsupported listener hostname: %v", err)
	}

	gc := &unstructured.Unstructured{}
	gc.SetKind("GatewayClass")
	gc.SetName("nginx")
	gc.SetGeneration(1)
	if err := gateway.CheckGatewayClass(gc); err == nil || !strings.Contains(err.Error(), "no Accepted condition") {
		t.Errorf("class without status: %v", err)
	}
	// NGF on a newer Gateway API minor: accepted, best effort.
	_ = unstructured.SetNestedSlice(gc.Object, []any{cond("Accepted", "True", "Accepted", "", 1), cond("SupportedVersion", "False", "SupportedVersionBestEffort", "", 1)}, "status", "conditions")
	if err := gateway.CheckGatewayClass(gc); err != nil {
		t.Errorf("accepted class: %v", err)
	}
}

func TestCheckPolicy(t *testing.T) {
	p := withGeneration(cluster.Find(overlay(t, "lab-gateway"), "ProxySettingsPolicy"), 3)
	if err := gateway.CheckPolicy(p); err == nil || !strings.Contains(err.Error(), "no status.ancestors") {
		t.Errorf("policy nobody took up: %v", err)
	}
	anc := func(c any) []any {
		return []any{map[string]any{"ancestorRef": map[string]any{"name": "vllm"}, "controllerName": "gateway.nginx.org/nginx-gateway-controller", "conditions": []any{c}}}
	}
	_ = unstructured.SetNestedSlice(p.Object, anc(cond("Accepted", "False", "Conflicted", "another policy sets timeout.read", 3)), "status", "ancestors")
	if err := gateway.CheckPolicy(p); err == nil || !strings.Contains(err.Error(), "Accepted=False, reason Conflicted") {
		t.Errorf("conflicted policy: %v", err)
	}
	_ = unstructured.SetNestedSlice(p.Object, anc(cond("Accepted", "True", "Accepted", "", 3)), "status", "ancestors")
	if err := gateway.CheckPolicy(p); err != nil {
		t.Errorf("accepted policy: %v", err)
	}
}

func TestFields(t *testing.T) {
	got := strings.Join(gateway.Fields(cluster.Find(overlay(t, "minikube-gpu-envoy-gateway"), "HTTPRoute")), " ")
	for _, f := range []string{"spec.rules[0].timeouts.request", "spec.rules[0].timeouts", "spec.hostnames[0]", "spec.parentRefs[0].sectionName"} {
		if !strings.Contains(" "+got+" ", " "+f+" ") {
			t.Errorf("Fields lacks %s: %s", f, got)
		}
	}
}
