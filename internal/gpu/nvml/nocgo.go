//go:build !cgo

// Package nvml is the gpu.Source that reads NVIDIA GPUs through NVML. This
// build has no cgo, so it has no NVML: Open says so.
package nvml

import (
	"fmt"

	"github.com/llm-platform/harness/internal/gpu"
)

// Open reports that this build cannot read GPUs.
func Open(string) (gpu.Source, error) {
	return nil, fmt.Errorf("%w: built without NVML (cgo disabled)", gpu.ErrNoGPU)
}
