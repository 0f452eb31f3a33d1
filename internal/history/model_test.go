package history

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/llm-platform/harness/internal/changepoint"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/results"
)

// nightModel is the nightly run without HTTP: a restart draws a speed
// factor once per run (CV restartCV), every repeat draws its own on top
// (repeatCV), and every figure carries measurement noise of its own
// (noise, per metric). Decode scales ITL, TPOT and the decode part of
// E2E; prefill scales TTFT and its part of E2E; RPS follows E2E.
type nightModel struct {
	restartCV, repeatCV float64
	noise               map[string]float64
	repeats             int
}

// workflowModel is the GPU workflow's nightly at its sample sizes
// (PERF_REPEATS=5) with the between-run spread measured on the H200
// (restart CV 5%) and within-run noise of the embedded simulator's cells.
var workflowModel = nightModel{restartCV: 0.05, repeatCV: 0.01, repeats: 5, noise: map[string]float64{
	"rps": 0.01, "ttft_p50": 0.02, "ttft_p95": 0.03, "itl": 0.005, "tpot": 0.005, "e2e": 0.015}}

const modelKey = "short/closed/4"

// cell draws one night's cell; restart is the night's lifetime factor (0:
// drawn here).
func (m nightModel) cell(rng *rand.Rand, restart, decode, prefill float64) results.Cell {
	if restart == 0 {
		restart = 1 + m.restartCV*rng.NormFloat64()
	}
	var reps []results.Cell
	for range m.repeats {
		f := restart * (1 + m.repeatCV*rng.NormFloat64())
		e := func(k string) float64 { return 1 + m.noise[k]*rng.NormFloat64() }
		ttft, itl := 20*f*prefill, 8*f*decode
		e2e := ttft + 63*itl
		c := results.Cell{Payload: "short", Mode: "closed", Concurrency: 4, Errors: map[string]int64{},
			RPS: 4000 / e2e * e("rps"), OutputTokS: 64 * 4000 / e2e * e("rps"),
			TTFT: results.Dist{P50: ttft * e("ttft_p50"), P95: 1.5 * ttft * e("ttft_p95")},
			ITL:  results.Dist{P50: itl * e("itl")}, TPOT: results.Dist{P50: itl * 1.01 * e("tpot")},
			E2E: results.Dist{P95: 1.05 * e2e * e("e2e")}}
		reps = append(reps, results.OneRepeat(c))
	}
	return results.Combine(reps)
}

// sequence runs nights nights, the change (decode, prefill) from night
// from on (1-based), each judged against the history before it, and
// returns the history and each night's comparison. restarts, when given,
// are the nights' lifetime factors.
func (m nightModel) sequence(rng *rand.Rand, nights, from int, decode, prefill float64, g gate.HistoryGate, o Levels, restarts ...float64) (*History, []results.Comparison) {
	h := &History{}
	id := Identity{Model: "tinyllama", RouteKind: "ingress"}
	var out []results.Comparison
	start := time.Date(2026, 12, 1, 3, 17, 0, 0, time.UTC)
	for n := 1; n <= nights; n++ {
		d, p := 1.0, 1.0
		if n >= from {
			d, p = decode, prefill
		}
		var restart float64
		if len(restarts) >= n {
			restart = restarts[n-1]
		}
		c := m.cell(rng, restart, d, p)
		run := &results.Run{Schema: results.Schema, Start: start.AddDate(0, 0, n), Model: id.Model,
			Stack: results.Stack{RouteKind: id.RouteKind}, GitCommit: fmt.Sprintf("c%02d", n)}
		cmp := gate.AgainstHistory(h.Pools(run, modelKey, o), c, g)
		c.History = &cmp
		run.Cells = []results.Cell{c}
		h.Entries = append(h.Entries, Entry{File: FileName(run), Run: run})
		out = append(out, cmp)
	}
	return h, out
}

func defaultGate() (gate.HistoryGate, Levels) {
	return gate.HistoryGate{Tolerance: gate.DefaultTolerance, Alpha: gate.DefaultAlpha, MinRuns: gate.DefaultMinRuns},
		NewLevels(changepoint.DefaultMinSize, changepoint.DefaultAlpha, gate.DefaultTolerance, gate.DefaultMinRuns)
}

func metric(name string) results.GateMetric {
	for _, m := range results.GateMetrics {
		if m.Name == name {
			return m
		}
	}
	panic("no metric " + name)
}
