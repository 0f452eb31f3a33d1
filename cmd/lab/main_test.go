package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

const repo = "../.."

// A lab with a real node: its GPU comes from the stand-in device plugin
// through the kubelet (allocatable 1; the pod given it sees
// NVIDIA_VISIBLE_DEVICES; a second pod stays Pending on Insufficient
// nvidia.com/gpu). Then the lab is killed with SIGKILL mid-run (every
// process of it: control plane, node, shims, the pods), and after
// `make lab-down` no process, mount, namespace, veth, iptables chain (both
// live in the namespace), cgroup or file outside the lab's folder may
// remain.
func TestLabDownAfterSIGKILL(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("real pods need root")
	}
	if err := labnode.Preflight(); err != nil {
		simtest.Missing(t, err.Error())
	}
	if _, err := exec.LookPath("make"); err != nil {
		simtest.Missing(t, "make")
	}
	// The fixed paths the node binds in its mount namespace: each must be
	// there afterwards exactly when it was there before.
	existed := map[string]bool{}
	for _, p := range []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/var/lib/cni", "/run/containerd"} {
		_, err := os.Stat(p)
		existed[p] = err == nil
	}
	tmp, err := os.MkdirTemp("", "labrun")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	name := "t" + strings.TrimPrefix(filepath.Base(tmp), "labrun")
	// Deliberately deep, as a checkout's folder may be: no socket the lab
	// uses may depend on its length (a unix socket's path holds at most
	// 107 bytes; the kubelet's pod-resources socket is over that here).
	run := filepath.Join(tmp, strings.Repeat("deep-folder-", 6))
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	makeVars := []string{"LAB_NAME=" + name, "LAB_RUN=" + run}
	mk := func(target string, extra ...string) (string, error) {
		cmd := exec.Command("make", append(append([]string{"--no-print-directory", "-C", repo, target}, makeVars...), extra...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	defer mk("lab-down") // whatever happens below

	if out, err := mk("lab-up"); err != nil {
		t.Fatalf("make lab-up: %v\n%s", err, out)
	}
	node := labnode.Config{Name: name, Dir: filepath.Join(run, name)}
	home, _ := os.UserHomeDir()
	kwokDir := filepath.Join(home, ".kwok", "clusters", name)
	kubectl := func(args ...string) (string, error) {
		out, err := exec.Command("nsenter", append([]string{"--net=" + node.NetnsPath(), "--", "kubectl", "--kubeconfig", filepath.Join(kwokDir, "kubeconfig.yaml")}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	// Two pods asking for the real node's one GPU: the first gets it, from
	// the kubelet, through the stand-in device plugin's registration and
	// Allocate; the second stays Pending on Insufficient nvidia.com/gpu.
	gpuPod := func(name string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: " + name + "}\nspec:\n  nodeSelector: {kubernetes.io/hostname: " + labnode.NodeName + "}\n" +
			"  containers: [{name: p, image: " + labnode.PauseImage + ", imagePullPolicy: Never, resources: {limits: {nvidia.com/gpu: 1}}}]\n"
	}
	pod := filepath.Join(run, "pod.yaml")
	if err := os.WriteFile(pod, []byte(gpuPod("p")), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute) // a bound on a hang
	for {
		_, _ = kubectl("apply", "-f", pod) // the default ServiceAccount comes a moment after the control plane
		out, _ := kubectl("get", "pod", "p", "-o", "jsonpath={.status.phase} {.status.podIP}")
		if strings.HasPrefix(out, "Running 10.244.") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod on the real node: %q", out)
		}
		time.Sleep(250 * time.Millisecond) // polling the API
	}

	if out, _ := kubectl("get", "node", labnode.NodeName, "-o", `jsonpath={.status.allocatable.nvidia\.com/gpu}`); out != "1" {
		t.Errorf("allocatable nvidia.com/gpu %q on the real node, want 1 from the device plugin", out)
	}
	id, _ := kubectl("get", "pod", "p", "-o", "jsonpath={.status.containerStatuses[0].containerID}")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := labnode.Ctr(ctx, node, "containers", "info", strings.TrimPrefix(id, "containerd://"))
	if err != nil || !strings.Contains(string(info), "NVIDIA_VISIBLE_DEVICES=GPU-lab-0") {
		t.Errorf("the GPU pod's container lacks the plugin's NVIDIA_VISIBLE_DEVICES=GPU-lab-0 (%v)", err)
	}
	// What the kubelet says it allocated, through its pod-resources API.
	if len(node.PodResourcesSocket()) < 108 {
		t.Errorf("the pod-resources socket's path is %d bytes: the deep folder above no longer tests a long one", len(node.PodResourcesSocket()))
	}
	if devs, err := labnode.Allocated(ctx, node, "default", "p"); err != nil || !slices.Equal(devs["nvidia.com/gpu"], []string{"GPU-lab-0"}) {
		t.Errorf("the kubelet allocated %v to pod p (%v), want nvidia.com/gpu [GPU-lab-0]", devs, err)
	}
	second := filepath.Join(run, "second.yaml")
	if err := os.WriteFile(second, []byte(gpuPod("second")), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := kubectl("apply", "-f", second); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for deadline := time.Now().Add(time.Minute); ; { // a bound on a hang
		out, _ := kubectl("get", "pod", "second", "-o", `jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}`)
		if strings.Contains(out, "Insufficient nvidia.com/gpu") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second GPU pod: %q, want Pending on Insufficient nvidia.com/gpu", out)
		}
		time.Sleep(250 * time.Millisecond) // polling the API
	}

	// SIGKILL: every process of the lab, its control plane included.
	killed := 0
	for _, pattern := range []string{run, kwokDir} {
		out, _ := exec.Command("pgrep", "-f", pattern).Output()
		for _, f := range strings.Fields(string(out)) {
			var pid int
			fmt.Sscan(f, &pid)
			if syscall.Kill(pid, syscall.SIGKILL) == nil {
				killed++
			}
		}
	}
	if killed == 0 || len(labnode.Leftovers(node)) == 0 {
		t.Fatalf("killed %d processes, %d things to clean: the check below would prove nothing", killed, len(labnode.Leftovers(node)))
	}
	if out, err := mk("lab-down"); err != nil {
		t.Fatalf("make lab-down: %v\n%s", err, out)
	}
	left := labnode.Leftovers(node)
	if out, _ := exec.Command("pgrep", "-af", kwokDir).Output(); len(out) > 0 {
		left = append(left, "control plane: "+string(out))
	}
	if _, err := os.Stat(kwokDir); err == nil {
		left = append(left, "file "+kwokDir)
	}
	for p, was := range existed {
		if _, err := os.Stat(p); (err == nil) != was {
			left = append(left, fmt.Sprintf("%s: there before %v, after %v", p, was, err == nil))
		}
	}
	if len(left) > 0 {
		t.Errorf("left after make lab-down:\n%s", strings.Join(left, "\n"))
	}
}
