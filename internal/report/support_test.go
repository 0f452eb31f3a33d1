package report

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/results"
)

// TestSupportFromSample: NewCell flags exactly the percentiles its sample
// is too small for (p90 < 10, p95 < 20, p99 < 100), distribution by
// distribution; Combine keeps the smallest repeat's sample.
func TestSupportFromSample(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want []string
	}{{0, []string{"p90", "p95", "p99"}}, {2, []string{"p90", "p95", "p99"}}, {10, []string{"p95", "p99"}}, {19, []string{"p95", "p99"}}, {20, []string{"p99"}}, {99, []string{"p99"}}, {100, nil}} {
		c := results.NewCell("short", load.Plan{VUs: 1, Iterations: 2}, aggregate.Figures{TTFT: aggregate.Latency{Count: tc.n, P95: time.Second}, ITL: aggregate.Latency{Count: 1000}}, nil)
		if !slices.Equal(c.TTFT.Unsupported, tc.want) || c.TTFT.N != tc.n || c.ITL.Unsupported != nil {
			t.Errorf("n %d: TTFT unsupported %v (n %d), ITL %v; want %v", tc.n, c.TTFT.Unsupported, c.TTFT.N, c.ITL.Unsupported, tc.want)
		}
	}
	small, big := cell("s", 1, 1, 10, 100), cell("s", 1, 1, 10, 100)
	big.TTFT.N, big.TTFT.Unsupported = 500, nil
	if got := results.Combine([]results.Cell{big, small, big}); got.TTFT.N != 4 || !slices.Equal(got.TTFT.Unsupported, []string{"p90", "p95", "p99"}) {
		t.Errorf("combined: n %d, unsupported %v; want the smallest repeat's 4, all three", got.TTFT.N, got.TTFT.Unsupported)
	}
	// A distribution read from an earlier schema has no flags: as reported then.
	if old := (results.Dist{P95: 3}); !old.Supports("p95") {
		t.Error("a schema-4 distribution is unsupported")
	}
}

// TestFindingsSkipThinPercentiles: a knee step between cells too small for
// a p95 is judged on p50, and such cells are not named the best under a
// p95 SLO.
func TestFindingsSkipThinPercentiles(t *testing.T) {
	// 2 requests a cell (1 VU x 2, the default sweep's first cell): the
	// p95 is the slower request; p50 E2E flat, p95 up 50%.
	thin := func(vus int, rps, p50, p95 float64) results.Cell {
		c := cell("s", vus, rps, 10, p95)
		c.E2E.P50 = p50
		return sampled(c, 2)
	}
	k := FindKnee([]results.Cell{thin(1, 2, 500, 500), thin(4, 3, 520, 750)})
	if k.Found {
		t.Errorf("a knee found on the p95 of 2 requests: %s", k)
	}
	full := func(vus int, rps, p50, p95 float64) results.Cell {
		c := cell("s", vus, rps, 10, p95)
		c.E2E.P50 = p50
		return sampled(c, 200)
	}
	if k := FindKnee([]results.Cell{full(1, 2, 500, 500), full(4, 3, 520, 750)}); !k.Found || k.Percentile != "p95" || !strings.Contains(k.String(), "p95 E2E rose +50%") {
		t.Errorf("the same figures on 200 requests: %+v %s", k, k)
	}
	r := &results.Run{Settings: results.Settings{SLOE2Ems: 1000, MaxErrorRate: 0.01}, Cells: []results.Cell{thin(1, 2, 500, 500), full(4, 3, 520, 750), thin(8, 9, 520, 750)}}
	best, ok, unjudged := BestCell(r, "s")
	if !ok || best.Concurrency != 4 || unjudged != 2 {
		t.Errorf("best %s (found %v), %d unjudged; want 4 VUs and 2", best.Name(), ok, unjudged)
	}
}
