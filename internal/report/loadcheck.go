package report

import (
	"fmt"
	"math"
	"time"
)

// Load self-check thresholds. A cell whose load did not match its plan
// says why; PERF_STRICT_LOAD=1 fails it.
const (
	// MinAchievedShare: an open-loop cell must start at least this share
	// of its offered rate.
	MinAchievedShare = 0.95
	// MaxClientCPUShare: above this share of its cores the harness itself
	// is the bottleneck.
	MaxClientCPUShare = 0.90
	// MaxLagMs: an open-loop schedule kept within this (queue p99) is on
	// time; it is also at most half the inter-arrival gap.
	MaxLagMs = 5.0
)

// Load check verdicts.
const (
	LoadOK            = "ok"
	LoadClientLimited = "client-limited"
	LoadServerLimited = "server-limited"
)

// LoadCheck says whether the load the cell applied matched its plan, and
// whose fault it was when not.
type LoadCheck struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason,omitempty"`
	// Open loop: the offered rate, the rate requests were started at, how
	// late the schedule ran (queue p99), and how many requests fell due
	// with every in-flight slot busy.
	OfferedRPS  float64 `json:"offered_rps,omitempty"`
	AchievedRPS float64 `json:"achieved_rps,omitempty"`
	LagP99Ms    float64 `json:"lag_p99_ms,omitempty"`
	CapReached  int64   `json:"cap_reached,omitempty"`
	// The harness process during the measured phase: CPU seconds used, the
	// cores it may use (GOMAXPROCS), their share used, and GC pause total.
	ClientCPUS     float64 `json:"client_cpu_s"`
	ClientCores    int     `json:"client_cores"`
	ClientCPUShare float64 `json:"client_cpu_share"`
	GCPauseMs      float64 `json:"gc_pause_ms"`
	// IncludesSimulator: the embedded simulator ran in the same process,
	// so the CPU figures include it.
	IncludesSimulator bool `json:"includes_simulator"`
}

// LoadInput is what CheckLoad judges, measured over a cell's measured
// phase.
type LoadInput struct {
	Open        bool
	OfferedRPS  float64
	Requests    int64
	StartSpan   time.Duration // first start to last start
	LagP99      time.Duration
	CapReached  int64
	MaxInFlight int
	Wall        time.Duration
	CPU         time.Duration
	Cores       int
	GCPause     time.Duration
	Simulator   bool
}

// CheckLoad judges whether the load matched the plan. Open loop: the rate
// achieved against the rate offered, and the schedule's lag; a shortfall
// is the server's when requests fell due with the in-flight cap reached,
// the client's when it lagged below the cap. Both modes: the harness's own
// CPU use against its cores.
func CheckLoad(in LoadInput) LoadCheck {
	c := LoadCheck{Verdict: LoadOK, ClientCores: in.Cores, IncludesSimulator: in.Simulator,
		ClientCPUS: round3(in.CPU.Seconds()), GCPauseMs: round3(float64(in.GCPause) / float64(time.Millisecond))}
	if in.Wall > 0 && in.Cores > 0 {
		c.ClientCPUShare = round3(in.CPU.Seconds() / (in.Wall.Seconds() * float64(in.Cores)))
	}
	who := "the harness"
	if in.Simulator {
		who = "the harness and the embedded simulator it runs"
	}
	if in.Open {
		c.OfferedRPS, c.LagP99Ms, c.CapReached = in.OfferedRPS, round3(float64(in.LagP99)/float64(time.Millisecond)), in.CapReached
		if in.Requests > 1 && in.StartSpan > 0 {
			c.AchievedRPS = round3(float64(in.Requests-1) / in.StartSpan.Seconds())
		}
		maxLag := MaxLagMs
		if in.OfferedRPS > 0 {
			maxLag = math.Min(maxLag, 500/in.OfferedRPS) // half the gap between arrivals
		}
		short := c.AchievedRPS > 0 && c.AchievedRPS < MinAchievedShare*in.OfferedRPS
		late := c.LagP99Ms > maxLag
		switch {
		case (short || late) && in.CapReached > 0:
			c.Verdict = LoadServerLimited
			c.Reason = fmt.Sprintf("server-limited: %d of %d requests fell due with all %d in-flight slots busy; achieved %.3g of %.3g req/s, schedule lag p99 %.1f ms",
				in.CapReached, in.Requests, in.MaxInFlight, c.AchievedRPS, in.OfferedRPS, c.LagP99Ms)
		case short || late:
			c.Verdict = LoadClientLimited
			c.Reason = fmt.Sprintf("client-limited: the schedule lagged (p99 %.1f ms, more than %.1f ms) below the in-flight cap; achieved %.3g of %.3g req/s; %s used %.0f%% of %d cores",
				c.LagP99Ms, maxLag, c.AchievedRPS, in.OfferedRPS, who, 100*c.ClientCPUShare, in.Cores)
		}
	}
	if c.Verdict == LoadOK && c.ClientCPUShare > MaxClientCPUShare {
		c.Verdict = LoadClientLimited
		c.Reason = fmt.Sprintf("client-limited: %s used %.0f%% of its %d cores (GC pauses %.1f ms)", who, 100*c.ClientCPUShare, in.Cores, c.GCPauseMs)
	}
	return c
}
