package systemtest_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// soakSample is one reading of the harness process.
type soakSample struct {
	at         time.Duration
	rss        int64
	goroutines int
	requests   int64
}

// TestSoak (make soak) runs 256 concurrent streams against the simulator
// (in its own process) with 1% injected faults for SOAK_TIME, reads this
// process's resident memory and goroutine count every SOAK_EVERY, prints
// the series, and fails if either trends upward after the warm-up. Without
// SOAK_TIME it is skipped: it is a long run, not a unit test.
func TestSoak(t *testing.T) {
	total, err := time.ParseDuration(os.Getenv("SOAK_TIME"))
	if err != nil {
		t.Skip("SOAK_TIME not set (make soak sets it; default 10m)")
	}
	period := 10 * time.Second
	if v, err := time.ParseDuration(os.Getenv("SOAK_EVERY")); err == nil {
		period = v
	}
	url := simtest.StartProcess(t, "-preset", "fast",
		"-faults", "429=0.002,500=0.002,disconnect=0.002,malformed=0.002,no-done=0.002")
	tg := target(url)
	tg.IdleTimeout = 5 * time.Second

	var series []soakSample // written by the sampler only; read after it stopped
	obs := &countSink{}
	began := time.Now()
	stop := every(period, func() {
		series = append(series, soakSample{at: time.Since(began), rss: rssBytes(t), goroutines: runtime.NumGoroutine(), requests: obs.n.Load()})
	})
	res, err := measurement.Run(context.Background(), measurement.Spec{Target: tg, Payload: "n16",
		Plan: load.Plan{VUs: 256, Duration: total, RampUp: time.Second}, Observe: obs}, payloads)
	stop()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%8s %10s %10s %10s\n", "elapsed", "RSS MiB", "goroutines", "requests")
	for _, s := range series {
		fmt.Fprintf(&b, "%8s %10.1f %10d %10d\n", s.at.Round(time.Second), float64(s.rss)/(1<<20), s.goroutines, s.requests)
	}
	t.Logf("soak: %d requests (%d ok, errors %v), %.0f RPS\n%s", res.Stats.Requests, res.Stats.Successes, res.Stats.Errors, res.Stats.RPS, b.String())

	// After the warm-up (the first fifth), the last third of the series
	// must not sit above the first third by more than 10% plus a floor.
	warm := len(series) / 5
	rest := series[warm:]
	if len(rest) < 3 {
		t.Fatalf("%d samples after warm-up: run longer than %v", len(rest), total)
	}
	third := len(rest) / 3
	mean := func(xs []soakSample, f func(soakSample) float64) float64 {
		var s float64
		for _, x := range xs {
			s += f(x)
		}
		return s / float64(len(xs))
	}
	rss := func(s soakSample) float64 { return float64(s.rss) }
	gor := func(s soakSample) float64 { return float64(s.goroutines) }
	first, last := rest[:third], rest[len(rest)-third:]
	if a, z := mean(first, rss), mean(last, rss); z > a*1.10+8<<20 {
		t.Errorf("resident memory trends up: %.1f MiB then %.1f MiB", a/(1<<20), z/(1<<20))
	}
	if a, z := mean(first, gor), mean(last, gor); z > a*1.10+20 {
		t.Errorf("goroutines trend up: %.0f then %.0f", a, z)
	}
}
