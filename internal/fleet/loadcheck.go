package fleet

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/results"
)

// loadCheck is a driven cell's load self-check: the merged schedule
// judged as one (the whole offered rate, the merged queue time), each
// worker's own check and clock, and the shares lost. The cell's verdict is
// the gravest: a lost share (incomplete), then the merged check, then a
// worker's own, then an uncertain clock; the reason says them all.
func (c *Coordinator) loadCheck(p load.Plan, stats aggregate.Figures, shares []*share) results.LoadCheck {
	open := p.Mode() == load.Open
	lc := gate.CheckLoad(merged(p, stats, shares))
	var lost, own, clock []string
	for _, sh := range shares {
		w := results.WorkerLoad{Index: sh.k, Pod: sh.m.Pod, Node: sh.m.Node, Lost: sh.lost, Verdict: results.LoadOK,
			ClockOffsetMs: ms(sh.m.Clock.Offset), ClockBoundMs: ms(sh.m.Clock.Bound)}
		if open {
			w.OfferedRPS = results.Round3(p.Rate / float64(sh.plan.Share.Of))
		} else {
			w.VUs = sh.plan.LocalVUs()
		}
		if r := sh.status.Result; r != nil {
			w.Requests, w.AchievedRPS, w.LagP99Ms = r.Partial.Requests, r.Load.AchievedRPS, r.Load.LagP99Ms
			w.CPUS, w.CPUShare, w.Verdict, w.Reason = r.Load.ClientCPUS, r.Load.ClientCPUShare, r.Load.Verdict, r.Load.Reason
			w.CPULimit = r.CPULimit // its cgroup's
			if w.Verdict != results.LoadOK {
				own = append(own, w.Reason)
			}
		} else if sh.lost == "" {
			w.Lost = "returned no result"
		}
		if w.Lost != "" {
			lost = append(lost, fmt.Sprintf("worker %d%s lost its share (%s): %s", sh.k, podText(sh.m.Pod), shareText(p, sh.plan), w.Lost))
		}
		if sh.ok && c.MaxClockBound > 0 && sh.m.Clock.Bound > c.MaxClockBound {
			clock = append(clock, fmt.Sprintf("worker %d's clock offset %.1f ms is known only to ±%.1f ms (more than PERF_WORKER_MAX_CLOCK_BOUND %v)",
				sh.k, w.ClockOffsetMs, w.ClockBoundMs, c.MaxClockBound))
		}
		if sh.ok && math.Abs(w.ClockOffsetMs) >= lc.ClockOffsetMs {
			lc.ClockOffsetMs, lc.ClockBoundMs = math.Abs(w.ClockOffsetMs), w.ClockBoundMs
		}
		lc.Workers = append(lc.Workers, w)
	}
	return gravest(lc, lost, own, clock)
}

// merged is the self-check's input for the workers together: their CPU
// summed, against the sum of their limits when every one has a limit.
func merged(p load.Plan, stats aggregate.Figures, shares []*share) gate.LoadInput {
	in := gate.LoadInput{Open: p.Mode() == load.Open, OfferedRPS: p.Rate, Requests: stats.Requests, StartSpan: stats.StartSpan,
		LagP99: stats.Queue.P99, MaxInFlight: p.Concurrency(), Who: "the workers together"}
	limited := true
	for _, sh := range shares {
		if r := sh.status.Result; r != nil {
			in.CPU += time.Duration(r.Load.ClientCPUS * float64(time.Second))
			in.GCPause += time.Duration(r.Load.GCPauseMs * float64(time.Millisecond))
			in.Cores += r.Load.ClientCores
			in.CapReached += r.Tally.CapReached
			in.Wall = max(in.Wall, r.Wall)
			in.CPULimit += r.CPULimit
			limited = limited && r.CPULimit > 0
		}
	}
	if !limited {
		in.CPULimit = 0
	}
	return in
}

// gravest names the cell by its gravest finding: a lost share, the merged
// check, a worker's own, an uncertain clock; the reason keeps them all.
func gravest(lc results.LoadCheck, lost, own, clock []string) results.LoadCheck {
	type finding struct {
		verdict string
		reasons []string
	}
	var found []finding
	if len(lost) > 0 {
		found = append(found, finding{results.LoadIncomplete, []string{"incomplete: " + strings.Join(lost, "; ")}})
	}
	if lc.Verdict != results.LoadOK {
		found = append(found, finding{lc.Verdict, []string{lc.Reason}})
	}
	if len(own) > 0 {
		v := results.LoadClientLimited
		if strings.HasPrefix(own[0], "server-limited") {
			v = results.LoadServerLimited
		}
		found = append(found, finding{v, own})
	}
	if len(clock) > 0 {
		found = append(found, finding{results.LoadClockUncertain, []string{"clock-uncertain: " + strings.Join(clock, "; ")}})
	}
	if len(found) > 0 {
		var all []string
		for _, f := range found {
			all = append(all, f.reasons...)
		}
		lc.Verdict, lc.Reason = found[0].verdict, strings.Join(all, "; ")
	}
	return lc
}

func ms(d time.Duration) float64 { return results.Round3(results.Millis(d)) }

func podText(pod string) string {
	if pod == "" {
		return ""
	}
	return " (pod " + pod + ")"
}

// shareText names a share's part of the cell: "1 of 4 VUs", "25% of the
// 40 req/s".
func shareText(whole, part load.Plan) string {
	if whole.Mode() == load.Closed {
		return fmt.Sprintf("%d of %d VUs", part.LocalVUs(), whole.VUs)
	}
	return fmt.Sprintf("%.0f%% of the %.4g req/s", 100/float64(part.Share.Of), whole.Rate)
}
