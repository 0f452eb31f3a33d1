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

// Answers of `minikube profile list -o json` as Minikube prints them (its
// Profile and ClusterConfig types; Config.GPUs is the --gpus value), cut to
// the fields that matter.
const (
	profilesNone       = `{"invalid":[],"valid":[]}`
	profilesWithGPU    = `{"invalid":[],"valid":[{"Name":"minikube","Status":"OK","Config":{"Name":"minikube","Memory":16384,"CPUs":4,"Driver":"docker","GPUs":"all"},"Active":true}]}`
	profilesWithoutGPU = `{"invalid":[],"valid":[{"Name":"minikube","Status":"OK","Config":{"Name":"minikube","Memory":6000,"CPUs":2,"Driver":"docker","GPUs":""},"Active":true}]}`
)

// standIn puts a `minikube` on PATH that records its arguments and answers
// as Minikube does: `profile list -o json` prints profiles (exit 0; with
// profiles "" it exits 85 as Minikube does when no profile exists), `start`
// writes a kubeconfig where KUBECONFIG points, `ip` prints an address.
func standIn(t *testing.T, profiles string) (log string) {
	t.Helper()
	dir := t.TempDir()
	log = filepath.Join(dir, "args.log")
	kc := filepath.Join(dir, "kubeconfig.src")
	pl := filepath.Join(dir, "profiles.json")
	if err := os.WriteFile(kc, []byte(kubeconfigYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pl, []byte(profiles), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
echo "$@" >> ` + log + `
case " $* " in
  *" profile list "*) if [ -s ` + pl + ` ]; then cat ` + pl + `; else echo '* No minikube profile was found.' >&2; exit 85; fi ;;
  *" start "*) cp ` + kc + ` "$KUBECONFIG" ;;
  *" ip "*) echo 192.168.49.2 ;;
  *" version --short "*) echo ${STANDIN_MINIKUBE_VERSION:-v1.38.0} ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "minikube"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	// The provider keeps its kubeconfig under the temporary folder: this
	// test's own, so that nothing is left behind and no user shares it.
	t.Setenv("TMPDIR", t.TempDir())
	return log
}

func calls(t *testing.T, log string) []string {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestMinikubeProvider(t *testing.T) {
	log := standIn(t, profilesNone)
	m := NewMinikube().WithName("gpu").WithVersion("v1.32.9").(*MinikubeProvider)
	kc, err := m.Create(context.Background(), "--disk-size", "60g")
	if err != nil {
		t.Fatal(err)
	}
	if kc != m.GetKubeconfig() || m.KubernetesRestConfig() == nil || m.KubernetesRestConfig().Host != "https://127.0.0.1:1" || m.GetKubectlContext() != "gpu" {
		t.Errorf("kubeconfig %s, rest config %+v", kc, m.KubernetesRestConfig())
	}
	ip, err := m.IP(context.Background())
	if err != nil || ip != "192.168.49.2" {
		t.Errorf("IP = %q, %v", ip, err)
	}
	if err := m.ExportLogs(context.Background(), t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"version --short",
		"profile list -o json",
		"-p gpu start --driver docker --container-runtime docker --gpus all --cpus 4 --memory 16g --kubernetes-version v1.32.9 --disk-size 60g",
		"-p gpu addons enable ingress",
		"-p gpu ip",
		"-p gpu logs --file ",
		"-p gpu delete",
	}
	got := calls(t, log)
	if len(got) != len(want) {
		t.Fatalf("calls %q", got)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("call %d: %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := os.Stat(filepath.Dir(kc)); !os.IsNotExist(err) {
		t.Error("Destroy left the kubeconfig's folder")
	}
	if left, _ := os.ReadDir(os.TempDir()); len(left) != 0 {
		t.Errorf("left in the temporary folder: %v", left)
	}
	// Two providers of one profile, as two users' runs: two kubeconfigs.
	a, b := NewMinikube(), NewMinikube()
	a.name, b.name = "gpu", "gpu"
	if a.kubeconfigPath() == b.kubeconfigPath() {
		t.Errorf("two providers share %s", a.kubeconfigPath())
	}
}

// The defaults: the team's own profile (Minikube's default name), sized
// for the vLLM pod, and a size the user chose.
func TestMinikubeDefaultsAndSize(t *testing.T) {
	log := standIn(t, profilesWithGPU)
	if _, err := NewMinikube().Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMinikube().WithSize(8, "24g").Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := calls(t, log)
	for _, want := range []string{
		"-p minikube start --driver docker --container-runtime docker --gpus all --cpus 4 --memory 16g",
		"-p minikube start --driver docker --container-runtime docker --gpus all --cpus 8 --memory 24g",
	} {
		if !strings.Contains(strings.Join(got, "\n"), want+"\n") {
			t.Errorf("no call %q in %q", want, got)
		}
	}
}

// A profile made without --gpus is refused before start, naming the fix.
func TestMinikubeProfileWithoutGPU(t *testing.T) {
	log := standIn(t, profilesWithoutGPU)
	_, err := NewMinikube().Create(context.Background())
	if !errors.Is(err, ErrProfileWithoutGPU) || !strings.Contains(err.Error(), "minikube delete -p minikube") {
		t.Fatalf("err = %v, want ErrProfileWithoutGPU naming the fix", err)
	}
	if got := calls(t, log); len(got) != 2 || got[1] != "profile list -o json" {
		t.Errorf("calls after the refusal: %q, want only the version and the profile list", got)
	}
	// Another profile's lack of GPUs is none of ours.
	if _, err := NewMinikube().WithName("other").Create(context.Background()); err != nil {
		t.Errorf("profile other: %v", err)
	}
}

// No profile at all: Minikube exits non-zero on profile list; start runs.
func TestMinikubeNoProfiles(t *testing.T) {
	log := standIn(t, "")
	if _, err := NewMinikube().Create(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := calls(t, log); len(got) != 4 || !strings.HasPrefix(got[2], "-p minikube start") {
		t.Errorf("calls %q", got)
	}
}

// Open on a Minikube sets the ingress URL from `minikube ip`.
func TestOpenMinikubeSetsIngressURL(t *testing.T) {
	standIn(t, profilesNone)
	c, err := Open(context.Background(), Config{Kind: Minikube, Name: "gpu", MinikubeCPUs: 6, MinikubeMemory: "20g"})
	if err != nil {
		t.Fatal(err)
	}
	if c.IngressURL != "http://192.168.49.2" {
		t.Errorf("IngressURL = %q", c.IngressURL)
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

// TestMinikubeTooOld: a minikube older than MinMinikubeVersion fails before
// anything starts, naming the version needed; the documented escape goes
// on.
func TestMinikubeTooOld(t *testing.T) {
	log := standIn(t, profilesNone)
	t.Setenv("STANDIN_MINIKUBE_VERSION", "v1.35.0")
	_, err := NewMinikube().Create(context.Background())
	if !errors.Is(err, ErrMinikubeTooOld) || !strings.Contains(err.Error(), MinMinikubeVersion) || !strings.Contains(err.Error(), "v1.35.0") {
		t.Fatalf("Create = %v, want ErrMinikubeTooOld naming v1.35.0 and %s", err, MinMinikubeVersion)
	}
	if got := calls(t, log); len(got) != 1 {
		t.Errorf("calls after the refusal: %q", got)
	}
	if _, err := NewMinikube().AllowAnyVersion(true).Create(context.Background()); err != nil {
		t.Fatalf("with AllowAnyVersion: %v", err)
	}
}

// TestMinikubeKubernetesVersion: a profile the harness starts asks for the
// team's Kubernetes line unless told otherwise.
func TestMinikubeKubernetesVersion(t *testing.T) {
	for _, tc := range []struct{ set, want string }{{"", DefaultMinikubeKubernetes}, {"v1.33.1", "v1.33.1"}} {
		p, err := provider(Config{Kind: Minikube, Name: "gpu", MinikubeKubernetes: tc.set})
		if err != nil {
			t.Fatal(err)
		}
		args := strings.Join(p.(*MinikubeProvider).StartArgs(), " ")
		if !strings.Contains(args, "--kubernetes-version "+tc.want) {
			t.Errorf("MinikubeKubernetes %q: start %s, want --kubernetes-version %s", tc.set, args, tc.want)
		}
	}
}
