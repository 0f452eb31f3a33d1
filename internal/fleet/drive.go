package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/worker"
)

// Member is a worker that can take a share: its Job completion index, its
// pod (by name and UID: a replacement pod is another member) and node, and
// its clock offset.
type Member struct {
	Index    int
	Pod, UID string
	Node     string
	Clock    worker.Offset
	Unsynced error // the clock could not be read: the member is not used
	synced   time.Time
}

// Pods is the workers as the coordinator sees them.
type Pods interface {
	// Members are the workers ready now, by index, their clocks read.
	Members(ctx context.Context) (map[int]Member, error)
	// Gone says why a member's pod can no longer serve ("" while it can).
	Gone(ctx context.Context, m Member) string
}

// Coordinator drives cells on workers and merges what they measured: a
// measurement.Driver.
type Coordinator struct {
	Client worker.Caller
	Pods   Pods
	// Workers is how many shares a cell is cut into (fewer when it has
	// fewer VUs or requests).
	Workers int
	// Target is the server as the workers reach it (PERF_WORKER_TARGET).
	Target worker.Reach
	// MaxClockBound flags a worker whose offset is known only this
	// loosely (PERF_WORKER_MAX_CLOCK_BOUND).
	MaxClockBound time.Duration
	// Poll is how often a cell's workers are asked how it goes.
	Poll time.Duration
	// Unreachable is how long a worker may fail to answer, its pod still
	// there, before its share is given up.
	Unreachable time.Duration
	// DefaultDeadline bounds a cell with no deadline of its own.
	DefaultDeadline time.Duration

	cells atomic.Int64
}

// share is one worker's part of a driven cell.
type share struct {
	k      int
	m      Member
	ok     bool // the member exists
	plan   load.Plan
	status worker.Status
	lost   string
	failAt time.Time // first failed call of a streak
}

// Drive implements measurement.Driver.
func (c *Coordinator) Drive(ctx context.Context, s measurement.Spec, payloads payload.Set, deadline time.Duration) (measurement.Driven, error) {
	if err := s.Validate(payloads); err != nil {
		return measurement.Driven{}, err
	}
	p, _ := payloads.Get(s.Payload)
	if deadline <= 0 {
		deadline = c.DefaultDeadline
	}
	end := time.Now().Add(deadline)
	members, err := c.Pods.Members(ctx)
	if err != nil {
		return measurement.Driven{}, fmt.Errorf("fleet: %w", err)
	}
	n := c.sharesOf(s.Plan)
	id := fmt.Sprintf("c%d", c.cells.Add(1))
	shares := make([]*share, n)
	for k := range n {
		sh := &share{k: k, plan: s.Plan}
		sh.plan.Share = load.Share{Index: k, Of: n}
		sh.m, sh.ok = members[k]
		switch {
		case !sh.ok:
			sh.lost = fmt.Sprintf("no ready pod with index %d (it never became ready, or was lost earlier)", k)
		case sh.m.Unsynced != nil:
			sh.lost = fmt.Sprintf("worker %d: its clock could not be read: %v", k, sh.m.Unsynced)
		}
		shares[k] = sh
	}
	c.each(shares, func(sh *share) {
		o := worker.Order{Target: c.target(s), Payload: p, Prompts: interleave(p.Prompts, sh.k, n), Plan: sh.plan, Schedule: s.Plan.Schedule, SLO: s.SLO,
			Records: s.Records != nil, StartWithin: time.Until(end)}
		if err := c.Client.Order(ctx, sh.m.Pod, id, o); err != nil {
			sh.lost = c.why(ctx, sh, err)
		}
	})
	c.await(ctx, id, shares, end, worker.Warm)
	if s.AfterWarmup != nil {
		s.AfterWarmup(ctx)
	}
	at := time.Now().Add(c.lead(shares))
	c.each(shares, func(sh *share) {
		if err := c.Client.Start(ctx, sh.m.Pod, id, at.Add(sh.m.Clock.Offset)); err != nil {
			sh.lost = c.why(ctx, sh, err)
		}
	})
	late := c.await(ctx, id, shares, end, worker.Done)
	if late || ctx.Err() != nil {
		c.stop(id, shares, deadline, ctx.Err() != nil)
	}
	c.release(id, shares)
	d, err := c.merge(s, shares, at, ctx.Err() != nil)
	d.Payload = p
	if err == nil && s.Records != nil {
		err = writeRecords(s.Records, shares)
	}
	return d, err
}

// writeRecords writes the workers' records (Spec.Records) as one file's
// lines, their instants moved onto this process's clock.
func writeRecords(w io.Writer, shares []*share) error {
	out := record.NewJSONL(w)
	for _, sh := range shares {
		r := sh.status.Result
		if r == nil {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(r.Records))
		for dec.More() {
			var rec record.Record
			if err := dec.Decode(&rec); err != nil {
				return fmt.Errorf("fleet: worker %d's records: %w", sh.k, err)
			}
			rec.Shift(-sh.m.Clock.Offset)
			out.Add(sh.k, &rec)
		}
	}
	return out.Flush()
}

// sharesOf is how many shares plan p is cut into: no more than its VUs
// (closed loop) or its requests (open loop).
func (c *Coordinator) sharesOf(p load.Plan) int {
	n := max(c.Workers, 1)
	if p.Mode() == load.Closed {
		return min(n, p.VUs)
	}
	if p.Requests > 0 {
		return min(n, p.Requests)
	}
	return n
}

// target is the workers' target for spec s.
func (c *Coordinator) target(s measurement.Spec) worker.Reach {
	t := c.Target
	t.Model, t.Timeout, t.IdleTimeout, t.NoStream = s.Target.Model, s.Target.Timeout, s.Target.IdleTimeout, s.Target.NoStream
	return t
}

// interleave is share k of n's prompts: every n-th from k, so that in
// open loop request j of the schedule gets prompt j as it would alone.
func interleave(ps []openai.Prompt, k, n int) []openai.Prompt {
	if len(ps) < n || n <= 1 {
		return ps
	}
	out := make([]openai.Prompt, 0, len(ps)/n+1)
	for i := k; i < len(ps); i += n {
		out = append(out, ps[i])
	}
	return out
}

// lead is how far ahead the common start is set: time for the start
// calls to arrive through the API server, and at least a second.
func (c *Coordinator) lead(shares []*share) time.Duration {
	var most time.Duration
	for _, sh := range shares {
		if sh.lost == "" {
			most = max(most, sh.m.Clock.Bound)
		}
	}
	return time.Second + 8*most
}

// each runs f on the shares still in the cell, concurrently.
func (c *Coordinator) each(shares []*share, f func(*share)) {
	var wg sync.WaitGroup
	for _, sh := range shares {
		if sh.lost == "" {
			wg.Go(func() { f(sh) })
		}
	}
	wg.Wait()
}

// await polls the shares until each has reached state (or failed, or is
// lost), the deadline passes (late), or ctx ends.
func (c *Coordinator) await(ctx context.Context, id string, shares []*share, end time.Time, state string) (late bool) {
	tick := time.NewTicker(c.Poll)
	defer tick.Stop()
	for {
		waiting := 0
		c.each(shares, func(sh *share) {
			if reached(sh.status.State, state) {
				return
			}
			st, err := c.Client.Status(ctx, sh.m.Pod, id)
			switch {
			case err != nil && ctx.Err() == nil:
				if sh.failAt.IsZero() {
					sh.failAt = time.Now()
				}
				if why := c.Pods.Gone(ctx, sh.m); why != "" {
					sh.lost = why
				} else if time.Since(sh.failAt) > c.Unreachable {
					sh.lost = fmt.Sprintf("unreachable for %v: %v", c.Unreachable, err)
				}
			case err == nil:
				sh.failAt, sh.status = time.Time{}, st
				if st.State == worker.Failed {
					sh.lost = "failed: " + st.Error
				}
			}
		})
		for _, sh := range shares {
			if sh.lost == "" && !reached(sh.status.State, state) {
				waiting++
			}
		}
		if waiting == 0 {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			if time.Now().After(end) {
				return true
			}
		}
	}
}

// reached says whether a cell in state got has reached want.
func reached(got, want string) bool {
	rank := map[string]int{worker.Warming: 1, worker.Warm: 2, worker.Running: 3, worker.Done: 4}
	return rank[got] >= rank[want]
}

// stop stops the shares still running (the deadline passed, or the suite
// is stopping) and keeps what they finished; a share cut by the deadline
// is lost from the cell's completeness, though its requests count.
func (c *Coordinator) stop(id string, shares []*share, deadline time.Duration, stopping bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.each(shares, func(sh *share) {
		if sh.status.State == worker.Done {
			return
		}
		_ = c.Client.Stop(ctx, sh.m.Pod, id)
		for ctx.Err() == nil {
			if st, err := c.Client.Status(ctx, sh.m.Pod, id); err == nil && (st.State == worker.Done || st.State == worker.Failed) {
				sh.status = st
				break
			}
			time.Sleep(c.Poll)
		}
		if !stopping {
			sh.lost = fmt.Sprintf("missed the cell's deadline of %v; stopped", deadline.Round(time.Second))
		}
	})
}

// release stops the cell on the workers whose share was given up while
// their pod lives (unreachable for a while, a failed call): a worker
// left waiting for a start would refuse every later cell.
func (c *Coordinator) release(id string, shares []*share) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, sh := range shares {
		if sh.ok && sh.lost != "" && sh.status.State != worker.Done && sh.status.State != worker.Failed {
			wg.Go(func() { _ = c.Client.Stop(ctx, sh.m.Pod, id) }) // best effort: the pod may be gone
		}
	}
	wg.Wait()
}

// why is the reason a call to a share's worker failed: its pod's fate
// when it is gone, else the call's error.
func (c *Coordinator) why(ctx context.Context, sh *share, err error) string {
	if g := c.Pods.Gone(ctx, sh.m); g != "" {
		return g
	}
	return err.Error()
}

// merge folds the shares' results into the cell's measurement.
func (c *Coordinator) merge(s measurement.Spec, shares []*share, at time.Time, stopping bool) (measurement.Driven, error) {
	var parts []aggregate.Partial
	var shifts []time.Duration
	sum := load.Tally{Mode: s.Plan.Mode(), Start: at, End: at, Stopped: stopping}
	for _, sh := range shares {
		r := sh.status.Result
		if r == nil {
			continue
		}
		parts, shifts = append(parts, r.Partial), append(shifts, sh.m.Clock.Offset)
		t := r.Tally
		sum.Dispatched += t.Dispatched
		sum.Recorded += t.Recorded
		sum.Interrupted += t.Interrupted
		sum.Warmup += t.Warmup
		sum.CapReached += t.CapReached
		sum.Workers += t.Workers
		sum.Stopped = sum.Stopped || t.Stopped && stopping
		if e := t.End.Add(-sh.m.Clock.Offset); e.After(sum.End) {
			sum.End = e
		}
	}
	stats, err := aggregate.Merge(parts, shifts)
	if err != nil {
		return measurement.Driven{}, fmt.Errorf("fleet: %w", err)
	}
	d := measurement.Driven{Measured: measurement.Measured{Plan: s.Plan, Summary: sum, Stats: stats}}
	d.Load = c.loadCheck(s.Plan, stats, shares)
	return d, nil
}
