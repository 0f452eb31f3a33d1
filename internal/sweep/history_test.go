package sweep

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
)

// TestRunnerHistory: six nights on the embedded simulator, each a new
// lifetime (PERF_SIM_RESTART_CV), with PERF_HISTORY: each run is appended
// with its route kind, nights 1–5 have no history gate yet, night 6 is
// gated against the five before it, and trend.md is written beside the
// reports.
func TestRunnerHistory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "history")
	for night := 1; night <= 6; night++ {
		cfg := config(t, map[string]string{"PERF_HISTORY": dir, "PERF_REPEATS": "2", "PERF_SIM_RESTART_CV": "0.05",
			"PERF_SIM_RESTART_SEED": strconv.Itoa(night), "PERF_ROUTE_KIND": "ingress"})
		r, err := Start(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		var c results.Cell
		for _, rep := range cfg.Schedule() {
			if c, _, err = r.RunCell(context.Background(), rep); err != nil {
				t.Fatal(err)
			}
		}
		name, err := r.Finish()
		r.Close()
		if err != nil || !strings.HasPrefix(name, "run-") {
			t.Fatalf("night %d: Finish %q, %v", night, name, err)
		}
		h := c.History
		if h == nil || h.Mode != results.ModeHistory {
			t.Fatalf("night %d: no history comparison: %+v", night, h)
		}
		pooled := len(h.Metrics[0].Pool.Medians)
		if pooled != night-1 || (night <= 5) != (h.Inconclusive != "") {
			t.Errorf("night %d: %d runs pooled, inconclusive %q", night, pooled, h.Inconclusive)
		}
		if night == 6 && (h.Metrics[0].Detectable == nil || h.Metrics[0].Detectable.BetweenPct == 0 && h.Metrics[0].Detectable.WithinPct == 0) {
			t.Errorf("night 6: no detectable change: %+v", h.Metrics[0].Detectable)
		}
		if _, err := os.Stat(filepath.Join(cfg.ReportDir, report.FileTrend)); err != nil {
			t.Errorf("night %d: %v", night, err)
		}
		res, err := results.Load(filepath.Join(cfg.ReportDir, report.FileResults))
		if err != nil || res.Stack.RouteKind != "ingress" || res.Settings.History != dir || res.Settings.HistoryMinRuns != 5 {
			t.Fatalf("night %d: results.json: %v, route kind %q, settings %+v", night, err, res.Stack.RouteKind, res.Settings)
		}
	}
	h, err := history.Load(dir)
	if err != nil || len(h.Entries) != 6 {
		t.Fatalf("history: %v, %d runs", err, len(h.Entries))
	}
	restarts := map[float64]bool{}
	for _, e := range h.Entries {
		restarts[e.Run.Cells[0].ITL.P50] = true
	}
	if len(restarts) < 4 {
		t.Errorf("six lifetimes gave %d distinct ITL p50s: the restart factor is not drawn per run", len(restarts))
	}
}
