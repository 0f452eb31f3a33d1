package sweep

import (
	"context"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/results"
)

// measure runs repeat c once, named name in the live line and the GPU
// timeline (package measurement: the server's counters, the GPU window,
// early stop, the load self-check).
func (r *Runner) measure(ctx context.Context, c Repeat, name string) (results.Cell, load.Tally, error) {
	t := r.target
	spec := measurement.Spec{
		Target:  measurement.Requests{Endpoint: t.Endpoint, Model: t.Model, Timeout: r.cfg.Timeout, NoStream: !r.cfg.Stream},
		Payload: c.Payload, Plan: c.Plan, SLO: r.cfg.SLO(),
	}
	w := measurement.Watch{GPU: t, Simulator: t.Simulator != "", Progress: r.progress, StopEarly: r.stopsEarly(c)}
	if t.Metrics {
		w.Scrape = t.Scrape
	}
	if r.estimate.Total > 0 {
		w.Left = r.left
	}
	if r.cfg.Driver != nil {
		// The records arrive on the workers: no live line, no early stop
		// here (docs/distributed.md).
		w.Driver, w.Progress, w.StopEarly = r.cfg.Driver, nil, false
		if e := r.estimates[name]; e > 0 { // a driven repeat's deadline: thrice its estimate, and the request timeout
			w.Deadline = 3*e + r.cfg.Timeout + time.Minute
		}
	}
	return measurement.Repeat(ctx, spec, r.target.Payloads, name, w)
}

// stopsEarly says whether the early-stop rules watch repeat c: with
// PERF_STOP_EARLY auto, search probes and open-loop cells; with 1, every
// cell.
func (r *Runner) stopsEarly(c Repeat) bool {
	return r.cfg.StopEarly == "1" || r.cfg.StopEarly == "auto" && (r.cfg.Search != "" || c.Plan.Mode() == load.Open)
}
