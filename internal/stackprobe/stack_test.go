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
