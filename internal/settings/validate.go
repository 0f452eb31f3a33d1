package settings

import (
	"errors"
	"fmt"
	"math"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/sim"
)

// Validate checks what one field alone cannot show, naming the setting. It
// reads no file (Load checks what only the files show).
func (c *Config) Validate() error {
	if c.Target != "" {
		if err := (openai.Endpoint{BaseURL: c.Target}).Validate(); err != nil {
			return fmt.Errorf("settings: PERF_TARGET: %w", err)
		}
	} else if _, err := sim.Preset(c.SimPreset); err != nil {
		return fmt.Errorf("settings: PERF_SIM_PRESET: %w", err)
	}
	if len(c.Payloads) == 0 {
		return errors.New("settings: PERF_PAYLOADS: no payload named")
	}
	if c.Trace != "" && c.Search != "" {
		return errors.New("settings: PERF_TRACE: a trace is replayed as recorded; it cannot be searched (unset PERF_SEARCH)")
	}
	if err := c.validatePlan(); err != nil {
		return err
	}
	if err := c.validateWorkers(); err != nil {
		return err
	}
	if c.Iterations > 0 {
		for _, v := range c.Concurrency {
			if v > c.Iterations {
				return fmt.Errorf("settings: ITERATIONS: %d is fewer than %s: every VU needs at least one request", c.Iterations, load.VUs(v))
			}
		}
	}
	if c.Search != "" {
		return c.validateSearch()
	}
	return nil
}

// validatePlan checks that the settings name cells that can run.
func (c *Config) validatePlan() error {
	switch {
	case c.Search == "" && len(c.Concurrency) == 0 && len(c.Rates) == 0:
		return errors.New("settings: PERF_CONCURRENCY/PERF_RATES: neither names a cell")
	case c.Search == capacity.Concurrency && c.IterationsPerVU == 0 && c.Iterations == 0 && c.Duration == 0:
		return errors.New("settings: PERF_ITERATIONS_PER_VU/PERF_DURATION: a concurrency search's probes need one of them > 0")
	case c.Search == capacity.Rate && c.Requests == 0 && c.Duration == 0:
		return errors.New("settings: PERF_REQUESTS/PERF_DURATION: a rate search's probes need one of them > 0")
	case len(c.Concurrency) > 0 && c.IterationsPerVU == 0 && c.Duration == 0:
		return errors.New("settings: PERF_ITERATIONS_PER_VU/PERF_DURATION: closed-loop cells need one of them > 0")
	case len(c.Rates) > 0 && c.Requests == 0 && c.Duration == 0:
		return errors.New("settings: PERF_REQUESTS/PERF_DURATION: open-loop cells need one of them > 0")
	case c.Timeout == 0:
		return errors.New("settings: PERF_TIMEOUT: must be > 0")
	case c.ReadyTimeout == 0:
		return errors.New("settings: PERF_READY_TIMEOUT: must be > 0")
	case c.ReportDir == "":
		return errors.New("settings: PERF_REPORT_DIR: must be set")
	case c.GPUInterval < gpu.MinInterval:
		return fmt.Errorf("settings: PERF_GPU_INTERVAL: %v: must be at least %v", c.GPUInterval, gpu.MinInterval)
	}
	return nil
}

// validateSearch checks a capacity search's settings.
func (c *Config) validateSearch() error {
	switch {
	case c.SLOTTFT == 0 && c.SLOE2E == 0 && c.MinGoodRatio == 0:
		return errors.New("settings: PERF_SEARCH: a search needs an SLO to search against: set PERF_SLO_TTFT_MS, PERF_SLO_E2E_MS or " +
			"PERF_MIN_GOOD_RATIO (PERF_MAX_ERROR_RATE always applies, but alone it is no capacity target)")
	case c.Repeats > 1:
		return errors.New("settings: PERF_REPEATS: a search decides each probe's repeats itself (up to PERF_SEARCH_MAX_REPEATS); unset PERF_REPEATS")
	case c.Search == capacity.Concurrency && (c.SearchMax != math.Trunc(c.SearchMax) || c.SearchStart != math.Trunc(c.SearchStart)):
		return fmt.Errorf("settings: PERF_SEARCH_START/PERF_SEARCH_MAX: %v, %v: a concurrency search needs whole numbers of VUs", c.SearchStart, c.SearchMax)
	case c.SearchStart > c.SearchMax:
		return fmt.Errorf("settings: PERF_SEARCH_START: %v is above PERF_SEARCH_MAX (%v)", c.SearchStart, c.SearchMax)
	case c.Baseline != "":
		return errors.New("settings: PERF_BASELINE: a search's probes are not a baseline's cells; gate a sweep, not a search")
	case c.Search == capacity.Concurrency && c.Iterations > 0 && float64(c.Iterations) < c.SearchMax:
		return fmt.Errorf("settings: ITERATIONS: %d is fewer than PERF_SEARCH_MAX (%v VUs): every VU needs at least one request", c.Iterations, c.SearchMax)
	}
	return nil
}
