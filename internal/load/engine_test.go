package load

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeDoer "serves" each request in a fixed time, or until ctx ends when
// hang is set; it fails when ctx ends first, as a real client does.
type fakeDoer struct {
	d     time.Duration
	hang  func(seq uint64) bool
	calls atomic.Int64
}

func (f *fakeDoer) Do(ctx context.Context, r *record.Record) {
	f.calls.Add(1)
	r.Start = time.Now()
	wait := f.d
	if f.hang != nil && f.hang(r.Seq) {
		wait = time.Hour
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		r.FirstToken, r.LastToken, r.Chunks, r.OutputTokens = time.Now(), time.Now(), 1, 1
	case <-ctx.Done():
		r.Fail(record.ClientAbort, 0, ctx.Err())
	}
	r.End = time.Now()
}

// keep records copies of what a sink got.
type keep struct {
	mu   sync.Mutex
	recs []record.Record
}

func (k *keep) Add(_ int, r *record.Record) {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := *r
	c.ChunkGaps = slices.Clone(r.ChunkGaps)
	k.recs = append(k.recs, c)
}

func TestClosedLoopSharesIterations(t *testing.T) {
	d, k := &fakeDoer{d: time.Millisecond}, &keep{}
	sum, err := Run(context.Background(), Plan{VUs: 4, Iterations: 50}, d, k)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Dispatched != 50 || sum.Recorded != 50 || len(k.recs) != 50 || d.calls.Load() != 50 || sum.Mode != Closed {
		t.Fatalf("summary %+v, kept %d, calls %d; want exactly 50 of each", sum, len(k.recs), d.calls.Load())
	}
	seqs, workers := map[uint64]bool{}, map[int]int{}
	for _, r := range k.recs {
		seqs[r.Seq] = true
		workers[r.Worker]++
		if !r.IntendedStart.IsZero() {
			t.Error("closed loop recorded an intended start")
		}
	}
	if len(seqs) != 50 || len(workers) != 4 {
		t.Errorf("%d distinct seqs over %d workers; want 50 over 4", len(seqs), len(workers))
	}
}

func TestClosedLoopDuration(t *testing.T) {
	d, k := &fakeDoer{d: 5 * time.Millisecond}, &keep{}
	sum, err := Run(context.Background(), Plan{VUs: 2, Duration: 100 * time.Millisecond}, d, k)
	if err != nil {
		t.Fatal(err)
	}
	// 2 VUs x 100 ms / 5 ms: about 40 requests; the bound is what matters.
	if sum.Recorded < 10 || sum.Recorded > 42 || sum.End.Sub(sum.Start) > time.Second {
		t.Fatalf("recorded %d in %v; want about 40 within the 100 ms window", sum.Recorded, sum.End.Sub(sum.Start))
	}
}

// TestRampUpSpreadsStarts: VU i starts at i x 20 ms. What is checked is
// the spread: never early (a bias), and before the next VU's slot (late by
// less than the 20 ms step), under the attempt policy.
func TestRampUpSpreadsStarts(t *testing.T) {
	clock.Attempts(t, clock.DefaultAttempts, func(int) []string {
		// Requests outlast the ramp, so each VU takes exactly one.
		d, k := &fakeDoer{d: 100 * time.Millisecond}, &keep{}
		sum, err := Run(context.Background(), Plan{VUs: 4, Iterations: 4, RampUp: 80 * time.Millisecond}, d, k)
		if err != nil {
			t.Fatal(err)
		}
		first := map[int]time.Duration{}
		for _, r := range k.recs {
			first[r.Worker] = r.Start.Sub(sum.Start)
		}
		// Never early (a bias the ramp must not have); lateness is the
		// machine's, so only its median is bounded: a ramp that spread the
		// starts over another span would be tens of ms off at the median.
		var problems []string
		var late []time.Duration
		for w := range 4 {
			want := time.Duration(w) * 20 * time.Millisecond
			if got := first[w]; got < want {
				problems = append(problems, fmt.Sprintf("VU %d first start at %v, before its slot at %v", w, got, want))
			}
			late = append(late, first[w]-want)
		}
		slices.Sort(late)
		if m := (late[1] + late[2]) / 2; m > 10*time.Millisecond {
			problems = append(problems, fmt.Sprintf("median start lateness %v against the ramp's slots, want <= 10ms", m))
		}
		return problems
	})
}

func TestWarmupNotRecorded(t *testing.T) {
	d, k := &fakeDoer{}, &keep{}
	sum, err := Run(context.Background(), Plan{VUs: 2, Iterations: 10, Warmup: 3}, d, k)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Warmup != 3 || sum.Recorded != 10 || d.calls.Load() != 13 {
		t.Fatalf("warmup %d recorded %d calls %d; want 3, 10, 13", sum.Warmup, sum.Recorded, d.calls.Load())
	}
	for _, r := range k.recs {
		if r.Seq >= 10 {
			t.Errorf("measured seq %d: numbering must restart after warm-up", r.Seq)
		}
	}
}

// TestOpenLoopKeepsSchedule: intended starts follow the rate exactly even
// when the server is slower than the rate, and the lateness is recorded
// (no coordinated omission).
func TestOpenLoopKeepsSchedule(t *testing.T) {
	d, k := &fakeDoer{d: 20 * time.Millisecond}, &keep{}
	sum, err := Run(context.Background(), Plan{Rate: 200, Requests: 40, MaxInFlight: 2}, d, k)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Recorded != 40 || sum.Mode != Open {
		t.Fatalf("summary %+v", sum)
	}
	slices.SortFunc(k.recs, func(a, b record.Record) int { return a.IntendedStart.Compare(b.IntendedStart) })
	for i := 1; i < len(k.recs); i++ {
		if gap := k.recs[i].IntendedStart.Sub(k.recs[i-1].IntendedStart); gap != 5*time.Millisecond {
			t.Fatalf("intended gap %d = %v, want 5ms", i, gap)
		}
	}
	// 2 in flight x 20 ms each serve 100/s against 200/s offered: the
	// last request starts about 100 ms behind its schedule.
	if q := k.recs[len(k.recs)-1].Queue(); q < 50*time.Millisecond {
		t.Errorf("last queue time %v: lateness was not recorded", q)
	}
}

// TestOpenLoopDuration: an open loop bounded by time alone sends the
// requests scheduled before its end: at 40/s for 250 ms, offsets 0 to
// 225 ms, 10 requests (the one due at 250 ms is past the end).
func TestOpenLoopDuration(t *testing.T) {
	d := &fakeDoer{d: time.Millisecond}
	sum, err := Run(context.Background(), Plan{Rate: 40, Duration: 250 * time.Millisecond}, d, &keep{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Dispatched != 10 || sum.Recorded != 10 || d.calls.Load() != 10 {
		t.Errorf("dispatched %d, recorded %d, served %d; want 10", sum.Dispatched, sum.Recorded, d.calls.Load())
	}
}

// TestOpenLoopOnTime: with capacity to spare the schedule is kept: the
// median lateness is well inside a millisecond (the engine's precise
// clock). The worst lateness is a tail the machine's scheduler owns: it is
// logged, and make bench measures it.
func TestOpenLoopOnTime(t *testing.T) {
	clock.Attempts(t, clock.DefaultAttempts, func(int) []string {
		d, k := &fakeDoer{d: time.Millisecond}, &keep{}
		if _, err := Run(context.Background(), Plan{Rate: 500, Requests: 100}, d, k); err != nil {
			t.Fatal(err)
		}
		var late []time.Duration
		for _, r := range k.recs {
			late = append(late, r.Queue())
		}
		slices.Sort(late)
		p50 := late[len(late)/2]
		t.Logf("start lateness p50 %v, worst %v", p50, late[len(late)-1])
		if p50 > time.Millisecond || p50 < 0 {
			return []string{fmt.Sprintf("median start lateness %v with capacity to spare, want within [0, 1ms]", p50)}
		}
		return nil
	})
}

// TestCancelReturnsFinished: cancelling mid-run returns within a second,
// with every finished request recorded and the cut-off ones counted apart.
func TestCancelReturnsFinished(t *testing.T) {
	for _, plan := range []Plan{
		{VUs: 8, Iterations: 1000},
		{Rate: 1000, Requests: 100000, MaxInFlight: 8},
	} {
		d := &fakeDoer{d: time.Millisecond, hang: func(seq uint64) bool { return seq%10 == 9 }}
		k := &keep{}
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		begin := time.Now()
		sum, err := Run(ctx, plan, d, k)
		took := time.Since(begin)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if took > 150*time.Millisecond+time.Second {
			t.Errorf("%s: returned %v after cancel, want < 1s", plan.Mode(), took-150*time.Millisecond)
		}
		if !sum.Stopped || sum.Interrupted == 0 || sum.Recorded == 0 || int(sum.Recorded) != len(k.recs) {
			t.Errorf("%s: summary %+v, kept %d", plan.Mode(), sum, len(k.recs))
		}
		if sum.Recorded+sum.Interrupted != sum.Dispatched {
			t.Errorf("%s: recorded %d + interrupted %d != dispatched %d", plan.Mode(), sum.Recorded, sum.Interrupted, sum.Dispatched)
		}
		for _, r := range k.recs {
			if !r.Succeeded() {
				t.Fatalf("%s: a cut-off request was recorded as %s", plan.Mode(), r.Class)
			}
		}
	}
}

func TestRunRejectsInvalidPlan(t *testing.T) {
	d := &fakeDoer{}
	if _, err := Run(context.Background(), Plan{VUs: 0}, d, &keep{}); err == nil || d.calls.Load() != 0 {
		t.Fatalf("err %v after %d calls: want an error before any request", err, d.calls.Load())
	}
}

func TestTee(t *testing.T) {
	a, b := &keep{}, &keep{}
	Tee(a, b).Add(0, &record.Record{Seq: 3})
	if len(a.recs) != 1 || len(b.recs) != 1 || b.recs[0].Seq != 3 {
		t.Fatal("tee did not give the record to both")
	}
}

// TestCapReached: requests that fall due while every in-flight slot is
// busy are counted (the server's lateness); a pool with room counts none.
// The figures are far from any bound a busy machine could reach: 40 ms
// requests at 100/s on 2 slots hold every slot all the time.
func TestCapReached(t *testing.T) {
	saturated, err := Run(context.Background(), Plan{Rate: 100, Requests: 30, MaxInFlight: 2}, &fakeDoer{d: 40 * time.Millisecond}, Discard)
	if err != nil {
		t.Fatal(err)
	}
	if saturated.Workers != 2 {
		t.Errorf("saturated: %d workers, want the cap, 2", saturated.Workers)
	}
	if saturated.CapReached < 15 {
		t.Errorf("2 slots for 40 ms requests at 100/s: %d of 30 requests found the cap reached, want most", saturated.CapReached)
	}
	roomy, err := Run(context.Background(), Plan{Rate: 100, Requests: 30, MaxInFlight: 64}, &fakeDoer{d: time.Millisecond}, Discard)
	if err != nil {
		t.Fatal(err)
	}
	if roomy.CapReached != 0 {
		t.Errorf("64 slots for 1 ms requests: %d requests found the cap reached", roomy.CapReached)
	}
	// The pool grows only as requests overlap: 1 ms requests 10 ms apart
	// need one worker running and one waiting, not 64.
	if roomy.Workers > 4 {
		t.Errorf("64 slots for 1 ms requests 10 ms apart: %d workers started, want a few", roomy.Workers)
	}
}
