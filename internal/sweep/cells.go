package sweep

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/llm-platform/harness/internal/load"
)

// Cell is one point of the sweep: a payload on a plan (a number of VUs, a
// rate, or a trace's schedule).
type Cell struct {
	Payload string
	Plan    load.Plan
}

// Repeat is one measurement of a cell: which of the cell's repeats it is
// (1-based, of Of; zero values mean a single measurement).
type Repeat struct {
	Cell
	N, Of int
}

// Name is the cell's name in reports.
func (c Cell) Name() string {
	if c.Plan.Mode() == load.Open {
		return fmt.Sprintf("%s, %g req/s", c.Payload, c.Plan.Rate)
	}
	return c.Payload + ", " + load.VUs(c.Plan.VUs)
}

// SpecName is the Ginkgo entry's name: the cell's, with the repeat when
// there are several ("short, 4 VUs, repeat 2 of 5").
func (c Repeat) SpecName() string {
	if c.Of > 1 {
		return fmt.Sprintf("%s, repeat %d of %d", c.Name(), c.N, c.Of)
	}
	return c.Name()
}

// Last reports whether this is the cell's last repeat.
func (c Repeat) Last() bool { return c.N >= c.Of }

// Labels are the cell's Ginkgo labels, as key:value.
func (c Cell) Labels() []string {
	l := []string{"payload:" + c.Payload, "mode:" + string(c.Plan.Mode())}
	if c.Plan.Mode() == load.Open {
		return append(l, "rate:"+strconv.FormatFloat(c.Plan.Rate, 'f', -1, 64))
	}
	return append(l, fmt.Sprintf("vus:%d", c.Plan.VUs))
}

// Schedule is the sweep in the order it runs: every cell once, then every
// cell again, PERF_REPEATS times (round-robin, as benchstat advises), so
// slow drift (thermals, other tenants) lands on every cell alike instead of
// on whichever cell ran last.
func (c Config) Schedule() []Repeat {
	cells := c.Cells()
	out := make([]Repeat, 0, len(cells)*c.Repeats)
	for r := 1; r <= c.Repeats; r++ {
		for _, cell := range cells {
			out = append(out, Repeat{Cell: cell, N: r, Of: c.Repeats})
		}
	}
	return out
}

// Cells expands the configuration: for each payload, the closed-loop cells
// by concurrency, then the open-loop cells by rate (one measurement each).
func (c Config) Cells() []Cell {
	if c.Replay != nil {
		return []Cell{c.traceCell()}
	}
	var out []Cell
	for _, p := range c.Payloads {
		for _, v := range c.Concurrency {
			out = append(out, Cell{Payload: p, Plan: c.closedPlan(v)})
		}
		for _, r := range c.Rates {
			out = append(out, Cell{Payload: p, Plan: c.openPlan(r)})
		}
	}
	return out
}

// closedPlan is a closed-loop cell's plan at v VUs.
func (c Config) closedPlan(v int) load.Plan {
	iterations := v * c.IterationsPerVU
	if c.Iterations > 0 {
		iterations = c.Iterations // k6's ITERATIONS: shared by the VUs
	}
	return load.Plan{VUs: v, Iterations: iterations, Duration: c.Duration, Warmup: v * c.Warmup, RampUp: c.RampUp}
}

// openPlan is an open-loop cell's plan at rate r.
func (c Config) openPlan(r float64) load.Plan {
	return load.Plan{Rate: r, Requests: c.Requests, Duration: c.Duration, Warmup: int(math.Ceil(r)) * c.Warmup}
}

// TracePayload names a replayed trace's payload in reports: "trace sample.jsonl".
func (c Config) TracePayload() string { return "trace " + filepath.Base(c.Trace) }

// traceCell is the one open-loop cell a trace replays: its own schedule,
// divided by the speed-up, at its average rate.
func (c Config) traceCell() Cell {
	sched := c.Replay.Schedule(c.TraceSpeedup)
	return Cell{Payload: c.TracePayload(), Plan: load.Plan{Rate: math.Round(c.Replay.Rate(c.TraceSpeedup)*1000) / 1000,
		Requests: len(sched), Schedule: sched}}
}
