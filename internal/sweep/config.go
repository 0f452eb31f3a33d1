// Package sweep is the perf suite's orchestrator: it expands the settings
// (package settings) into cells and their repeats, opens the target
// (package target), runs each repeat (package measurement), judges each
// cell (package gate), runs capacity searches (package capacity), and
// keeps the report files current (package report). The Ginkgo suite in
// perf/ is a thin layer over it.
package sweep

import (
	"context"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/settings"
)

// Config is a sweep's settings with the files they name, read once.
type Config struct {
	settings.Config
	settings.Inputs
	// Driver, when set, drives every repeat's requests elsewhere (the
	// worker pods of PERF_WORKERS, package fleet); nil: this process.
	Driver measurement.Driver
	// OnCell, when set, is given every cell the sweep finishes (judged),
	// with the run so far: the remote write to Prometheus
	// (PERF_PROMETHEUS_RW_URL, package promrw). It must not block.
	OnCell func(run *results.Run, c results.Cell)
	// OpenDCGM, when set, opens the DCGM exporter's GPU source (the perf suite
	// builds it from PERF_DCGM_* and the kubeconfig, package dcgm/kube).
	OpenDCGM func(context.Context) (gpu.Source, error)
}

// Load reads the files s names (settings.Config.Load) into a Config.
func Load(s settings.Config) (Config, error) {
	in, err := s.Load()
	return Config{Config: s, Inputs: in}, err
}
