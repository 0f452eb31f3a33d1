package stackprobe

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	base := Stack{ServerVersion: "0.11.0", Model: "m", Host: "llm.local", Route: "/v1/chat/completions", Kubernetes: "v1.32.9",
		Controllers: []string{"registry.k8s.io/ingress-nginx/controller:v1.15.1"}}
	if d := Diff(base, base); len(d) != 0 {
		t.Errorf("same stack: %v", d)
	}
	cur := base
	cur.ServerVersion, cur.Controllers = "0.11.1", []string{"ghcr.io/nginx/nginx-gateway-fabric:2.7.0"}
	want := []string{"server_version: 0.11.0 -> 0.11.1",
		"controllers: registry.k8s.io/ingress-nginx/controller:v1.15.1 -> ghcr.io/nginx/nginx-gateway-fabric:2.7.0"}
	if d := Diff(base, cur); !slices.Equal(d, want) {
		t.Errorf("diff %q, want %q", d, want)
	}
	// An unknown is not a difference (e.g. a baseline made without a kubeconfig).
	cur = base
	cur.Kubernetes, cur.ServerVersion = "", ""
	if d := Diff(base, cur); len(d) != 0 {
		t.Errorf("unknowns: %v", d)
	}
}

// fakeKubectl puts a kubectl on PATH that answers version and get pods as
// kubectl does, and a kubeconfig where KUBECONFIG points.
func fakeKubectl(t *testing.T, version, pods string, fail bool) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\ncase \"$*\" in\n  *\" version \"*) echo '" + version + "' ;;\n  *\" get pods \"*) printf '" + pods + "' ;;\nesac\n"
	if fail {
		script = "#!/bin/sh\necho 'The connection to the server 127.0.0.1:6443 was refused' >&2\nexit 1\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	_ = os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\n"), 0o644)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("KUBECONFIG", kc)
}

func TestKubernetes(t *testing.T) {
	fakeKubectl(t, `{"clientVersion":{"gitVersion":"v1.37.2"},"serverVersion":{"gitVersion":"v1.32.9"}}`,
		`registry.k8s.io/ingress-nginx/controller:v1.15.1\nregistry.k8s.io/ingress-nginx/controller:v1.15.1\n`, false)
	v, c, err := Kubernetes(context.Background())
	if err != nil || v != "v1.32.9" || !slices.Equal(c, []string{"registry.k8s.io/ingress-nginx/controller:v1.15.1"}) {
		t.Errorf("version %q controllers %q err %v", v, c, err)
	}
}

func TestKubernetesUnavailable(t *testing.T) {
	fakeKubectl(t, "", "", true)
	if _, _, err := Kubernetes(context.Background()); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("unreachable cluster: %v", err)
	}
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	if _, _, err := Kubernetes(context.Background()); !errors.Is(err, ErrNoKubeconfig) {
		t.Errorf("no kubeconfig: %v", err)
	}
}
