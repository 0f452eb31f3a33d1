package sweep

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/pace"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// TestRepeatTime: each kind of plan's lower bound at a pace of 20 ms for the
// first token and 10 ms a token after it (a 64-token request: 650 ms).
func TestRepeatTime(t *testing.T) {
	p := pace.UnderLoad{Alone: pace.Time{First: 20 * time.Millisecond, PerToken: 10 * time.Millisecond}}
	req := 650 * time.Millisecond
	for _, tc := range []struct {
		name string
		plan load.Plan
		want time.Duration
	}{
		{"closed, 4 VUs x 48", load.Plan{VUs: 4, Iterations: 192}, 48 * req},
		{"closed, shared iterations round up", load.Plan{VUs: 4, Iterations: 5}, 2 * req},
		{"closed, warm-up and ramp-up", load.Plan{VUs: 4, Iterations: 8, Warmup: 4, RampUp: time.Second}, 3*req + time.Second},
		{"closed, duration first", load.Plan{VUs: 1, Iterations: 1000, Duration: 10 * time.Second}, 10*time.Second + req},
		{"closed, duration only", load.Plan{VUs: 1, Duration: 10 * time.Second}, 10*time.Second + req},
		{"open, 40 at 4/s", load.Plan{Rate: 4, Requests: 40}, 10*time.Second + req},
		{"open, warm-up", load.Plan{Rate: 4, Requests: 40, Warmup: 4}, 11*time.Second + 2*req},
		{"trace schedule", load.Plan{Rate: 1, Requests: 3, Schedule: []time.Duration{0, time.Second, 5 * time.Second}}, 5*time.Second + req},
	} {
		if got := RepeatTime(Repeat{Cell: Cell{Payload: "p", Plan: tc.plan}}, 64, p); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPaceAt: between the pace alone and at BusyVUs, linear; beyond, the
// busy pace.
func TestPaceAt(t *testing.T) {
	p := pace.UnderLoad{Alone: pace.Time{First: 10 * time.Millisecond, PerToken: 8 * time.Millisecond},
		Busy: pace.Time{First: 40 * time.Millisecond, PerToken: 14 * time.Millisecond}, BusyVUs: 16}
	for vus, want := range map[int]pace.Time{
		1:  p.Alone,
		16: p.Busy,
		32: p.Busy,
		6:  {First: 20 * time.Millisecond, PerToken: 10 * time.Millisecond},
	} {
		if got := p.At(vus); got != want {
			t.Errorf("At(%d) = %+v, want %+v", vus, got, want)
		}
	}
	if got := (pace.UnderLoad{Alone: p.Alone}).At(16); got != p.Alone {
		t.Errorf("no busy measurement: %+v", got)
	}
}

// TestNightlyNeedsMoreThanAnHour: the nightly's plan (2 payloads x 5 loads
// x 48 requests a VU x 5 repeats) at an RTX 3060's pace (8 ms a token
// alone, 13 at 16 at once) runs past Ginkgo's default hour; the check
// names the timeout to pass.
func TestNightlyNeedsMoreThanAnHour(t *testing.T) {
	cfg, err := resolve(t, map[string]string{"PERF_TARGET": "http://127.0.0.1:1", "PERF_REPEATS": "5", "PERF_REPORT_DIR": t.TempDir(),
		"PERF_PAYLOADS_FILE": "../../fixtures/payloads.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	e := EstimateSchedule(cfg.Schedule(), func(name string) int { return map[string]int{"short": 64, "long": 256}[name] },
		pace.UnderLoad{Alone: pace.Time{First: 30 * time.Millisecond, PerToken: 8 * time.Millisecond},
			Busy: pace.Time{First: 40 * time.Millisecond, PerToken: 13 * time.Millisecond}, BusyVUs: 16})
	if len(e.Repeats) != 50 || e.Total < 60*time.Minute || e.Total > 75*time.Minute {
		t.Fatalf("%d repeats, %v; want 50 and over an hour", len(e.Repeats), e.Total)
	}
	err = e.CheckDeadline(time.Hour)
	if !errors.Is(err, ErrTooLong) || !strings.Contains(err.Error(), "--timeout=3h") || !strings.Contains(err.Error(), "GINKGO_TIMEOUT=3h") {
		t.Errorf("against an hour: %v", err)
	}
	if err := e.CheckDeadline(12 * time.Hour); err != nil {
		t.Errorf("against make perf's 12h: %v", err)
	}
	t.Log(e)
}

// TestEstimateAgainstSimulator: Start measures the pace and estimates the
// plan from it (the simulator's 1 ms first token and 2 ms a token: a
// 64-token request alone takes about 130 ms, and 2 VUs x 2 requests about
// twice that, 260 ms; logged, not bounded); a target that fails the probe
// still gets its sweep, without an estimate, saying why.
func TestEstimateAgainstSimulator(t *testing.T) {
	url := simtest.Start(t, sim.Config{TTFT: time.Millisecond, ITL: 2 * time.Millisecond})
	cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_WARMUP": "0"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, why := r.Estimate()
	r.Close()
	// No bound on the figures' size: a busy machine can move the slope of
	// two medians either way. What holds every time: the plan's repeats at
	// the pace Start measured, its busy pace at the plan's 2 VUs, and a
	// one-token answer no sooner than the simulator's own 1 ms.
	want := EstimateSchedule(cfg.Schedule(), func(name string) int { return map[string]int{"short": 64, "long": 256}[name] }, e.Pace)
	if why != "" || len(e.Repeats) != 1 || e.Pace.BusyVUs != 2 || e.Total != want.Total || e.Pace.Alone.First < time.Millisecond || e.Pace.Busy.First < time.Millisecond {
		t.Errorf("estimate %v (%s), want %v at that pace; no estimate because %q", e.Total, e, want.Total, why)
	}
	down := simtest.Start(t, sim.Config{Faults: map[sim.Fault]float64{sim.Fault503: 1}})
	cfg = config(t, map[string]string{"PERF_TARGET": down, "PERF_WARMUP": "0"})
	r, err = Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("a failing target stopped the sweep: %v", err)
	}
	defer r.Close()
	e, why = r.Estimate()
	if e.Total != 0 || !strings.Contains(why, "http_5xx") {
		t.Errorf("estimate %v, reason %q", e.Total, why)
	}
	if c, _, err := r.RunCell(context.Background(), cfg.Schedule()[0]); err != nil || c.Errors["http_5xx"] != c.Requests {
		t.Errorf("the cell: err %v, errors %v of %d", err, c.Errors, c.Requests)
	}
}
