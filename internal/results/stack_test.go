package results

import (
	"slices"
	"testing"
)

func TestStackDiff(t *testing.T) {
	base := Stack{ServerVersion: "0.11.0", Model: "m", Host: "llm.local", Route: "/v1/chat/completions", Kubernetes: "v1.32.9",
		Controllers: []string{"registry.k8s.io/ingress-nginx/controller:v1.15.1"}}
	if d := StackDiff(base, base); len(d) != 0 {
		t.Errorf("same stack: %v", d)
	}
	cur := base
	cur.ServerVersion, cur.Controllers = "0.11.1", []string{"ghcr.io/nginx/nginx-gateway-fabric:2.7.0"}
	want := []string{"server_version: 0.11.0 -> 0.11.1",
		"controllers: registry.k8s.io/ingress-nginx/controller:v1.15.1 -> ghcr.io/nginx/nginx-gateway-fabric:2.7.0"}
	if d := StackDiff(base, cur); !slices.Equal(d, want) {
		t.Errorf("diff %q, want %q", d, want)
	}
	// An unknown is not a difference (e.g. a baseline made without a kubeconfig).
	cur = base
	cur.Kubernetes, cur.ServerVersion = "", ""
	if d := StackDiff(base, cur); len(d) != 0 {
		t.Errorf("unknowns: %v", d)
	}
}
