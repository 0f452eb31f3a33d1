package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/gateway"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// TestRunsCommandBehindNginx: the command sees INGRESS_URL and BACKEND_URL,
// and a request with Host llm.local through nginx reaches the backend.
func TestRunsCommandBehindNginx(t *testing.T) {
	t.Run("ingress", func(t *testing.T) { runsBehindNginx(t, "lab") })
	// The Gateway path: nginx from the HTTPRoute and NGF's policies.
	t.Run("gateway", func(t *testing.T) { runsBehindNginx(t, "lab-gateway") })
}

func runsBehindNginx(t *testing.T, overlay string) {
	bin := os.Getenv("LLMD_INFERENCE_SIM")
	if bin == "" {
		simtest.Missing(t, "LLMD_INFERENCE_SIM not set: make test builds llm-d-inference-sim")
	}
	out := filepath.Join(t.TempDir(), "models.json")
	code, err := run(context.Background(), []string{"-llmd", bin, "-overlay", filepath.Join("..", "..", "manifests", "overlays", overlay), "--",
		"sh", "-c", `test -n "$BACKEND_URL" && curl -sf -H 'Host: llm.local' "$INGRESS_URL/v1/models" > ` + out})
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "TinyLlama/TinyLlama-1.1B-Chat-v1.0") {
		t.Errorf("through nginx: %s", b)
	}
	if code, _ := run(context.Background(), []string{"-llmd", bin, "-overlay", filepath.Join("..", "..", "manifests", "overlays", "lab"), "--", "false"}); code != 1 {
		t.Errorf("a failing command's code: %d, want 1", code)
	}
	if _, err := run(context.Background(), []string{"-llmd", bin}); err == nil {
		t.Error("no command: want an error")
	}
}

// Each overlay's route, rendered as its implementation would: the lessons'
// directives from the Ingress's annotations or from NGF's policies; the
// envoy-gateway overlay refused, since NGF would ignore its timeouts.
func TestNginxConfig(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		simtest.Missing(t, "kubectl renders the overlays")
	}
	for overlay, want := range map[string]string{
		"lab":                        "Ingress vllm",
		"lab-gateway":                "HTTPRoute vllm and NGF's policies",
		"minikube-gpu-envoy-gateway": "error: gateway: HTTPRoute vllm sets spec.rules[0].timeouts, which NGINX Gateway Fabric ignores (UnsupportedField)",
	} {
		objs, err := render(context.Background(), filepath.Join("..", "..", "manifests", "overlays", overlay))
		if err != nil {
			t.Fatal(err)
		}
		cfg, route, err := gateway.NginxConfig(objs, "127.0.0.1:1", "127.0.0.1:2")
		if err != nil {
			route = "error: " + err.Error()
		}
		if route != want {
			t.Errorf("%s: %q, want %q", overlay, route, want)
			continue
		}
		if err == nil {
			conf := string(cfg.Render(t.TempDir()))
			for _, d := range []string{"proxy_read_timeout 600s;", "proxy_buffering off;", "client_max_body_size 8m;"} {
				if !strings.Contains(conf, d) {
					t.Errorf("%s: nginx.conf lacks %s", overlay, d)
				}
			}
		}
	}
}

// -backend: nginx in front of a server that already runs, no llm-d started
// (the lab's real node, where the backend is the platform's Service).
func TestBackendFlag(t *testing.T) {
	if os.Getenv("LLMD_INFERENCE_SIM") == "" {
		simtest.Missing(t, "LLMD_INFERENCE_SIM not set: make test builds llm-d-inference-sim")
	}
	backend := simtest.StartLLMD(t, "--model", "TinyLlama/TinyLlama-1.1B-Chat-v1.0")
	out := filepath.Join(t.TempDir(), "models.json")
	code, err := run(context.Background(), []string{"-llmd", "", "-backend", backend, "-overlay", filepath.Join("..", "..", "manifests", "overlays", "lab-gateway"), "--",
		"sh", "-c", `test "$BACKEND_URL" = "` + backend + `" && curl -sf -H 'Host: llm.local' "$INGRESS_URL/v1/models" > ` + out})
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v", code, err)
	}
	if b, _ := os.ReadFile(out); !strings.Contains(string(b), "TinyLlama/TinyLlama-1.1B-Chat-v1.0") {
		t.Errorf("through nginx to -backend: %s", b)
	}
	if _, err := run(context.Background(), []string{"-llmd", "", "--", "true"}); err == nil || !strings.Contains(err.Error(), "no -backend") {
		t.Errorf("neither -llmd nor -backend: %v", err)
	}
}
