package systemtest_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/changepoint"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/sim"
)

// BenchmarkHistoryGateRates runs the history gate's nightly sequences on
// the embedded simulator itself (make bench-history): every night a new
// simulator (a new lifetime, restart CV 5%, repeat CV 1%, jitter 5%), a
// reduced cell (4 VUs, 12 requests, 5 repeats), judged against the
// history of the nights before, 12 nights with a 15% slower decode step
// (or prefill) from night 9. HISTORY_SEQS sets the sequences of each
// kind (default 20). It logs the false failures of nights 6–8 and the
// detection on night 9 and within nights 9–10, to hold against the model
// (package history's TestTwelveNights; docs/benchmarks.md).
func BenchmarkHistoryGateRates(b *testing.B) {
	seqs := 20
	if v, err := strconv.Atoi(os.Getenv("HISTORY_SEQS")); err == nil && v > 0 {
		seqs = v
	}
	g := gate.HistoryGate{Tolerance: gate.DefaultTolerance, Alpha: gate.DefaultAlpha, MinRuns: gate.DefaultMinRuns}
	o := history.NewLevels(changepoint.DefaultMinSize, changepoint.DefaultAlpha, gate.DefaultTolerance, gate.DefaultMinRuns)
	for range b.N {
		for _, change := range []struct {
			name            string
			decode, prefill float64
		}{{"decode", 1.15, 1}, {"prefill", 1, 1.15}} {
			var falseFail, nights, first, within2, cpAt9 int
			which := map[string]int{}
			var at []string // history.night of each false failure
			for q := range seqs {
				h := &history.History{}
				var itl []float64
				for n := 1; n <= 12; n++ {
					cfg := sim.Config{TTFT: 5 * time.Millisecond, ITL: 2 * time.Millisecond, MaxNumSeqs: 64, Jitter: 0.05,
						RunCV: 0.01, RestartCV: 0.05, RestartSeed: uint64(1000*q + n), Seed: uint64(1000*q + n)}
					if n >= 9 {
						cfg.DecodeSlowdown, cfg.PrefillSlowdown = change.decode, change.prefill
					}
					s, err := sim.Start(cfg, "")
					if err != nil {
						b.Fatal(err)
					}
					c := measureRepeats(b, s, 5)
					_ = s.Close()
					c.Payload, c.Mode, c.Concurrency = "n16", "closed", 4
					run := &results.Run{Schema: results.Schema, Start: time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC).AddDate(0, 0, n),
						Model: "sim", GitCommit: fmt.Sprintf("night%02d", n)}
					cmp := gate.AgainstHistory(h.Pools(run, c.Key(), o), c, g)
					c.History = &cmp
					run.Cells = []results.Cell{c}
					h.Entries = append(h.Entries, history.Entry{File: history.FileName(run), Run: run})
					if n >= 6 && n <= 8 {
						nights++
						if cmp.Regressed {
							falseFail++
							at = append(at, fmt.Sprintf("%d.%d", q, n))
							for _, m := range cmp.Metrics {
								if m.Regressed {
									which[m.Name]++
								}
							}
						}
					}
					if n == 9 && cmp.Regressed {
						first++
						within2++
					} else if n == 10 && cmp.Regressed && !h.Entries[8].Run.Cells[0].History.Regressed {
						within2++
					}
					itl = append(itl, c.ITL.P50)
				}
				if cps := changepoint.Detect(itl, o.ChangePoints); change.name == "decode" && len(cps) == 1 && cps[0] == 8 {
					cpAt9++
				}
			}
			b.Logf("%s +15%% from night 9, %d sequences on the simulator: false failures nights 6-8 %d/%d (%.1f%%); caught night 9 %d/%d (%.0f%%), within nights 9-10 %d/%d (%.0f%%); ITL change point exactly at night 9: %d",
				change.name, seqs, falseFail, nights, 100*float64(falseFail)/float64(nights), first, seqs, 100*float64(first)/float64(seqs), within2, seqs, 100*float64(within2)/float64(seqs), cpAt9)
			b.Logf("metrics of the false failures: %v; at history.night %v", which, at)
		}
	}
}
