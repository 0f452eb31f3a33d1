package sweep

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/nvml"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
)

// startGPU opens the GPUs and starts sampling into gpu.csv. Without a GPU
// it returns the reason, or an error when the configuration requires one.
func (r *Runner) startGPU(cfg Config) ([]results.GPU, string, error) {
	src, err := nvml.Open(cfg.GPU)
	if err != nil {
		if cfg.RequireGPU || !errors.Is(err, gpu.ErrNoGPU) {
			return nil, "", fmt.Errorf("sweep: GPU (PERF_REQUIRE_GPU=%v): %w", cfg.RequireGPU, err)
		}
		return nil, err.Error(), nil
	}
	if err := os.MkdirAll(cfg.ReportDir, 0o755); err != nil {
		_ = src.Close()
		return nil, "", fmt.Errorf("sweep: %w", err)
	}
	f, err := os.Create(filepath.Join(cfg.ReportDir, report.FileGPUTimeline))
	if err != nil {
		_ = src.Close()
		return nil, "", fmt.Errorf("sweep: %w", err)
	}
	s, err := gpu.NewSampler(src, cfg.GPUInterval, gpu.NewTimeline(f))
	if err != nil {
		_ = src.Close()
		_ = f.Close()
		return nil, "", err
	}
	r.sampler, r.gpuFile = s, f
	s.Start(context.Background())
	return src.Devices(), "", nil
}
