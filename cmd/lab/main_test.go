package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

const repo = "../.."

// A lab with a real node, killed with SIGKILL mid-run (every process of
// it: control plane, node, shims, the pod), then `make lab-down`: no
// process, mount, namespace, veth, iptables chain (both live in the
// namespace), cgroup or file outside the lab's folder may remain.
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
	run, err := os.MkdirTemp("", "labrun")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	name := "t" + strings.TrimPrefix(filepath.Base(run), "labrun")
	makeVars := []string{"LAB_NAME=" + name, "LAB_RUN=" + run}
	mk := func(target string, extra ...string) (string, error) {
		cmd := exec.Command("make", append(append([]string{"--no-print-directory", "-C", repo, target}, makeVars...), extra...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	defer mk("lab-down") // whatever happens below

	if out, err := mk("lab-up", "LAB_NODE=1"); err != nil {
		t.Fatalf("make lab-up LAB_NODE=1: %v\n%s", err, out)
	}
	node := labnode.Config{Name: name, Dir: filepath.Join(run, name)}
	home, _ := os.UserHomeDir()
	kwokDir := filepath.Join(home, ".kwok", "clusters", name)
	kubectl := func(args ...string) (string, error) {
		out, err := exec.Command("nsenter", append([]string{"--net=" + node.NetnsPath(), "--", "kubectl", "--kubeconfig", filepath.Join(kwokDir, "kubeconfig.yaml")}, args...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	pod := filepath.Join(run, "pod.yaml")
	if err := os.WriteFile(pod, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeName: lab-node-0\n  containers: [{name: p, image: "+labnode.PauseImage+", imagePullPolicy: Never}]\n"), 0o644); err != nil {
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
	if len(left) > 0 {
		t.Errorf("left after make lab-down:\n%s", strings.Join(left, "\n"))
	}
}
