// Package settings is the perf sweep's configuration: every setting an
// environment variable (the team's k6 habit, whose own variables are taken
// too) and the same as a flag after `--`. The table (Settings) is the one
// source of each setting's name, flag, default and meaning: Defaults parses
// its defaults, the flags are registered from it, and docs/configuration.md
// is checked against it.
//
// Resolving the settings (Flags.Config) is pure: it parses and checks what
// the values alone show, and reads no file. The files they name (payloads,
// trace, baseline, compare, CA bundle) are read once, by Load.
package settings

import (
	"fmt"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/sim"
)

// Config is one sweep's settings.
type Config struct {
	Target, Host, Model, APIKey string
	SimPreset                   string
	SimRunCV, SimSlowdown       float64
	// SimPrefillSlowdown and SimDecodeSlowdown slow one phase; the
	// restart CV and seed model a server lifetime.
	SimPrefillSlowdown, SimDecodeSlowdown float64
	SimRestartCV                          float64
	SimRestartSeed                        uint64
	SimMaxNumSeqs                         int
	SimKVCacheTokens                      int
	PayloadsFile                          string
	Payloads                              []string
	Concurrency                           []int
	IterationsPerVU                       int
	Duration                              time.Duration
	Rates                                 []float64
	Requests                              int
	Warmup                                int
	RampUp                                time.Duration
	Timeout                               time.Duration
	ReadyTimeout                          time.Duration
	ReportDir                             string
	Baseline, Compare                     string
	SLOTTFT, SLOE2E                       time.Duration
	MaxErrorRate                          float64
	Tolerance                             float64
	Repeats                               int
	Alpha, MaxCV                          float64
	GateRequired                          bool
	// History is the run history's folder (PERF_HISTORY), with its gate's
	// and change points' settings.
	History               string
	HistoryMinRuns        int
	ChangepointMinSegment int
	ChangepointAlpha      float64
	// RouteKind is what carried the requests: ingress, gateway or "".
	RouteKind   string
	StrictLoad  bool
	Progress    bool
	GPU         string
	GPUInterval time.Duration
	RequireGPU  bool
	// GPUSource is where GPU figures come from: nvml (this machine), dcgm
	// (a DCGM exporter, named by DCGM) or auto (NVML when a local GPU
	// answers, else DCGM when an exporter is found).
	GPUSource string
	DCGM      DCGM
	// Stream sends streamed requests (PERF_STREAM, default on); off, they
	// are whole responses as hey sends them, and TTFT equals E2E.
	Stream bool
	// CAFile and InsecureSkipVerify are an https target's trust.
	CAFile             string
	InsecureSkipVerify bool
	// Iterations is k6's ITERATIONS: total requests per closed-loop cell,
	// shared by its VUs; 0 means IterationsPerVU per VU.
	Iterations int
	// K6 holds the k6 variables that were taken, by name, with their values.
	K6 map[string]string
	// Search replaces the matrix with a capacity search ("concurrency" or
	// "rate"); its bounds and decision settings follow.
	Search           string
	SearchStart      float64
	SearchMax        float64
	SearchResolution float64
	SearchMaxRepeats int
	SearchBudget     time.Duration
	MinGoodRatio     float64
	// StopEarly is "auto" (search probes and open-loop cells), "1" (every
	// cell) or "0" (none).
	StopEarly string
	// Trace replays a request trace (package trace: Mooncake, Azure,
	// BurstGPT) as one open-loop cell instead of the matrix, at
	// TraceSpeedup, its hash_ids blocks TraceBlockTokens long.
	Trace            string
	TraceSpeedup     float64
	TraceBlockTokens int
	// TraceFormat names the trace's format ("" detects it); TraceStart and
	// TraceDuration are the window of it replayed; TraceFit how a request
	// over the model's window (MaxModelLen, 0: the server's) is fitted.
	TraceFormat               string
	TraceStart, TraceDuration time.Duration
	TraceFit                  string
	MaxModelLen               int
	// Workers drives the sweep from worker pods (PERF_WORKERS).
	Workers Workers
	// PrometheusRW is the remote-write URL each finished cell is sent to
	// (PERF_PROMETHEUS_RW_URL; empty: none).
	PrometheusRW string
}

// Defaults is the configuration with no setting given, against a real
// target (simulator false) or the embedded simulator: every Setting's
// Default (its SimDefault when there is one and simulator is true) parsed
// as a user's value would be.
func Defaults(simulator bool) Config {
	var c Config
	for _, s := range Settings {
		v := s.Default
		if simulator && s.SimDefault != "" {
			v = s.SimDefault
		}
		if v == "" {
			continue
		}
		if err := s.set(&c, v); err != nil {
			panic("settings: the default of " + s.Env + " does not parse: " + err.Error())
		}
	}
	return c
}

// SLO is the per-request goodput thresholds (and the p95 SLOs).
func (c Config) SLO() aggregate.SLO { return aggregate.SLO{TTFT: c.SLOTTFT, E2E: c.SLOE2E} }

// Gate is the baseline gate's settings.
func (c Config) Gate() gate.Gate {
	return gate.Gate{Tolerance: c.Tolerance, Alpha: c.Alpha, MaxCV: c.MaxCV}
}

// HistoryGate is the history gate's settings.
func (c Config) HistoryGate() gate.HistoryGate {
	return gate.HistoryGate{Tolerance: c.Tolerance, Alpha: c.Alpha, MinRuns: c.HistoryMinRuns}
}

// HistoryLevels are how the history's series are cut into levels.
func (c Config) HistoryLevels() history.Levels {
	return history.NewLevels(c.ChangepointMinSegment, c.ChangepointAlpha, c.Tolerance, c.HistoryMinRuns)
}

// SimConfig is the embedded simulator's configuration: the preset with
// the PERF_SIM_* settings applied.
func (c Config) SimConfig() (sim.Config, error) {
	preset, err := sim.Preset(c.SimPreset)
	if err != nil {
		return preset, fmt.Errorf("settings: PERF_SIM_PRESET: %w", err)
	}
	preset.RunCV, preset.Slowdown = c.SimRunCV, c.SimSlowdown
	preset.PrefillSlowdown, preset.DecodeSlowdown = c.SimPrefillSlowdown, c.SimDecodeSlowdown
	preset.RestartCV, preset.RestartSeed = c.SimRestartCV, c.SimRestartSeed
	if c.SimMaxNumSeqs > 0 {
		preset.MaxNumSeqs = c.SimMaxNumSeqs
	}
	if c.SimKVCacheTokens > 0 {
		preset.KVCacheTokens = c.SimKVCacheTokens
	}
	return preset, nil
}
