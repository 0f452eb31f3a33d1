package target

import (
	"cmp"
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// localGPU stands in for a machine whose NVML answers: one device that
// reports no figures (the Sampler marks them missing).
type localGPU struct{ closed atomic.Bool }

func (l *localGPU) Devices() []gpu.Device {
	return []gpu.Device{{Name: "NVIDIA H200", UUID: "GPU-local", Source: "nvml"}}
}
func (l *localGPU) Sample(int, *gpu.Sample) {}
func (l *localGPU) Close() error            { l.closed.Store(true); return nil }

// auto on a machine with a GPU: NVML answers, so the exporter is never
// looked for; dcgm asks the exporter even then. (make gpu-check runs
// auto against the real library on a GPU machine.)
func TestAutoPrefersALocalGPU(t *testing.T) {
	for _, tc := range []struct {
		source     string
		wantSource string
		wantDCGM   bool
	}{
		{"auto", "nvml", false},
		{"", "nvml", false},
		{"nvml", "nvml", false},
		{"dcgm", "dcgm", true},
	} {
		t.Run(cmp.Or(tc.source, "default"), func(t *testing.T) {
			ts := httptest.NewServer(replay.New(replay.Node{Hostname: "n", Pods: [2]dcgm.Pod{{Namespace: "llm", Name: "vllm-0"}}}))
			defer ts.Close()
			asked := false
			o := options(t, tc.source, func(ctx context.Context) (gpu.Source, error) {
				asked = true
				return kube.Open(ctx, kube.Lookup{URL: ts.URL + "/metrics", Pod: dcgm.Pod{Namespace: "llm", Name: "vllm"}})
			})
			local := &localGPU{}
			o.NVML = func(sel string) (gpu.Source, error) {
				if sel != "0" {
					t.Errorf("NVML asked for %q, want the PERF_GPU selection %q", sel, "0")
				}
				return local, nil
			}
			o.GPU, o.RequireGPU = "0", true
			tg, err := Open(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			tg.Close()
			if len(tg.GPUs) != 1 || tg.GPUs[0].Source != tc.wantSource || asked != tc.wantDCGM {
				t.Errorf("GPUs %+v, exporter looked for %v; want source %s, looked for %v", tg.GPUs, asked, tc.wantSource, tc.wantDCGM)
			}
			if tc.wantSource == "nvml" && !local.closed.Load() {
				t.Error("the local source was not closed with the target")
			}
		})
	}
}
