package fleet

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/worker"
)

// local is a fleet of in-process workers (real worker servers, on
// loopback), called directly: the coordinator's logic without Kubernetes.
type local struct {
	mu      sync.Mutex
	servers map[string]*httptest.Server
	members map[int]Member
	gone    map[string]string
	addr    worker.HTTP
}

func newLocal(t *testing.T, n int, skew func(i int) time.Duration) *local {
	l := &local{servers: map[string]*httptest.Server{}, members: map[int]Member{}, gone: map[string]string{}, addr: worker.HTTP{}}
	for i := range n {
		pod := fmt.Sprintf("w-%d", i)
		ws := worker.NewAPI(pod, 0)
		if skew != nil {
			d := skew(i)
			ws.SetClock(func() time.Time { return time.Now().Add(d) })
		}
		srv := httptest.NewServer(ws.Handler())
		t.Cleanup(srv.Close)
		l.servers[pod], l.addr[pod] = srv, srv.URL
		off, err := (worker.Caller{T: l.addr}).SyncClock(context.Background(), pod, 5)
		if err != nil {
			t.Fatal(err)
		}
		l.members[i] = Member{Index: i, Pod: pod, UID: pod, Clock: off}
	}
	return l
}

func (l *local) Members(context.Context) (map[int]Member, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int]Member{}
	for k, m := range l.members {
		if l.gone[m.Pod] == "" {
			out[k] = m
		}
	}
	return out, nil
}

func (l *local) Gone(_ context.Context, m Member) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gone[m.Pod]
}

// kill stops a worker as a deleted pod would stop.
func (l *local) kill(pod string) {
	l.mu.Lock()
	l.gone[pod] = "pod deleted"
	l.mu.Unlock()
	l.servers[pod].CloseClientConnections()
	l.servers[pod].Close()
}

func coordinator(l *local, n int, target string) *Coordinator {
	return &Coordinator{Client: worker.Caller{T: l.addr}, Pods: l, Workers: n, Target: worker.Reach{BaseURL: target},
		MaxClockBound: 50 * time.Millisecond, Poll: 20 * time.Millisecond, Unreachable: 2 * time.Second, DefaultDeadline: time.Minute}
}

func simulator(t *testing.T) string {
	in, err := sim.Start(sim.Config{TTFT: 5 * time.Millisecond, ITL: 2 * time.Millisecond}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close() })
	return in.URL
}

var short = payload.Set{"short": {Name: "short", MaxTokens: 8, Messages: []openai.Message{{Role: "user", Content: "hello"}}}}

func spec(target string, p load.Plan) measurement.Spec {
	return measurement.Spec{Target: measurement.Requests{Endpoint: openai.Endpoint{BaseURL: target}, Model: sim.DefaultModel, Timeout: 30 * time.Second},
		Payload: "short", Plan: p, SLO: aggregate.SLO{}}
}

// A cell driven by 4 workers whose clocks disagree by up to 2 s runs
// exactly its plan: every request, the common start on the harness's
// clock, each worker its share, merged.
func TestDriveSharesAndMerges(t *testing.T) {
	target := simulator(t)
	skews := []time.Duration{0, 2 * time.Second, -700 * time.Millisecond, 40 * time.Millisecond}
	l := newLocal(t, 4, func(i int) time.Duration { return skews[i] })
	c := coordinator(l, 4, target)
	warmed := false
	trace := []time.Duration{0, 5 * time.Millisecond, 5 * time.Millisecond, 40 * time.Millisecond, 41 * time.Millisecond, 90 * time.Millisecond, 100 * time.Millisecond}
	for _, p := range []load.Plan{{VUs: 6, Iterations: 30, Warmup: 4}, {Rate: 200, Requests: 60}, {Rate: 300, Requests: 90, Arrival: load.Poisson, Seed: 9},
		{Rate: 70, Requests: len(trace), Schedule: trace}} {
		s := spec(target, p)
		s.AfterWarmup = func(context.Context) { warmed = true }
		began := time.Now()
		d, err := c.Drive(context.Background(), s, short, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(max(p.Iterations, p.Requests))
		if d.Stats.Requests != want || d.Stats.Successes != want || d.Summary.Recorded != want {
			t.Errorf("%+v: %d requests, %d successes, %d recorded; want %d", p, d.Stats.Requests, d.Stats.Successes, d.Summary.Recorded, want)
		}
		// The in-process workers share one process's CPU, so only their
		// shares and clocks are judged here, not their CPU.
		if d.Load.Verdict == results.LoadIncomplete || d.Load.Verdict == results.LoadClockUncertain || len(d.Load.Workers) != 4 {
			t.Errorf("%+v: load check %s (%s), %d workers", p, d.Load.Verdict, d.Load.Reason, len(d.Load.Workers))
		}
		var sum int64
		for _, w := range d.Load.Workers {
			sum += w.Requests
		}
		if sum != want {
			t.Errorf("%+v: the workers' requests sum to %d, want %d", p, sum, want)
		}
		for i, w := range d.Load.Workers {
			if got, off := w.ClockOffsetMs, float64(skews[i])/1e6; got < off-w.ClockBoundMs-1 || got > off+w.ClockBoundMs+1 {
				t.Errorf("worker %d: offset %.3f ms ± %.3f, the skew is %.0f ms", i, got, w.ClockBoundMs, off)
			}
		}
		// On the harness's clock the merged span starts after the call.
		if d.Summary.Start.Before(began) || d.Stats.Duration <= 0 || d.Stats.Duration > 20*time.Second {
			t.Errorf("%+v: start %v (called at %v), duration %v", p, d.Summary.Start, began, d.Stats.Duration)
		}
		if !warmed {
			t.Errorf("%+v: AfterWarmup not called", p)
		}
	}
}

// A worker that dies mid-cell: the cell ends with the others' figures,
// incomplete, naming the worker and its share; nothing hangs. A
// replacement pod that comes up meanwhile does not join the running cell,
// only the next one.
func TestDriveLosesAWorker(t *testing.T) {
	target := simulator(t)
	l := newLocal(t, 3, nil)
	c := coordinator(l, 3, target)
	replacement := worker.NewAPI("w-1b", 0)
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		replacement.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s := spec(target, load.Plan{VUs: 3, Duration: 1500 * time.Millisecond})
	s.AfterWarmup = func(context.Context) {
		time.AfterFunc(1200*time.Millisecond, func() { // mid-cell: the start is a second ahead
			l.kill("w-1")
			l.mu.Lock()
			l.addr["w-1b"] = srv.URL
			l.members[1] = Member{Index: 1, Pod: "w-1b", UID: "w-1b"}
			l.mu.Unlock()
		})
	}
	d, err := c.Drive(context.Background(), s, short, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d.Load.Verdict != results.LoadIncomplete || !strings.Contains(d.Load.Reason, "worker 1 (pod w-1) lost its share (1 of 3 VUs): pod deleted") {
		t.Errorf("verdict %s: %s", d.Load.Verdict, d.Load.Reason)
	}
	if d.Stats.Successes == 0 || d.Load.Workers[1].Lost == "" || d.Load.Workers[0].Lost != "" {
		t.Errorf("the others' figures: %d successes; workers %+v", d.Stats.Successes, d.Load.Workers)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the replacement pod was called %d times during the cell it did not start with", n)
	}
	// The next cell takes the replacement: complete again.
	d, err = c.Drive(context.Background(), spec(target, load.Plan{VUs: 3, Iterations: 6}), short, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d.Load.Verdict == results.LoadIncomplete || d.Stats.Requests != 6 || d.Load.Workers[1].Pod != "w-1b" {
		t.Errorf("next cell: %s (%s), %d requests (want 6), worker 1 on %s", d.Load.Verdict, d.Load.Reason, d.Stats.Requests, d.Load.Workers[1].Pod)
	}
	// A worker with no pod at all: the cell is incomplete from the start.
	l.mu.Lock()
	delete(l.members, 2)
	l.mu.Unlock()
	d, err = c.Drive(context.Background(), spec(target, load.Plan{VUs: 3, Iterations: 6}), short, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d.Load.Verdict != results.LoadIncomplete || d.Stats.Requests != 4 || !strings.Contains(d.Load.Reason, "no ready pod with index 2") {
		t.Errorf("a missing worker: %s (%s), %d requests (want 4 of 6)", d.Load.Verdict, d.Load.Reason, d.Stats.Requests)
	}
}

// A worker whose clock is known only loosely is flagged; a suite that
// stops mid-cell gets what finished, marked stopped, at once.
func TestDriveClockAndStop(t *testing.T) {
	target := simulator(t)
	l := newLocal(t, 2, nil)
	c := coordinator(l, 2, target)
	c.MaxClockBound = time.Nanosecond // no round trip is that short
	d, err := c.Drive(context.Background(), spec(target, load.Plan{VUs: 2, Iterations: 4}), short, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The in-process workers share one process's CPU, which a busy machine
	// may show as client-limited first: the clock finding is in the reason
	// whatever the verdict.
	if !strings.Contains(d.Load.Reason, "clock-uncertain: worker 0's clock offset") || !strings.Contains(d.Load.Reason, "PERF_WORKER_MAX_CLOCK_BOUND") || d.Load.ClockBoundMs <= 0 ||
		d.Load.Verdict != results.LoadClockUncertain && d.Load.Verdict != results.LoadClientLimited {
		t.Errorf("verdict %s (%s), bound %v ms", d.Load.Verdict, d.Load.Reason, d.Load.ClockBoundMs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := spec(target, load.Plan{VUs: 2, Duration: time.Minute})
	s.AfterWarmup = func(context.Context) { time.AfterFunc(2500*time.Millisecond, cancel) } // the start is a second or more ahead
	began := time.Now()
	d, err = c.Drive(ctx, s, short, 0)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); !d.Summary.Stopped || d.Stats.Successes == 0 || took > 20*time.Second {
		t.Errorf("stopped mid-cell: Stopped %v, %d successes, took %v", d.Summary.Stopped, d.Stats.Successes, took)
	}
}

// A cell past its deadline is stopped: what finished counts, the late
// shares are named, and Drive returns.
func TestDriveDeadline(t *testing.T) {
	target := simulator(t)
	l := newLocal(t, 2, nil)
	c := coordinator(l, 2, target)
	began := time.Now()
	d, err := c.Drive(context.Background(), spec(target, load.Plan{VUs: 2, Duration: time.Minute}), short, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 30*time.Second {
		t.Errorf("Drive took %v past a 2 s deadline", took)
	}
	if d.Load.Verdict != results.LoadIncomplete || !strings.Contains(d.Load.Reason, "missed the cell's deadline") || d.Stats.Successes == 0 {
		t.Errorf("verdict %s (%s), %d successes", d.Load.Verdict, d.Load.Reason, d.Stats.Successes)
	}
}
