package target

import (
	"cmp"
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
func (t *Target) openGPU(ctx context.Context, o Options) error {
	src, err := openSource(ctx, o)
	if err != nil {
		if o.RequireGPU || !errors.Is(err, gpu.ErrNoGPU) {
			return fmt.Errorf("target: GPU (PERF_REQUIRE_GPU=%v, PERF_GPU_SOURCE=%s): %w", o.RequireGPU, cmp.Or(o.GPUSource, "auto"), err)
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

// openSource opens the source o.GPUSource names: auto tries NVML, then
// the DCGM exporter, and says why neither answered.
func openSource(ctx context.Context, o Options) (gpu.Source, error) {
	dcgm := func() (gpu.Source, error) {
		if o.DCGM == nil {
			return nil, fmt.Errorf("%w: no DCGM exporter configured", gpu.ErrNoGPU)
		}
		return o.DCGM(ctx)
	}
	local := o.NVML
	if local == nil {
		local = nvml.Open
	}
	switch o.GPUSource {
	case "nvml":
		return local(o.GPU)
	case "dcgm":
		return dcgm()
	}
	src, err := local(o.GPU)
	if err == nil || !errors.Is(err, gpu.ErrNoGPU) {
		return src, err
	}
	d, derr := dcgm()
	if derr != nil {
		return nil, fmt.Errorf("%w; %w", err, derr)
	}
	return d, nil
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
