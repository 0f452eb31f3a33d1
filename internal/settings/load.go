package settings

import (
	"crypto/tls"
	"fmt"

	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/trace"
)

// Inputs are the files a configuration names, read and checked.
type Inputs struct {
	// PayloadSet is the payloads file (fixtures/payloads.yaml when none is
	// named); every name in PERF_PAYLOADS is in it.
	PayloadSet payload.Set
	// Replay is the trace (PERF_TRACE, the window of it replayed), nil
	// without one, and what reading it found.
	Replay      trace.Trace
	ReplayNotes trace.Notes
	// BaselineRun and CompareRun are PERF_BASELINE's and PERF_COMPARE's
	// results, nil when not set.
	BaselineRun, CompareRun *results.Run
	// Past is PERF_HISTORY's run history, nil when not set.
	Past *history.History
	// TLS is an https target's trust (PERF_CA_FILE,
	// PERF_INSECURE_SKIP_VERIFY).
	TLS *tls.Config
}

// Load reads the files c names, once, naming the setting of any that
// cannot be read or does not fit the rest of c.
func (c Config) Load() (Inputs, error) {
	var in Inputs
	var err error
	if in.PayloadSet, err = payload.Load(c.PayloadsFile); err != nil {
		return in, fmt.Errorf("settings: PERF_PAYLOADS_FILE: %w", err)
	}
	for _, p := range c.Payloads {
		if _, err := in.PayloadSet.Get(p); err != nil {
			return in, fmt.Errorf("settings: PERF_PAYLOADS: %w", err)
		}
	}
	if c.Trace != "" {
		if in.Replay, in.ReplayNotes, err = trace.Load(c.Trace, c.TraceFormat); err != nil {
			return in, fmt.Errorf("settings: PERF_TRACE: %w", err)
		}
		if in.Replay = in.Replay.Window(c.TraceStart, c.TraceDuration); len(in.Replay) == 0 {
			return in, fmt.Errorf("settings: PERF_TRACE_START, PERF_TRACE_DURATION: %v from %v holds no request of %s", c.TraceDuration, c.TraceStart, c.Trace)
		}
	}
	if c.Baseline != "" {
		if in.BaselineRun, err = results.Load(c.Baseline); err != nil {
			return in, fmt.Errorf("settings: PERF_BASELINE: %w", err)
		}
	}
	if c.Compare != "" {
		if in.CompareRun, err = results.Load(c.Compare); err != nil {
			return in, fmt.Errorf("settings: PERF_COMPARE: %w", err)
		}
	}
	if c.History != "" {
		if in.Past, err = history.Load(c.History); err != nil {
			return in, fmt.Errorf("settings: PERF_HISTORY: %w", err)
		}
	}
	if in.TLS, err = openai.TLSConfig(c.CAFile, c.InsecureSkipVerify); err != nil {
		return in, fmt.Errorf("settings: PERF_CA_FILE: %w", err)
	}
	return in, nil
}
