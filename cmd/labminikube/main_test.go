package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func standIn(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("LAB_MINIKUBE_HOME", home)
	s := Settings{Profile: "minikube", Kubeconfig: filepath.Join(home, "lab.kubeconfig"), IP: "10.250.0.1", Version: "v1.38.0",
		KubernetesVersion: "v1.32.9", Images: []string{"lab.local/llm-d-inference-sim:v0.10.2"}}
	if err := s.Write(home); err != nil {
		t.Fatal(err)
	}
	lab := `apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://10.250.0.1:6443"}
  name: kwok-lab
contexts:
- context: {cluster: kwok-lab, user: kwok-lab}
  name: kwok-lab
current-context: kwok-lab
users:
- name: kwok-lab
  user: {token: x}
`
	if err := os.WriteFile(filepath.Join(home, "lab.kubeconfig"), []byte(lab), 0o644); err != nil {
		t.Fatal(err)
	}
}

func call(t *testing.T, args ...string) (int, string, error) {
	t.Helper()
	var out bytes.Buffer
	code, err := run(args, &out)
	return code, out.String(), err
}

// The calls the workflow's scripts make, answered as Minikube answers them.
func TestAnswers(t *testing.T) {
	standIn(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"version", "--short"}, 0, "v1.38.0\n"},
		{[]string{"-p", "minikube", "status"}, 0, "apiserver: Running"},
		{[]string{"--profile=minikube", "ip"}, 0, "10.250.0.1\n"},
		{[]string{"-p", "gpu", "status"}, exitProfileNotFound, ""},
		{[]string{"profile", "list", "-o", "json"}, 0, `"KubernetesVersion":"v1.32.9"`},
		{[]string{"-p", "minikube", "image", "pull", "lab.local/llm-d-inference-sim:v0.10.2"}, 0, "present on the node"},
		{[]string{"-p", "minikube", "image", "pull", "vllm/vllm-openai:v0.11.0"}, 1, ""},
		{[]string{"-p", "minikube", "ssh", "--", "docker", "run", "--rm", "--gpus", "all", "lab.local/llm-d-inference-sim:v0.10.2", "-c", "x"}, 0, "the lab has no GPU"},
		{[]string{"-p", "minikube", "ssh", "--", "docker", "run", "vllm/vllm-openai:v0.11.0"}, 125, ""},
		{[]string{"-p", "minikube", "start", "--gpus", "all"}, 1, ""},
		{[]string{"-p", "minikube", "tunnel"}, exitUsage, ""},
	} {
		code, out, err := call(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || (code != 0) != (err != nil) {
			t.Errorf("minikube %s: exit %d (%v), %q; want exit %d with %q", strings.Join(tc.args, " "), code, err, out, tc.code, tc.out)
		}
	}
	calls, _ := os.ReadFile(filepath.Join(os.Getenv("LAB_MINIKUBE_HOME"), "calls.log"))
	if !strings.Contains(string(calls), "minikube -p minikube start --gpus all\n") {
		t.Errorf("calls.log does not record the refused start:\n%s", calls)
	}
}

// update-context writes the lab as context PROFILE into $KUBECONFIG,
// keeping what the file held, and makes it current.
func TestUpdateContext(t *testing.T) {
	standIn(t)
	kc := filepath.Join(t.TempDir(), "config")
	other := "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {server: \"https://other:6443\"}\n  name: other\ncontexts:\n- context: {cluster: other, user: other}\n  name: other\ncurrent-context: other\nusers:\n- name: other\n  user: {token: other-token}\n"
	if err := os.WriteFile(kc, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kc)
	if code, out, err := call(t, "-p", "minikube", "update-context"); code != 0 || err != nil || !strings.Contains(out, "https://10.250.0.1:6443") {
		t.Fatalf("update-context: %d %v %q", code, err, out)
	}
	b, _ := os.ReadFile(kc)
	for _, want := range []string{"current-context: minikube", "server: https://10.250.0.1:6443", "server: https://other:6443"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("kubeconfig lacks %q:\n%s", want, b)
		}
	}
}
