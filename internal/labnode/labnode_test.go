package labnode_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/ociimage"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// repo is the repository root (go test runs in the package's folder).
const repo = "../.."

// staticBuild builds a command of this module as a static binary.
func staticBuild(t *testing.T, pkg, out string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v: %s", pkg, err, b)
	}
}

func image(t *testing.T, dir, ref, bin string, args ...string) string {
	t.Helper()
	tarball := filepath.Join(dir, filepath.Base(bin)+".tar")
	im := ociimage.Image{Ref: ref, Files: []ociimage.File{{Path: "/" + filepath.Base(bin), Source: bin}}, Entrypoint: append([]string{"/" + filepath.Base(bin)}, args...)}
	if _, err := im.WriteTarball(tarball); err != nil {
		t.Fatal(err)
	}
	return tarball
}

// in runs a command inside the lab's namespace and returns its output.
func in(ctx context.Context, c labnode.Config, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + c.NetnsPath(), "--", name}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func eventually(t *testing.T, ctx context.Context, what string, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d) // a bound on a hang, not a timing check
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(250 * time.Millisecond) // polling the API
	}
}

// A real node in its own namespace beside a kwok control plane: it
// registers Ready, runs a pod whose readiness probe the kubelet checks,
// serves it through a Service's ClusterIP (kube-proxy's rules), and after
// a SIGKILL of every lab process, Teardown leaves nothing behind.
func TestRealNode(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("real pods need root")
	}
	if err := labnode.Preflight(); err != nil {
		simtest.Missing(t, err.Error())
	}
	bin := os.Getenv("E2E_LAB_BIN")
	for _, b := range []string{"kubelet", "kube-proxy", "kwokctl", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); bin == "" || err != nil {
			simtest.Missing(t, "E2E_LAB_BIN: no "+b+" (make tools builds the lab's binaries; make test sets it)")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "lab") // cmd/lab's test runs a lab under a deep folder
	if err != nil {
		t.Fatal(err)
	}
	cfg := labnode.Config{Name: "t" + filepath.Base(dir)[3:], Dir: dir, Bin: bin}
	kwokDir := filepath.Join(dir, "kwok")
	cfg.Kubeconfig = filepath.Join(kwokDir, "clusters", cfg.Name, "kubeconfig.yaml")
	kwokEnv := append(os.Environ(), "KWOK_WORKDIR="+kwokDir, "KWOK_RUNTIME=binary")
	for b, v := range map[string]string{"kube-apiserver": "KWOK_KUBE_APISERVER_BINARY", "kube-controller-manager": "KWOK_KUBE_CONTROLLER_MANAGER_BINARY",
		"kube-scheduler": "KWOK_KUBE_SCHEDULER_BINARY", "kwok": "KWOK_CONTROLLER_BINARY", "etcd": "KWOK_ETCD_BINARY"} {
		kwokEnv = append(kwokEnv, v+"="+filepath.Join(bin, b))
	}
	kwokctl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + cfg.NetnsPath(), "--", filepath.Join(bin, "kwokctl")}, args...)...)
		cmd.Env = kwokEnv
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kwokctl %v: %w: %s", args, err, b)
		}
		return nil
	}
	t.Cleanup(func() {
		_ = kwokctl("delete", "cluster", "--name", cfg.Name)
		if err := labnode.Teardown(context.Background(), cfg); err != nil {
			t.Errorf("teardown: %v", err)
		}
		os.RemoveAll(dir)
	})

	images := t.TempDir()
	staticBuild(t, "./cmd/labpause", filepath.Join(images, "pause"))
	staticBuild(t, "./cmd/llmsim", filepath.Join(images, "llmsim"))
	cfg.Images = []string{image(t, images, labnode.PauseImage, filepath.Join(images, "pause")),
		image(t, images, "lab.local/llmsim:test", filepath.Join(images, "llmsim"))}

	began := time.Now()
	if err := labnode.CreateNetns(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	kwokConf := filepath.Join(dir, "kwok.yaml")
	// kwok fakes only its own nodes: the real node's pods are the kubelet's.
	if err := os.WriteFile(kwokConf, []byte("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokConfiguration\noptions:\n  manageAllNodes: false\n  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := kwokctl("create", "cluster", "--name", cfg.Name, "--config", kwokConf); err != nil {
		t.Fatal(err)
	}
	if err := labnode.Start(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) (string, error) {
		return in(ctx, cfg, "kubectl", append([]string{"--kubeconfig", cfg.Kubeconfig}, args...)...)
	}
	eventually(t, ctx, "node Ready", 2*time.Minute, func() error {
		out, err := kubectl("get", "node", labnode.NodeName, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil || out != "True" {
			return fmt.Errorf("%s %v", out, err)
		}
		return nil
	})
	t.Logf("node Ready %v after the namespace was made", time.Since(began).Round(time.Millisecond))

	manifest := filepath.Join(dir, "sim.yaml")
	if err := os.WriteFile(manifest, []byte(`apiVersion: v1
kind: Pod
metadata: {name: sim, labels: {app: sim}}
spec:
  containers:
  - name: sim
    image: lab.local/llmsim:test
    imagePullPolicy: Never
    args: ["-addr", ":8000"]
    ports: [{name: http, containerPort: 8000}]
    readinessProbe: {httpGet: {path: /health, port: http}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: sim}
spec:
  selector: {app: sim}
  ports: [{port: 80, targetPort: http}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The default ServiceAccount appears a moment after the control plane.
	eventually(t, ctx, "the pod and Service applied", time.Minute, func() error {
		if out, err := kubectl("apply", "-f", manifest); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	})
	eventually(t, ctx, "pod Ready", 2*time.Minute, func() error {
		out, err := kubectl("get", "pod", "sim", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.nodeName} {.status.podIP}`)
		if err != nil || !strings.HasPrefix(out, "True "+labnode.NodeName+" 10.244.0.") {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	ip, _ := kubectl("get", "svc", "sim", "-o", "jsonpath={.spec.clusterIP}")
	eventually(t, ctx, "the Service through kube-proxy", time.Minute, func() error {
		out, err := in(ctx, cfg, "curl", "-sf", "-m", "2", "http://"+ip+"/v1/models")
		if err != nil || !strings.Contains(out, "TinyLlama") {
			return fmt.Errorf("%q %v", out, err)
		}
		return nil
	})
	t.Logf("pod Ready and served at %s:80 %v after the namespace was made", ip, time.Since(began).Round(time.Millisecond))

	// A killed lab: every process of the node and the control plane, SIGKILL.
	out, _ := exec.Command("pgrep", "-f", dir).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		fmt.Sscan(f, &pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if left := labnode.Leftovers(cfg); len(left) == 0 {
		t.Fatal("nothing to clean after the SIGKILL: the check below would prove nothing")
	}
	if err := labnode.Teardown(ctx, cfg); err != nil {
		t.Fatalf("teardown: %v", err)
	}
	if left := labnode.Leftovers(cfg); len(left) > 0 {
		t.Errorf("left after teardown:\n%s", strings.Join(left, "\n"))
	}
}
