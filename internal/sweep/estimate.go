package sweep

import (
	"fmt"
	"math"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/pace"
)

// RepeatTime estimates one repeat (one repeat of one cell) at pace p, its
// payload asking for maxTokens: closed loop at the pace of its VUs, open
// loop at the pace alone. It leaves out what a cell adds around its
// requests (scrapes, report writes: well under a second).
func RepeatTime(t Repeat, maxTokens int, p pace.UnderLoad) time.Duration {
	pl := t.Plan
	req := p.At(pl.VUs).Of(maxTokens)
	if pl.Mode() == load.Open {
		req = p.Alone.Of(maxTokens)
	}
	if len(pl.Schedule) > 0 {
		return pl.Schedule[len(pl.Schedule)-1] + req
	}
	// span is how long n requests take: by the rate in open loop, in
	// rounds of the VUs in closed loop.
	span := func(n int) time.Duration {
		if pl.Mode() == load.Open {
			return time.Duration(float64(n)/pl.Rate*float64(time.Second)) + req
		}
		return time.Duration(math.Ceil(float64(n)/float64(pl.VUs))) * req
	}
	var d time.Duration
	if n := max(pl.Iterations, pl.Requests); n > 0 {
		d = span(n)
	}
	if pl.Duration > 0 && (d == 0 || pl.Duration+req < d) { // whichever ends first
		d = pl.Duration + req
	}
	if pl.Warmup > 0 {
		d += span(pl.Warmup)
	}
	return d + pl.RampUp
}

// Estimate is a sweep's expected duration at a measured pace.
type Estimate struct {
	// Total is the sum of the repeats' estimates.
	Total time.Duration
	// Repeats are each repeat's, in the sweep's order.
	Repeats []time.Duration
	Pace    pace.UnderLoad
}

// String says what the estimate rests on, for the suite's first lines.
func (e Estimate) String() string {
	busy := ""
	if e.Pace.BusyVUs > 1 {
		busy = fmt.Sprintf(", %v at %d at once", e.Pace.Busy.PerToken.Round(10*time.Microsecond), e.Pace.BusyVUs)
	}
	repeats := "repeats"
	if len(e.Repeats) == 1 {
		repeats = "repeat"
	}
	total := e.Total.Round(time.Second)
	if e.Total < time.Minute {
		total = e.Total.Round(100 * time.Millisecond)
	}
	return fmt.Sprintf("about %v for %d %s (a measured %v per output token alone%s; %v to a one-token answer)",
		total, len(e.Repeats), repeats, e.Pace.Alone.PerToken.Round(10*time.Microsecond), busy, e.Pace.Alone.First.Round(100*time.Microsecond))
}

// EstimateSchedule estimates repeats at pace p; maxTokens gives each
// payload's output length.
func EstimateSchedule(repeats []Repeat, maxTokens func(payload string) int, p pace.UnderLoad) Estimate {
	e := Estimate{Pace: p}
	for _, t := range repeats {
		d := RepeatTime(t, maxTokens(t.Payload), p)
		e.Repeats = append(e.Repeats, d)
		e.Total += d
	}
	return e
}

// ErrTooLong is wrapped when a plan's estimate exceeds the time the test
// runner gives it.
var ErrTooLong = fmt.Errorf("sweep: the plan cannot finish in time")

// CheckDeadline fails when the estimate does not fit in left, the time the
// test runner (Ginkgo's --timeout) leaves the suite, naming a timeout that
// fits with room (twice the estimate, rounded up to the hour).
func (e Estimate) CheckDeadline(left time.Duration) error {
	if left <= 0 || e.Total <= left {
		return nil
	}
	fits := time.Duration(math.Ceil(float64(2*e.Total)/float64(time.Hour))) * time.Hour
	return fmt.Errorf("%w: it needs %s, and Ginkgo's --timeout leaves %v: pass --timeout=%s (make perf GINKGO_TIMEOUT=%s), or shrink the plan (PERF_REPEATS, PERF_ITERATIONS_PER_VU, PERF_CONCURRENCY)",
		ErrTooLong, e, left.Round(time.Second), fitsString(fits), fitsString(fits))
}

func fitsString(d time.Duration) string { return fmt.Sprintf("%dh", int(d.Hours())) }

// Estimate is the sweep's estimated duration: zero for a capacity search
// (its probes are not known in advance), and when the pace probe failed,
// with the reason.
func (r *Runner) Estimate() (Estimate, string) { return r.estimate, r.noEstimate }

// left is the estimated time the sweep has left: the repeats not finished,
// less what the running one has spent (never below zero).
func (r *Runner) left(running time.Duration) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(r.estimate.Total-r.estimated-running, 0)
}
