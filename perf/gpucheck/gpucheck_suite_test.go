// Package gpucheck_test proves GPU sampling on a real NVIDIA GPU (label
// needs:gpu): it loads the GPU with bf16 matmuls, samples it through NVML,
// checks that the figures move as a loaded GPU's must, measures what the
// sampler costs, and runs the perf suite to see its GPU columns filled.
//
// Without a GPU it skips, saying why; HARNESS_REQUIRE_GPU=1 (set by the
// GPU check's run script) makes that a failure. `make gpu-check` builds what
// a GPU machine needs to run it without Go: see docs/gpu-check.md.
package gpucheck_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestGPUCheck(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "gpu check")
}
