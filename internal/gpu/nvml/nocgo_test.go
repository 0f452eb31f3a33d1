//go:build !cgo

package nvml

import (
	"errors"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/gpu"
)

// TestBuiltWithoutNVML: a CGO_ENABLED=0 build compiles and says why it has
// no GPU (make test runs this package once without cgo).
func TestBuiltWithoutNVML(t *testing.T) {
	_, err := Open("")
	if !errors.Is(err, gpu.ErrNoGPU) || !strings.Contains(err.Error(), "built without NVML") {
		t.Fatalf("err = %v", err)
	}
}
