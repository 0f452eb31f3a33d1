package results

import (
	"testing"
)

// TestCombine: three repeats fold into one cell: run-level figures are the
// medians, counts and durations sums, the GPU and server figures those of
// the repeat whose RPS is the median, and every repeat is kept with the
// gated metrics' summaries; a percentile the smallest repeat's sample
// cannot support is flagged.
func TestCombine(t *testing.T) {
	gpuOf := func(util float64) *GPUWindow { return &GPUWindow{UtilAvg: util} }
	one := func(rps, ttft95 float64, n int64, errs int64, util float64) Cell {
		return OneRepeat(Cell{Payload: "short", Concurrency: 4, Mode: "closed", Requests: n, Successes: n - errs,
			Errors: map[string]int64{"timeout": errs}, DurationS: 1.5, RPS: rps, OutputTokS: rps * 64, GoodputRPS: rps,
			TTFT: Dist{P50: ttft95 / 2, P95: ttft95, N: n}.FlagSupport(), E2E: Dist{P95: 10 * ttft95, N: n}.FlagSupport(), GPU: gpuOf(util)})
	}
	c := Combine([]Cell{one(10, 40, 30, 1, 50), one(12, 30, 25, 0, 60), one(8, 50, 15, 2, 40)})
	if c.RPS != 10 || c.OutputTokS != 640 || c.TTFT.P95 != 40 || c.TTFT.P50 != 20 || c.E2E.P95 != 400 {
		t.Errorf("medians: rps %v, tok/s %v, ttft p95 %v p50 %v, e2e p95 %v", c.RPS, c.OutputTokS, c.TTFT.P95, c.TTFT.P50, c.E2E.P95)
	}
	if c.Requests != 70 || c.Successes != 67 || c.Errors["timeout"] != 3 || c.DurationS != 4.5 {
		t.Errorf("sums: requests %d, successes %d, errors %v, duration %v", c.Requests, c.Successes, c.Errors, c.DurationS)
	}
	if c.GPU == nil || c.GPU.UtilAvg != 50 {
		t.Errorf("GPU of the median-RPS repeat (util 50): %+v", c.GPU)
	}
	if len(c.Repeats) != 3 || c.Repeats[2].RPS != 8 {
		t.Errorf("repeats %+v", c.Repeats)
	}
	if s := c.Stats["rps"]; s.N != 3 || s.Median != 10 || s.Lo != 8 || s.Hi != 12 || s.CV != 0.2 {
		t.Errorf("rps summary %+v, want median 10 in [8, 12], CV 0.2", s)
	}
	// 15 requests in the smallest repeat: no p95 (20 needed), a p90 (10).
	if c.TTFT.N != 15 || c.TTFT.Supports("p95") || !c.TTFT.Supports("p90") {
		t.Errorf("TTFT sample %d, unsupported %v", c.TTFT.N, c.TTFT.Unsupported)
	}
	if one := Combine([]Cell{one(10, 40, 30, 1, 50)}); len(one.Repeats) != 1 || one.RPS != 10 {
		t.Errorf("a single repeat is the cell itself: %+v", one)
	}
}

// TestNoisy: the gated metrics whose repeats' CV is over the limit; none
// for one repeat or a limit of 0.
func TestNoisy(t *testing.T) {
	c := Cell{Stats: map[string]Summary{"rps": {CV: 0.2}, "ttft_p95_ms": {CV: 0.05}}, Repeats: make([]Repeat, 3)}
	if got := c.Noisy(0.1); len(got) != 1 || got[0] != "rps" {
		t.Errorf("noisy at 0.1: %v", got)
	}
	if got := c.Noisy(0.2); len(got) != 0 {
		t.Errorf("a CV equal to the limit is not noisy: %v", got)
	}
	if c.Noisy(0) != nil {
		t.Error("a limit of 0 gates every metric")
	}
	c.Repeats = c.Repeats[:1]
	if c.Noisy(0.01) != nil {
		t.Error("one repeat has no spread")
	}
}
