package systemtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/sim"
)

// TestTargetRestartsMidCell: the server goes away for about a second in the
// middle of a cell and comes back on the same address. The requests made
// while it is down fail (refused), the run continues, later requests
// succeed, and the cell's result says how long recovery took.
func TestTargetRestartsMidCell(t *testing.T) {
	cfg := sim.Config{TTFT: 5 * time.Millisecond, ITL: 5 * time.Millisecond}
	first, err := sim.Start(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	addr := first.URL[len("http://"):]
	restarted := make(chan *sim.Instance, 1)
	go func() {
		time.Sleep(700 * time.Millisecond) // the outage's start: part of the scenario, not a wait
		_ = first.Close()
		time.Sleep(time.Second) // the outage's length
		second, err := sim.Start(cfg, addr)
		if err != nil {
			t.Error(err)
		}
		restarted <- second
	}()
	tg := target(first.URL)
	tg.IdleTimeout = 2 * time.Second
	var recs strings.Builder
	res, err := measurement.Run(context.Background(), measurement.Spec{Target: tg, Payload: "n16", Plan: load.Plan{VUs: 4, Duration: 3 * time.Second}, Records: &recs}, payloads)
	for _, l := range strings.Split(recs.String(), "\n") {
		if strings.Contains(l, `"class":"other"`) {
			t.Errorf("an unclassified failure: %s", l)
		}
	}
	if second := <-restarted; second != nil {
		defer second.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	s := res.Stats
	var down int64
	for _, c := range []record.Class{record.ConnRefused, record.ConnReset, record.StreamTruncated} {
		down += s.Errors[c]
	}
	t.Logf("%d requests: %d ok, errors %v, recovery %v", s.Requests, s.Successes, s.Errors, s.Recovery)
	if down == 0 || s.Successes == 0 || s.Requests != s.Successes+down {
		t.Errorf("errors %v, %d successes of %d: want refusals while down and successes around them", s.Errors, s.Successes, s.Requests)
	}
	// Down for a second: recovery spans at least the outage, and ends
	// within the cell (what the figure is: the outage seen by the client,
	// not the restart's own speed on a busy machine).
	if s.Recovery < 900*time.Millisecond || s.Recovery > s.Duration {
		t.Errorf("recovery %v, want at least the 1 s outage and within the cell's %v", s.Recovery, s.Duration)
	}
}
