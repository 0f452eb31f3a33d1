package cluster

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/sim/simtest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
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
	requireKubectl(t)
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

// requireKubectl: kubectl renders the manifests. The README requires it;
// with HARNESS_REQUIRE_TOOLS=1 (make test) its absence fails.
func requireKubectl(t *testing.T) {
	t.Helper()
	if _, err := execLookPath("kubectl"); err != nil {
		simtest.Missing(t, "kubectl not installed (the README requires it)")
	}
}

// TestPlatformDeployment holds the Deployment's settings that a GPU box
// needs and a lab cannot show: each was a day-one failure when wrong.
func TestPlatformDeployment(t *testing.T) {
	requireKubectl(t)
	b, err := Kustomize(context.Background(), filepath.Join("..", "..", "manifests", "overlays", "minikube-gpu"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &dep); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	// vllm serve with the model as its positional argument, not --model
	// (deprecated) after an entrypoint that may not take a positional.
	if !slices.Equal(c.Command, []string{"vllm", "serve"}) || len(c.Args) == 0 || strings.HasPrefix(c.Args[0], "-") || slices.Contains(c.Args, "--model") {
		t.Errorf("command %q args %q: want vllm serve MODEL ...", c.Command, c.Args)
	}
	flag := func(name string) string {
		i := slices.Index(c.Args, name)
		if i < 0 || i+1 >= len(c.Args) {
			t.Fatalf("no %s in %q", name, c.Args)
		}
		return c.Args[i+1]
	}
	// vLLM refuses to start unless this share of the card's total memory
	// is free: keep room for what else runs on a 12 GB desktop card.
	if u, err := strconv.ParseFloat(flag("--gpu-memory-utilization"), 64); err != nil || u > 0.8 {
		t.Errorf("--gpu-memory-utilization %s: want <= 0.80 (free memory below it blocks startup)", flag("--gpu-memory-utilization"))
	}
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.TimeoutSeconds < 5 {
			t.Errorf("%s probe %+v: want timeoutSeconds >= 5 (a saturated vLLM misses the 1 s default)", name, p)
		}
	}
	if c.Resources.Limits.Memory().Cmp(resource.MustParse("12Gi")) > 0 {
		t.Errorf("memory limit %s: the default Minikube (%s) must hold it beside the control plane", c.Resources.Limits.Memory(), DefaultMinikubeMemory)
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
