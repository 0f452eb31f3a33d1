package cluster

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func execLookPath(name string) (string, error) { return exec.LookPath(name) }

// kubeconfigYAML is what the stand-in writes for `start`.
const kubeconfigYAML = `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:1"}
  name: gpu
contexts:
- context: {cluster: gpu, user: gpu}
  name: gpu
current-context: gpu
users:
- name: gpu
  user: {token: x}
`

// standIn puts a `minikube` on PATH that records its arguments and, for
// start, writes a kubeconfig where KUBECONFIG points, as minikube does.
func standIn(t *testing.T) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "args.log")
	kc := filepath.Join(dir, "kubeconfig.src")
	if err := os.WriteFile(kc, []byte(kubeconfigYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\ncase \" $* \" in\n  *\" start \"*) cp " + kc + " \"$KUBECONFIG\" ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(dir, "minikube"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return log
}

func TestMinikubeProvider(t *testing.T) {
	log := standIn(t)
	m := NewMinikube().WithName("gpu").WithVersion("v1.33.1").(*MinikubeProvider)
	kc, err := m.Create(context.Background(), "--cpus", "8")
	if err != nil {
		t.Fatal(err)
	}
	if kc != m.GetKubeconfig() || m.KubernetesRestConfig() == nil || m.KubernetesRestConfig().Host != "https://127.0.0.1:1" || m.GetKubectlContext() != "gpu" {
		t.Errorf("kubeconfig %s, rest config %+v", kc, m.KubernetesRestConfig())
	}
	if err := m.ExportLogs(context.Background(), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(log)
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{
		"-p gpu start --driver docker --container-runtime docker --gpus all --kubernetes-version v1.33.1 --cpus 8",
		"-p gpu logs --file ",
		"-p gpu delete",
	}
	if len(got) != 3 {
		t.Fatalf("calls %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("call %d: %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := os.Stat(kc); !os.IsNotExist(err) {
		t.Error("Destroy left the kubeconfig")
	}
}

func TestMinikubeMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := NewMinikube().WithName("gpu").Create(context.Background())
	if !errors.Is(err, ErrNoMinikube) {
		t.Errorf("err = %v, want ErrNoMinikube", err)
	}
	if _, err := NewMinikube().WithName("gpu").CreateWithConfig(context.Background(), "kind.yaml"); err == nil {
		t.Error("a config file: want an error")
	}
}

func TestMinikubeFailureIsReported(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "minikube"), []byte("#!/bin/sh\necho 'Exiting due to GUEST_DRIVER_MISMATCH' >&2\nexit 3\n"), 0o755)
	t.Setenv("PATH", dir)
	_, err := NewMinikube().WithName("gpu").Create(context.Background())
	if err == nil || !strings.Contains(err.Error(), "GUEST_DRIVER_MISMATCH") {
		t.Errorf("err = %v", err)
	}
}
