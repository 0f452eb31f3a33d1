package worker

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/sim"
)

func order(target string, p load.Plan) Order {
	return Order{Target: Reach{BaseURL: target, Model: sim.DefaultModel, Timeout: 10 * time.Second},
		Payload: payload.Payload{Name: "short", MaxTokens: 4, Messages: []openai.Message{{Role: "user", Content: "hi"}}}, Plan: p}
}

// A cell through the API: a bad order is refused naming the field; a good
// one warms up, waits for its start, runs its share and ships its
// histograms; a second start or a second cell at once is refused.
func TestAPI(t *testing.T) {
	in, err := sim.Start(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	srv := httptest.NewServer(NewAPI("w-0", 0.25).Handler())
	defer srv.Close()
	c := Caller{T: HTTP{"w-0": srv.URL}}
	ctx := context.Background()

	bad := order(in.URL, load.Plan{VUs: 2, Iterations: 1})
	if err := c.Order(ctx, "w-0", "bad", bad); err == nil || !strings.Contains(err.Error(), "iterations") {
		t.Errorf("a plan of fewer iterations than VUs: %v", err)
	}
	p := load.Plan{VUs: 4, Iterations: 12, Warmup: 2, Share: load.Share{Index: 1, Of: 2}}
	if err := c.Order(ctx, "w-0", "c1", order(in.URL, p)); err != nil {
		t.Fatal(err)
	}
	if err := c.Order(ctx, "w-0", "c2", order(in.URL, p)); err == nil {
		t.Error("a second cell was taken while one runs")
	}
	waitFor(t, c, "c1", Warm)
	at := time.Now().Add(50 * time.Millisecond)
	if err := c.Start(ctx, "w-0", "c1", at); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx, "w-0", "c1", at); err == nil {
		t.Error("a second start was taken")
	}
	st := waitFor(t, c, "c1", Done)
	r := st.Result
	if r.Partial.Requests != 6 || r.Partial.Successes != 6 || !r.Tally.Start.Equal(at) || r.Tally.Warmup != 1 {
		t.Errorf("share 1 of 2 of 4 VUs x 12: %d requests (%d ok), start %v (want %v), warm-up %d", r.Partial.Requests, r.Partial.Successes, r.Tally.Start, at, r.Tally.Warmup)
	}
	if r.Partial.First.Before(at) || r.Partial.Histograms["ttft"] == "" || r.CPULimit != 0.25 || r.Load.Verdict == "" {
		t.Errorf("result: first %v (start %v), histograms %d, cpu limit %v, verdict %q", r.Partial.First, at, len(r.Partial.Histograms), r.CPULimit, r.Load.Verdict)
	}
	if _, err := c.Status(ctx, "w-0", "nope"); err == nil {
		t.Error("an unknown cell has a status")
	}
}

func waitFor(t *testing.T, c Caller, id, state string, failing ...bool) Status {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for time.Now().Before(end) {
		st, err := c.Status(context.Background(), "w-0", id)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == state {
			return st
		}
		if st.State == Failed && len(failing) == 0 {
			t.Fatalf("cell %s failed: %s", id, st.Error)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("cell %s never reached %s", id, state)
	return Status{}
}

// A worker the harness no longer calls exits by itself (the Job ends);
// one that is called stays.
func TestIdleExit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := NewAPI("w", 0)
	done := make(chan error, 1)
	go func() { done <- a.Serve(context.Background(), ln, 4*time.Second) }()
	// Calls 300 ms apart keep it up past its 4-s idle limit; a machine
	// would have to stall one goroutine 3.7 s to end it early.
	var last time.Time
	for range 4 {
		time.Sleep(300 * time.Millisecond)
		last = time.Now()
		resp, err := http.Get("http://" + ln.Addr().String() + "/clock")
		if err != nil {
			t.Fatalf("the worker left while called: %v", err)
		}
		var rd Reading
		_ = json.NewDecoder(resp.Body).Decode(&rd)
		resp.Body.Close()
		if rd.Now.IsZero() {
			t.Error("no time in /clock")
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
		// A lower bound that holds on any machine: the worker saw the
		// last call after it was sent and counts its idle limit from then
		// on the same monotonic clock; a busy machine only exits it later.
		if idle := time.Since(last); idle < 4*time.Second {
			t.Errorf("exited %v after the last call, before its 4-s idle limit", idle)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the worker did not exit when no longer called")
	}
}

func TestCPULimit(t *testing.T) {
	for in, want := range map[string]float64{"max 100000\n": 0, "25000 100000\n": 0.25, "200000 100000": 2, "junk": 0, "-1 100000": 0} {
		if got := parseCPUMax(in); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
	v2, v1 := t.TempDir(), t.TempDir()
	write := func(path, s string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(v2, "cpu.max"), "50000 100000\n")
	write(filepath.Join(v1, "cpu", "cpu.cfs_quota_us"), "25000\n")
	write(filepath.Join(v1, "cpu", "cpu.cfs_period_us"), "100000\n")
	if got := cpuLimit(v2); got != 0.5 {
		t.Errorf("cgroup v2: %v, want 0.5", got)
	}
	if got := cpuLimit(v1); got != 0.25 {
		t.Errorf("cgroup v1: %v, want 0.25", got)
	}
	if got := cpuLimit(t.TempDir()); got != 0 {
		t.Errorf("no cgroup files: %v, want 0", got)
	}
}

// A warm cell whose start never comes (the harness gave the worker up)
// is dropped after its bound, and the worker takes the next cell.
func TestStartNeverComes(t *testing.T) {
	in, err := sim.Start(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	srv := httptest.NewServer(NewAPI("w-0", 0).Handler())
	defer srv.Close()
	c := Caller{T: HTTP{"w-0": srv.URL}}
	o := order(in.URL, load.Plan{VUs: 1, Iterations: 2, Warmup: 1})
	o.StartWithin = 300 * time.Millisecond
	if err := c.Order(context.Background(), "w-0", "c1", o); err != nil {
		t.Fatal(err)
	}
	if st := waitFor(t, c, "c1", Failed, true); !strings.Contains(st.Error, "stopped before its start") {
		t.Errorf("a cell never started: %+v", st)
	}
	if err := c.Order(context.Background(), "w-0", "c2", order(in.URL, load.Plan{VUs: 1, Iterations: 2})); err != nil {
		t.Errorf("the next cell after a dropped one: %v", err)
	}
}
