package sweep

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/results"
)

// Objectives are what a capacity search holds each probe to: the latency
// SLOs and the good-request share that are set, and always the error
// allowance.
func (c Config) Objectives() []capacity.Objective {
	var out []capacity.Objective
	if c.SLOTTFT > 0 {
		out = append(out, capacity.Objective{Metric: results.MetricTTFTp95, Limit: results.Millis(c.SLOTTFT)})
	}
	if c.SLOE2E > 0 {
		out = append(out, capacity.Objective{Metric: results.MetricE2Ep95, Limit: results.Millis(c.SLOE2E)})
	}
	if c.MinGoodRatio > 0 {
		out = append(out, capacity.Objective{Metric: results.MetricGoodRatio, Limit: c.MinGoodRatio, AtLeast: true})
	}
	return append(out, capacity.Objective{Metric: results.MetricErrorRate, Limit: c.MaxErrorRate})
}

// searchSettings are the search's bounds.
func (c Config) searchSettings() capacity.Settings {
	return capacity.Settings{Kind: c.Search, Start: c.SearchStart, Max: c.SearchMax, Resolution: c.SearchResolution,
		MaxRepeats: c.SearchMaxRepeats, Budget: c.SearchBudget}
}

// probeAt is the search probe's repeat at load: a closed loop of that
// many VUs, or an open loop at that rate.
func (c Config) probeAt(payload string, at float64) Repeat {
	if c.Search == capacity.Rate {
		return Repeat{Cell: Cell{Payload: payload, Plan: c.openPlan(at)}}
	}
	return Repeat{Cell: Cell{Payload: payload, Plan: c.closedPlan(int(at))}}
}

// Search finds payload's capacity: the highest load meeting every
// objective, probe by probe. Each probe's repeats run back to back; when a
// probe is decided its repeats are combined into a cell of the report
// (judged on its own figures, as a sweep's cell is), and the reports are
// rewritten, so an interrupted search keeps what it found.
func (r *Runner) Search(ctx context.Context, payload string) (capacity.Result, error) {
	var runs []results.Cell
	var measureErr error
	s := r.cfg.searchSettings()
	s.OnProbe = func(p capacity.Probe) {
		if r.onProbe != nil {
			r.onProbe(p)
		}
		if len(runs) == 0 {
			return
		}
		c := results.Combine(runs)
		runs = nil
		if p.Verdict == capacity.Incomplete {
			c.Verdict, c.Reasons = results.Interrupted, []string{"the search stopped during this probe"}
		} else {
			r.judge(&c)
			c.Reasons = append(c.Reasons, "search probe: "+p.Verdict)
		}
		r.record(c.Name(), c, false)
		if err := r.write(); err != nil && measureErr == nil {
			measureErr = err
		}
	}
	res, err := capacity.Search(ctx, s, r.cfg.Objectives(), func(ctx context.Context, at float64) (capacity.Outcome, error) {
		t := r.cfg.probeAt(payload, at)
		t.N = len(runs) + 1
		r.target.NewRun()
		one, sum, err := r.measure(ctx, t, fmt.Sprintf("%s, search probe, repeat %d", t.Name(), t.N))
		if err != nil {
			return capacity.Outcome{}, err
		}
		if sum.Stopped {
			return capacity.Outcome{}, ctx.Err()
		}
		runs = append(runs, one)
		out := capacity.Outcome{Values: one.ObjectiveValues()}
		if e := one.EarlyStop; e.OverSaturated() {
			out.Failed = e.Rule // shown with its own confidence: the rate is past capacity
		}
		return out, nil
	})
	if err == nil {
		err = measureErr
	}
	r.mu.Lock()
	if r.results.Capacity == nil {
		r.results.Capacity = map[string]capacity.Result{}
	}
	r.results.Capacity[payload] = res
	r.results.Interrupted = r.results.Interrupted || ctx.Err() != nil
	r.mu.Unlock()
	if werr := r.write(); err == nil {
		err = werr
	}
	return res, err
}

// loadName names a search's load for spec names and labels.
func loadName(kind string, at float64) string {
	if kind == capacity.Rate {
		return strconv.FormatFloat(at, 'g', 4, 64) + " req/s"
	}
	return load.VUs(int(at))
}

// ProbeLine is one probe in a line, for the suite's report entries:
// "12 VUs: fail after 4 repeats (ttft_p95_ms median 612, error_rate median 0)".
func ProbeLine(kind string, p capacity.Probe) string {
	var parts []string
	for _, m := range slices.Sorted(maps.Keys(p.Values)) {
		parts = append(parts, fmt.Sprintf("%s median %.4g", m, p.Median(m)))
	}
	return fmt.Sprintf("%s: %s after %d repeats (%s)", loadName(kind, p.Load), p.Verdict, p.Repeats(), strings.Join(parts, ", "))
}

// OnProbe sets a function that sees each search probe as it is decided
// (the suite adds it to its report entries).
func (r *Runner) OnProbe(f func(capacity.Probe)) { r.onProbe = f }
