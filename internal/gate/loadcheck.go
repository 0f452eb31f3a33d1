package gate

import (
	"fmt"
	"math"
	"time"

	"github.com/llm-platform/harness/internal/results"
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
	// CPULimit, when > 0, is a container's CPU limit in cores (a worker
	// pod's): the CPU share is measured against it, not Cores.
	CPULimit  float64
	GCPause   time.Duration
	Simulator bool
	// Who names the load generator in the reasons ("the harness" when empty).
	Who string
}

// CheckLoad judges whether the load matched the plan. Open loop: the rate
// achieved against the rate offered, and the schedule's lag; a shortfall
// is the server's when requests fell due with the in-flight cap reached,
// the client's when it lagged below the cap. Both modes: the harness's own
// CPU use against its cores.
func CheckLoad(in LoadInput) results.LoadCheck {
	c := results.LoadCheck{Verdict: results.LoadOK, ClientCores: in.Cores, IncludesSimulator: in.Simulator,
		ClientCPUS: results.Round3(in.CPU.Seconds()), GCPauseMs: results.Round3(float64(in.GCPause) / float64(time.Millisecond))}
	cores := float64(in.Cores)
	if in.CPULimit > 0 {
		cores = min(cores, in.CPULimit)
	}
	if in.Wall > 0 && cores > 0 {
		c.ClientCPUShare = results.Round3(in.CPU.Seconds() / (in.Wall.Seconds() * cores))
	}
	who := "the harness"
	if in.Who != "" {
		who = in.Who
	}
	if in.Simulator {
		who = "the harness and the embedded simulator it runs"
	}
	if in.Open {
		c.OfferedRPS, c.LagP99Ms, c.CapReached = in.OfferedRPS, results.Round3(float64(in.LagP99)/float64(time.Millisecond)), in.CapReached
		if in.Requests > 1 && in.StartSpan > 0 {
			c.AchievedRPS = results.Round3(float64(in.Requests-1) / in.StartSpan.Seconds())
		}
		maxLag := MaxLagMs
		if in.OfferedRPS > 0 {
			maxLag = math.Min(maxLag, 500/in.OfferedRPS) // half the gap between arrivals
		}
		short := c.AchievedRPS > 0 && c.AchievedRPS < MinAchievedShare*in.OfferedRPS
		late := c.LagP99Ms > maxLag
		switch {
		case (short || late) && in.CapReached > 0:
			c.Verdict = results.LoadServerLimited
			c.Reason = fmt.Sprintf("server-limited: %d of %d requests fell due with all %d in-flight slots busy; achieved %.3g of %.3g req/s, schedule lag p99 %.1f ms",
				in.CapReached, in.Requests, in.MaxInFlight, c.AchievedRPS, in.OfferedRPS, c.LagP99Ms)
		case short || late:
			c.Verdict = results.LoadClientLimited
			c.Reason = fmt.Sprintf("client-limited: the schedule lagged (p99 %.1f ms, more than %.1f ms) below the in-flight cap; achieved %.3g of %.3g req/s; %s used %.0f%% of %s",
				c.LagP99Ms, maxLag, c.AchievedRPS, in.OfferedRPS, who, 100*c.ClientCPUShare, coresText(cores))
		}
	}
	if c.Verdict == results.LoadOK && c.ClientCPUShare > MaxClientCPUShare {
		c.Verdict = results.LoadClientLimited
		c.Reason = fmt.Sprintf("client-limited: %s used %.0f%% of its %s (GC pauses %.1f ms)", who, 100*c.ClientCPUShare, coresText(cores), c.GCPauseMs)
	}
	return c
}

// coresText names a CPU allowance: "2 cores", "0.25 cores".
func coresText(n float64) string {
	return fmt.Sprintf("%.3g cores", n)
}
