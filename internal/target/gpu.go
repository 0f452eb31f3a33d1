package target

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/nvml"
)

// openGPU opens the GPUs and starts sampling into o.GPUTimeline. Without a
// GPU it records the reason, or fails when o requires one.
func (t *Target) openGPU(o Options) error {
	src, err := nvml.Open(o.GPU)
	if err != nil {
		if o.RequireGPU || !errors.Is(err, gpu.ErrNoGPU) {
			return fmt.Errorf("target: GPU (PERF_REQUIRE_GPU=%v): %w", o.RequireGPU, err)
		}
		t.GPUReason = err.Error()
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(o.GPUTimeline), 0o755); err != nil {
		_ = src.Close()
		return fmt.Errorf("target: %w", err)
	}
	f, err := os.Create(o.GPUTimeline)
	if err != nil {
		_ = src.Close()
		return fmt.Errorf("target: %w", err)
	}
	s, err := gpu.NewSampler(src, o.GPUInterval, gpu.NewTimeline(f))
	if err != nil {
		_ = src.Close()
		_ = f.Close()
		return err
	}
	t.sampler, t.gpuFile, t.GPUs = s, f, src.Devices()
	s.Start(context.Background())
	return nil
}

// BeginGPU opens a GPU window named name; without a GPU it does nothing.
func (t *Target) BeginGPU(name string) {
	if t.sampler != nil {
		t.sampler.BeginCell(name)
	}
}

// EndGPU closes the window BeginGPU opened; nil without a GPU.
func (t *Target) EndGPU() *gpu.Window {
	if t.sampler == nil {
		return nil
	}
	w := t.sampler.EndCell()
	return &w
}
