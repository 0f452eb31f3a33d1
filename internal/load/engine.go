package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/record"
)

// Doer makes one request into rec, which the engine has Reset and stamped
// with Seq, Worker and (open loop) IntendedStart. It must return promptly
// once ctx is done. openai.Client is the Doer of the harness.
type Doer interface {
	Do(ctx context.Context, rec *record.Record)
}

// Sink receives every measured record. Add is called from many goroutines
// (worker says which); rec is only valid during the call.
type Sink interface {
	Add(worker int, rec *record.Record)
}

// Tally is what the engine itself knows of a run; the figures of the
// requests are the Sink's.
type Tally struct {
	Mode Mode `json:"mode"`
	// Start and End bound the measured phase (warm-up excluded).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Dispatched counts measured requests released to the Doer.
	Dispatched int64 `json:"dispatched"`
	// Recorded counts records given to the Sink.
	Recorded int64 `json:"recorded"`
	// Interrupted counts requests the run's cancellation cut short; they
	// are not recorded, so a stopped run does not show its own stop as errors.
	Interrupted int64 `json:"interrupted"`
	// Warmup counts warm-up requests run (and not recorded).
	Warmup int64 `json:"warmup"`
	// Stopped is set when ctx ended the run before its plan did.
	Stopped bool `json:"stopped"`
	// CapReached counts open-loop requests that fell due while every one
	// of the plan's MaxInFlight slots was busy: lateness the server caused
	// (it could not keep up), not the client. Zero in closed loop.
	CapReached int64 `json:"cap_reached"`
	// Workers is how many workers the open loop started: it grows them as
	// requests overlap, up to MaxInFlight, so this is about the most
	// requests that were in flight at once, plus one. Zero in closed loop.
	Workers int `json:"workers,omitzero"`
}

// Run validates p, runs its warm-up, then its measured requests, and returns
// when the plan is done or ctx is, with every finished request recorded.
// Only an invalid plan is an error.
func Run(ctx context.Context, p Plan, d Doer, s Sink) (Tally, error) {
	if err := p.Validate(); err != nil {
		return Tally{}, err
	}
	sum := Tally{Mode: p.Mode()}
	if w, ok := p.WarmupPlan(); ok {
		ws := run(ctx, w, d, Discard)
		sum.Warmup = ws.Dispatched
	}
	if ctx.Err() != nil {
		sum.Stopped = true
		return sum, nil
	}
	m := run(ctx, p, d, s)
	m.Warmup = sum.Warmup
	return m, nil
}

// Discard is a Sink that keeps nothing (what warm-up requests go to).
var Discard Sink = discard{}

type discard struct{}

func (discard) Add(int, *record.Record) {}

// phase is the state shared by a phase's workers.
type phase struct {
	ctx         context.Context
	doer        Doer
	sink        Sink
	seq         atomic.Uint64
	recorded    atomic.Int64
	interrupted atomic.Int64
	capReached  atomic.Int64
}

// do runs one request on a worker's reused record and delivers it.
func (ph *phase) do(rec *record.Record, worker int, intended time.Time) {
	rec.Reset()
	rec.Seq = ph.seq.Add(1) - 1
	rec.Worker = worker
	rec.IntendedStart = intended
	ph.doer.Do(ph.ctx, rec)
	if ph.ctx.Err() != nil && !rec.Succeeded() {
		ph.interrupted.Add(1)
		return
	}
	ph.sink.Add(worker, rec)
	ph.recorded.Add(1)
}

func run(ctx context.Context, p Plan, d Doer, s Sink) Tally {
	ph := &phase{ctx: ctx, doer: d, sink: s}
	start := time.Now()
	if !p.StartAt.IsZero() {
		if !waitUntil(ctx, p.StartAt) {
			return Tally{Mode: p.Mode(), Start: start, End: time.Now(), Stopped: true}
		}
		start = p.StartAt // an open loop's lateness from here is its queue time
	}
	workers := 0
	if p.Mode() == Closed {
		runClosed(ph, p, start)
	} else {
		workers = runOpen(ph, p, start)
	}
	return Tally{
		Workers:     workers,
		Mode:        p.Mode(),
		Start:       start,
		End:         time.Now(),
		Dispatched:  int64(ph.seq.Load()),
		Recorded:    ph.recorded.Load(),
		Interrupted: ph.interrupted.Load(),
		Stopped:     ctx.Err() != nil,
		CapReached:  ph.capReached.Load(),
	}
}

// runClosed runs p.VUs workers that share the iteration budget, as k6's
// shared-iterations executor does.
//
// With a Share it runs only the share's VUs, each keeping its place in the
// ramp, and its part of the budget (Share).
func runClosed(ph *phase, p Plan, start time.Time) {
	budget := int64(math.MaxInt64)
	if p.Iterations > 0 {
		budget = int64(p.Share.SplitCount(p.Iterations, p.VUs))
	}
	var left atomic.Int64
	left.Store(budget)
	var deadline time.Time
	if p.Duration > 0 {
		deadline = start.Add(p.Duration)
	}
	var wg sync.WaitGroup
	local := 0 // the next local VU's number
	for g := range p.VUs {
		if !p.Share.owns(g) {
			continue
		}
		w := local
		local++
		wg.Go(func() {
			if p.RampUp > 0 && !sleepUntil(ph.ctx, start.Add(p.RampUp*time.Duration(g)/time.Duration(p.VUs))) {
				return
			}
			rec := new(record.Record)
			for ph.ctx.Err() == nil && (deadline.IsZero() || time.Now().Before(deadline)) && left.Add(-1) >= 0 {
				ph.do(rec, w, time.Time{})
			}
		})
	}
	wg.Wait()
}

// runOpen keeps the open loop's schedule with one pacer and a pool of
// workers. The pacer computes each intended start from the pacer's count
// (never the clock), waits for it on its own precise timer, and hands the
// request to an idle worker; starts that are already due when it wakes go
// out in the same wake, so at high rates one wake serves several requests.
// The pool grows lazily: with no worker idle the pacer starts one more, up
// to MaxInFlight; at the cap it waits for a worker to come free, and the
// request's queue time says how late it started (the server could not
// keep up). The package doc has the profile behind this design.
func runOpen(ph *phase, p Plan, start time.Time) (workers int) {
	tm := clock.NewTimer()
	defer tm.Close()
	stop := context.AfterFunc(ph.ctx, tm.Stop)
	defer stop()
	// Unbuffered: a hand-off succeeds only to a worker waiting for one.
	jobs := make(chan time.Time)
	var wg sync.WaitGroup
	worker := func(w int, first time.Time) {
		rec := new(record.Record)
		ph.do(rec, w, first)
		for t := range jobs {
			ph.do(rec, w, t)
		}
	}
	pc, limit := newPacer(p), p.Concurrency()
schedule:
	for i := 0; p.Requests == 0 || i < p.Requests; i++ {
		off := pc.next()
		if p.Duration > 0 && off >= p.Duration {
			break
		}
		if !p.Share.owns(i) {
			continue // another generator's request (Share)
		}
		t := start.Add(off)
		if !tm.Until(t) {
			break // the run's context ended
		}
		select {
		case jobs <- t: // an idle worker took it
			continue
		default:
		}
		if workers < limit {
			w := workers
			workers++
			wg.Go(func() { worker(w, t) })
			continue
		}
		select { // every slot busy: the request waits for one
		case jobs <- t:
		case <-ph.ctx.Done():
			break schedule
		}
		if time.Since(t) > capSlack {
			ph.capReached.Add(1)
		}
	}
	close(jobs)
	wg.Wait()
	return workers
}

// capSlack is how overdue a request must be picked up to count toward
// Summary.CapReached: less is the handover between workers.
const capSlack = time.Millisecond

// waitUntil waits for t on a precise timer, or for ctx; it reports whether
// t came first.
func waitUntil(ctx context.Context, t time.Time) bool {
	tm := clock.NewTimer()
	defer tm.Close()
	stop := context.AfterFunc(ctx, tm.Stop)
	defer stop()
	return tm.Until(t) && ctx.Err() == nil
}

// sleepUntil waits for t or ctx with a runtime timer (millisecond slack is
// fine for a ramp); it reports whether t came first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	tm := time.NewTimer(time.Until(t))
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
