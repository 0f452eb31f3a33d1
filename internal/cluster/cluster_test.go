package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Kind: "kind"}, "E2E_CLUSTER"},
		{Config{Kind: Minikube}, "E2E_CLUSTER_NAME"},
		{Config{Kind: Lab, Name: "lab"}, "E2E_LAB_BIN"},
	} {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want it to name %s", tc.cfg, err, tc.want)
		}
	}
	if err := (Config{Kind: Existing}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestDecode(t *testing.T) {
	objs, err := Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\n"))
	if err != nil || len(objs) != 2 || objs[1].GetKind() != "Service" || objs[1].GetName() != "b" {
		t.Fatalf("%v %v", objs, err)
	}
	if _, err := Decode([]byte("metadata:\n  name: x\n")); err == nil {
		t.Error("a document without kind: want an error")
	}
	if _, err := Decode([]byte("kind: [")); err == nil {
		t.Error("bad YAML: want an error")
	}
}

// TestKustomizeOverlays renders the repository's overlays with kubectl.
func TestKustomizeOverlays(t *testing.T) {
	if _, err := os.Stat("/usr/bin/kubectl"); err != nil {
		if _, err := execLookPath("kubectl"); err != nil {
			t.Skip("kubectl not installed")
		}
	}
	for _, o := range []string{"lab", "minikube-gpu"} {
		b, err := Kustomize(context.Background(), filepath.Join("..", "..", "manifests", "overlays", o))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]bool{}
		for _, obj := range objs {
			kinds[obj.GetKind()] = true
		}
		for _, k := range []string{"Namespace", "Deployment", "Service", "Ingress"} {
			if !kinds[k] {
				t.Errorf("%s: no %s", o, k)
			}
		}
	}
	if _, err := Kustomize(context.Background(), t.TempDir()); err == nil {
		t.Error("an empty folder: want an error")
	}
}

func TestOpenExistingWithoutKubeconfig(t *testing.T) {
	_, err := Open(context.Background(), Config{Kind: Existing, Kubeconfig: filepath.Join(t.TempDir(), "missing")})
	if err == nil || !strings.Contains(err.Error(), "kubeconfig") {
		t.Errorf("err = %v", err)
	}
}

func TestLabNeedsBinaries(t *testing.T) {
	_, err := Open(context.Background(), Config{Kind: Lab, Name: "x", LabBin: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("err = %v", err)
	}
}
