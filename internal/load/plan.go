// Package load is the load engine: it releases requests to a Doer on a
// closed-loop (k6-style virtual users) or open-loop (constant or Poisson
// arrival) schedule and hands each finished record to a Sink.
//
// The engine knows nothing of HTTP or statistics: a Doer makes one request
// into a record.Record, a Sink folds it (stats.Aggregator, record.JSONL).
// Records are reused per worker, so the per-request path allocates nothing
// of its own; sinks must not keep the record past Add. A failed request is a
// record, never an error: Run returns an error only for a bad Plan.
//
// # The open loop's cost per request
//
// One pacer keeps the schedule: it waits for each intended start on its own
// precise timer (clock.Timer) and hands the request to an idle worker; the
// pool grows lazily up to MaxInFlight. It replaced a scheduler goroutine
// feeding 1,024 pre-started workers, each waiting on the shared clock.
//
// The profile (make bench-rate, 3,000 non-streamed requests/s against
// llm-d-inference-sim on 2 cores; pprof CPU, and the trace's scheduler
// latency) says where a request's CPU goes: about a quarter in writing the
// request to the socket, a quarter in the Go scheduler parking and waking
// threads (futex, epoll) for the hand-offs between the caller and
// net/http's read and write loops, and under 1% in this package and the
// clock. Scheduler latency was 36 µs a request, mostly net/http's channel
// hand-offs. The design choice that costs CPU is the precise wake: a
// timerfd armed and read per request costs about 0.06 CPU seconds per 1,000
// requests; runtime timers would bring the engine to vegeta's 0.085 s per
// 1,000 but start requests up to about 1.2 ms late at p99 (measured), where
// the precise wake keeps the queue p99 near 0.3 ms. The harness keeps the
// precise wake. docs/benchmarks.md has the figures.
package load

import (
	"errors"
	"fmt"
	"time"
)

// Mode is how requests are released.
type Mode string

// The modes.
const (
	// Closed: VUs loop, each starting its next request when the last ends.
	Closed Mode = "closed"
	// Open: requests start on a schedule, whatever is in flight.
	Open Mode = "open"
)

// Arrival is the open-loop inter-arrival distribution.
type Arrival string

// The arrival processes.
const (
	Constant Arrival = "constant" // evenly spaced at 1/Rate
	Poisson  Arrival = "poisson"  // exponential gaps with mean 1/Rate
)

// DefaultMaxInFlight caps concurrent requests in open loop when the plan
// sets no cap: well above the team's largest sweep cell (16) and vLLM's
// default max_num_seqs (256), low enough to bound client memory.
const DefaultMaxInFlight = 1024

// Plan is one cell's schedule. Set VUs (closed loop) or Rate (open loop),
// and bound the run by a count, a duration or both.
type Plan struct {
	// VUs is the number of virtual users in closed loop.
	VUs int `json:"vus,omitzero"`
	// Iterations is the total request count shared by all VUs (k6's
	// shared-iterations executor); it must be at least VUs.
	Iterations int `json:"iterations,omitzero"`
	// Duration stops releasing requests once this much time has passed
	// (in-flight requests finish). With Iterations, whichever ends first.
	Duration time.Duration `json:"duration,omitzero"`

	// RampUp spreads the VUs' first requests evenly over this long (VU i
	// starts at i*RampUp/VUs), as k6's ramping executors and vLLM's
	// benchmark ramp-up do. Without it every VU starts at once, and with
	// uniform latencies their streams stay in lockstep: every token of
	// every stream falls due in the same instant, which measures the
	// client's burst handling more than the server.
	RampUp time.Duration `json:"ramp_up,omitzero"`

	// Rate is the open-loop arrival rate in requests per second.
	Rate float64 `json:"rate,omitzero"`
	// Arrival is the inter-arrival process (Constant when empty).
	Arrival Arrival `json:"arrival,omitzero"`
	// Requests is the open-loop request count.
	Requests int `json:"requests,omitzero"`
	// MaxInFlight caps requests in flight in open loop (DefaultMaxInFlight
	// when zero); a request whose slot is late starts late, and its queue
	// time shows how late, so nothing is coordinated away.
	MaxInFlight int `json:"max_in_flight,omitzero"`
	// Seed seeds the Poisson process.
	Seed uint64 `json:"seed,omitzero"`
	// Schedule, when set, is the open loop's schedule itself: each
	// request's offset from the start, in order (a replayed trace). Rate is
	// then its average, for reports; Requests must be len(Schedule).
	Schedule []time.Duration `json:"-"`

	// Warmup requests run before the measured ones, at the same
	// concurrency, and are never recorded.
	Warmup int `json:"warmup,omitzero"`

	// Share, when set, runs one load generator's part of the plan (Share
	// says which part); the zero Share runs it all.
	Share Share `json:"share,omitzero"`
	// StartAt, when set, is the instant the measured requests start at
	// (the engine waits for it on its precise timer): several generators
	// start one plan together, each on its own clock. Zero: at once.
	StartAt time.Time `json:"-"`
}

// Mode reports the plan's mode.
func (p Plan) Mode() Mode {
	if p.Rate > 0 {
		return Open
	}
	return Closed
}

// ErrInvalidPlan is wrapped by every Validate error.
var ErrInvalidPlan = errors.New("load: invalid plan")

func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidPlan, field, fmt.Sprintf(format, args...))
}

// Validate reports the first invalid field, by name.
func (p Plan) Validate() error {
	switch {
	case p.VUs < 0:
		return invalid("vus", "%d: must be > 0", p.VUs)
	case p.Rate < 0:
		return invalid("rate", "%v: must be > 0", p.Rate)
	case p.VUs == 0 && p.Rate == 0:
		return invalid("vus/rate", "neither is set: set vus (closed loop) or rate (open loop)")
	case p.VUs > 0 && p.Rate > 0:
		return invalid("vus/rate", "both are set: vus is closed loop, rate is open loop; use max_in_flight to cap an open loop")
	case p.Iterations < 0:
		return invalid("iterations", "%d: must be >= 0", p.Iterations)
	case p.Requests < 0:
		return invalid("requests", "%d: must be >= 0", p.Requests)
	case p.Duration < 0:
		return invalid("duration", "%v: must be >= 0", p.Duration)
	case p.Warmup < 0:
		return invalid("warmup", "%d: must be >= 0", p.Warmup)
	case p.MaxInFlight < 0:
		return invalid("max_in_flight", "%d: must be >= 0", p.MaxInFlight)
	case p.RampUp < 0:
		return invalid("ramp_up", "%v: must be >= 0", p.RampUp)
	case p.RampUp > 0 && p.Rate > 0:
		return invalid("ramp_up", "is for closed loop; an open loop's rate sets its pace")
	case p.Share.Of < 0 || p.Share.Index < 0 || p.Share.Of > 0 && p.Share.Index >= p.Share.Of:
		return invalid("share", "index %d of %d: want 0 <= index < of", p.Share.Index, p.Share.Of)
	}
	if p.Mode() == Closed {
		switch {
		case p.Iterations > 0 && p.Iterations < p.VUs:
			return invalid("iterations", "%d is fewer than vus (%d): every VU needs at least one", p.Iterations, p.VUs)
		case p.Iterations == 0 && p.Duration == 0:
			return invalid("iterations/duration", "neither is set: a closed loop needs a bound")
		case p.Requests != 0:
			return invalid("requests", "is for open loop; closed loop counts iterations")
		}
		return nil
	}
	switch {
	case p.Arrival != "" && p.Arrival != Constant && p.Arrival != Poisson:
		return invalid("arrival", "%q: want %q or %q", p.Arrival, Constant, Poisson)
	case len(p.Schedule) > 0 && p.Requests != len(p.Schedule):
		return invalid("requests", "%d: a schedule of %d requests needs requests = %d", p.Requests, len(p.Schedule), len(p.Schedule))
	case p.Requests == 0 && p.Duration == 0:
		return invalid("requests/duration", "neither is set: an open loop needs a bound")
	case p.Iterations != 0:
		return invalid("iterations", "is for closed loop; open loop counts requests")
	}
	return nil
}

// Concurrency is the number of requests the plan can have in flight: VUs in
// closed loop, the in-flight cap in open loop.
func (p Plan) Concurrency() int {
	if p.Mode() == Closed {
		return p.VUs
	}
	if p.MaxInFlight > 0 {
		return p.MaxInFlight
	}
	return DefaultMaxInFlight
}

// WarmupPlan is the plan of p's warm-up phase: p.Warmup requests at p's
// concurrency (or rate), with no warm-up of its own. ok is false when p has
// no warm-up. Run runs it first; a caller that must observe the server
// between warm-up and measurement runs it itself and clears p.Warmup.
func (p Plan) WarmupPlan() (w Plan, ok bool) {
	if p.Warmup <= 0 {
		return Plan{}, false
	}
	w = p
	w.Duration, w.Warmup, w.StartAt = 0, 0, time.Time{}
	if w.Mode() == Closed {
		w.Iterations, w.VUs = p.Warmup, min(p.VUs, p.Warmup)
	} else {
		w.Requests = p.Warmup
	}
	return w, true
}

// VUs names a closed loop's concurrency for people: "1 VU", "4 VUs".
func VUs(n int) string {
	if n == 1 {
		return "1 VU"
	}
	return fmt.Sprintf("%d VUs", n)
}
