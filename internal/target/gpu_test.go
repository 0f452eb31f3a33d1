package target

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/dcgm"
	"github.com/llm-platform/harness/internal/gpu/dcgm/kube"
	"github.com/llm-platform/harness/internal/gpu/dcgm/replay"
	"github.com/llm-platform/harness/internal/gpu/nvml"
)

// noLocalGPU skips on a machine whose NVML answers: there auto picks it
// (make gpu-check proves that on a GPU machine).
func noLocalGPU(t *testing.T) {
	t.Helper()
	src, err := nvml.Open("")
	if err == nil {
		_ = src.Close()
		t.Skip("this machine has a GPU: PERF_GPU_SOURCE=auto picks NVML here (make gpu-check checks that)")
	}
	if !errors.Is(err, gpu.ErrNoGPU) {
		t.Fatalf("NVML: %v", err)
	}
}

func options(t *testing.T, source string, open func(context.Context) (gpu.Source, error)) Options {
	return Options{ReadyTimeout: 10 * time.Second, GPUInterval: gpu.DefaultInterval, GPUTimeline: filepath.Join(t.TempDir(), "gpu.csv"),
		GPUSource: source, DCGM: open}
}

// auto: no local GPU here, so the DCGM exporter gives the figures.
func TestAutoFallsBackToDCGM(t *testing.T) {
	noLocalGPU(t)
	ts := httptest.NewServer(replay.New(replay.Node{Hostname: "n", Pods: [2]dcgm.Pod{{Namespace: "llm", Name: "vllm-0"}}}))
	defer ts.Close()
	open := func(ctx context.Context) (gpu.Source, error) {
		return kube.Open(ctx, kube.Lookup{URL: ts.URL + "/metrics", Pod: dcgm.Pod{Namespace: "llm", Name: "vllm"}})
	}
	tg, err := Open(context.Background(), options(t, "auto", open))
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if len(tg.GPUs) != 1 || tg.GPUs[0].Source != "dcgm" || tg.GPUs[0].UUID != "GPU-34319582-d595-d1c7-d1d2-179bcfa61660" || tg.GPUReason != "" {
		t.Errorf("GPUs %+v, reason %q", tg.GPUs, tg.GPUReason)
	}
}

// Neither NVML nor an exporter: the reason names both, and under
// PERF_REQUIRE_GPU=1 it is a failure; nvml never looks for an exporter.
func TestNeitherSource(t *testing.T) {
	noLocalGPU(t)
	called := false
	open := func(ctx context.Context) (gpu.Source, error) {
		called = true
		return kube.Open(ctx, kube.Lookup{Kubeconfig: filepath.Join(t.TempDir(), "no-kubeconfig"), Service: dcgm.Pod{Namespace: "gpu-operator", Name: "nvidia-dcgm-exporter"}})
	}
	tg, err := Open(context.Background(), options(t, "auto", open))
	if err != nil {
		t.Fatal(err)
	}
	reason := tg.GPUReason
	t.Log(reason)
	tg.Close()
	if !strings.Contains(reason, "NVML") || !strings.Contains(reason, "DCGM exporter") || !strings.Contains(reason, "PERF_DCGM_URL") {
		t.Errorf("reason %q should say why neither answered", reason)
	}
	o := options(t, "auto", open)
	o.RequireGPU = true
	if _, err := Open(context.Background(), o); err == nil || !strings.Contains(err.Error(), "PERF_REQUIRE_GPU=true, PERF_GPU_SOURCE=auto") ||
		!strings.Contains(err.Error(), "DCGM exporter") {
		t.Errorf("required: %v", err)
	}
	called = false
	o = options(t, "nvml", open)
	o.RequireGPU = true
	if _, err := Open(context.Background(), o); err == nil || called {
		t.Errorf("nvml: %v, exporter looked for: %v", err, called)
	}
}
