package report

import (
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/results"
)

// TestBestCellAtTheLimits: a cell exactly at an SLO, or exactly at the
// allowed error rate, meets it; one just past does not. The best is the
// highest RPS among those that meet them.
func TestBestCellAtTheLimits(t *testing.T) {
	// 25 requests and more support a p95.
	at := cell("s", 25, 8, 40, 900)       // TTFT p95 40, E2E p95 900: exactly the SLOs
	past := cell("s", 26, 9, 40.001, 900) // TTFT just past
	over := cell("s", 27, 10, 30, 900.5)  // E2E just past
	erring := cell("s", 28, 5, 30, 800)
	erring.Requests, erring.Successes = 100, 99 // 1%: the allowance
	r := doc{Run: &results.Run{Settings: results.Settings{SLOTTFTms: 40, SLOE2Ems: 900, MaxErrorRate: 0.01}, Cells: []results.Cell{erring, at, past, over}}}
	best, ok, unjudged := r.bestCell("s")
	if !ok || best.Concurrency != 25 || unjudged != 0 {
		t.Errorf("best %v VUs (found %v, %d unjudged), want 25: the cell exactly at both SLOs", best.Concurrency, ok, unjudged)
	}
	if !r.meetsSLOs(erring) {
		t.Error("a cell at exactly the allowed error rate does not meet the SLOs")
	}
	erring.Successes = 98
	if r.meetsSLOs(erring) {
		t.Error("a cell past the allowed error rate meets the SLOs")
	}
}

// TestKneeOnP50WhenP95IsThin: with too few requests for a p95, the knee is
// judged on E2E p50, and says so.
func TestKneeOnP50WhenP95IsThin(t *testing.T) {
	thin := func(vus int, rps, e2e float64) results.Cell {
		c := cell("s", vus, rps, 10, e2e)
		c.E2E.N = 10
		c.E2E = c.E2E.FlagSupport()
		return c
	}
	k := FindKnee([]results.Cell{thin(1, 2, 500), thin(2, 3.9, 510), thin(4, 4, 1000)})
	if !k.Found || k.At != 2 || k.Percentile != "p50" || !strings.Contains(k.String(), "p50 E2E rose") {
		t.Errorf("knee %+v: %s", k, k)
	}
	// Doubling VUs for 5% more RPS while E2E doubles is a knee; for the RPS
	// to double (+100%) it is not, whatever the latency.
	if k := FindKnee([]results.Cell{cell("s", 1, 2, 10, 500), cell("s", 2, 4, 10, 1000)}); k.Found {
		t.Errorf("linear RPS is no knee: %+v", k)
	}
}

// TestOverflowLine: a sweep whose requests mostly exceeded the context
// window says so in one line; one with a few does not.
func TestOverflowLine(t *testing.T) {
	cells := []results.Cell{{Requests: 10, Errors: map[string]int64{"context_overflow": 6}}, {Requests: 10, Errors: map[string]int64{"context_overflow": 5}}}
	if got := overflowLine(cells); !strings.HasPrefix(got, "- **11 of 20 requests exceeded the model's context window** (`context_overflow`)") {
		t.Errorf("11 of 20: %q", got)
	}
	cells[0].Errors["context_overflow"] = 4
	if got := overflowLine(cells); got != "" {
		t.Errorf("9 of 20: %q", got)
	}
}
