package earlystop

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/results"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// feed gives d n open-loop records 10 ms apart on the schedule, each with
// the response TTFT f(i), and returns the decisions it took.
func feed(d *Detector, n int, f func(i int) time.Duration) {
	for i := range n {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		rec := &record.Record{IntendedStart: at, Start: at, FirstToken: at.Add(f(i)), LastToken: at.Add(f(i) + time.Millisecond), End: at.Add(f(i) + time.Millisecond)}
		d.Add(0, rec)
	}
}

func detector(s Settings) (*Detector, *[]results.EarlyStop) {
	var got []results.EarlyStop
	return New(s, func(dec results.EarlyStop) { got = append(got, dec) }), &got
}

func TestOverSaturationFires(t *testing.T) {
	d, got := detector(Settings{OverSaturation: true})
	// The queue grows by 5 ms a request: 500 ms a second of schedule.
	feed(d, 400, func(i int) time.Duration { return 20*time.Millisecond + time.Duration(i)*5*time.Millisecond })
	if len(*got) != 1 || (*got)[0].Rule != results.RuleOverSaturated || (*got)[0].AfterRequests > 60 {
		t.Fatalf("decisions %+v, want one over-saturated within 60 requests", *got)
	}
	if !strings.Contains((*got)[0].Reason, "falling behind") {
		t.Errorf("reason %q", (*got)[0].Reason)
	}
}

// A busy but stable server is noisy, not climbing: it runs to the end.
func TestStableNoisyRunsToTheEnd(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	d, got := detector(Settings{OverSaturation: true, SLOTTFT: 200 * time.Millisecond})
	feed(d, 3000, func(int) time.Duration {
		return time.Duration(100+30*rng.NormFloat64()) * time.Millisecond
	})
	if len(*got) != 0 {
		t.Fatalf("a stable cell stopped: %+v", *got)
	}
	// Slowly drifting (5 ms over 30 s): a slope, but not falling behind.
	d, got = detector(Settings{OverSaturation: true})
	feed(d, 3000, func(i int) time.Duration {
		return time.Duration(100+0.005*float64(i)*(1+0.1*rng.NormFloat64())) * time.Millisecond
	})
	if len(*got) != 0 {
		t.Fatalf("a 5%% drift stopped the cell: %+v", *got)
	}
}

func TestSLOBrokenEarly(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	over := func(share float64) func(int) time.Duration {
		return func(int) time.Duration {
			if rng.Float64() < share {
				return 300 * time.Millisecond
			}
			return 50 * time.Millisecond
		}
	}
	d, got := detector(Settings{SLOTTFT: 100 * time.Millisecond})
	feed(d, 2000, over(0.4))
	if len(*got) != 1 || (*got)[0].Rule != results.RuleSLOBroken || (*got)[0].AfterRequests > 60 {
		t.Fatalf("40%% over a p95 SLO: %+v, want a stop within 60 requests", *got)
	}
	// 3% over: the p95 holds, and the test never says otherwise.
	for seed := range uint64(20) {
		rng = rand.New(rand.NewPCG(seed, 9))
		d, got = detector(Settings{SLOTTFT: 100 * time.Millisecond})
		feed(d, 2000, over(0.03))
		if len(*got) != 0 {
			t.Fatalf("seed %d: 3%% over a p95 SLO stopped the cell: %+v", seed, *got)
		}
	}
	// E2E too, and nothing before MinRequests however bad.
	d, got = detector(Settings{SLOE2E: 10 * time.Millisecond})
	feed(d, MinRequests-1, func(int) time.Duration { return time.Second })
	if len(*got) != 0 {
		t.Fatalf("fired before %d requests: %+v", MinRequests, *got)
	}
	feed(d, 5, func(int) time.Duration { return time.Second })
	if len(*got) != 1 || !strings.Contains((*got)[0].Reason, "E2E") {
		t.Fatalf("E2E SLO: %+v", *got)
	}
}

// Failed requests are the error allowance's business, not a rule's.
func TestErrorsIgnored(t *testing.T) {
	d, got := detector(Settings{SLOTTFT: time.Millisecond})
	for range 100 {
		rec := &record.Record{Start: t0, End: t0.Add(time.Second)}
		rec.Fail(record.HTTP5xx, 503, nil)
		d.Add(0, rec)
	}
	if len(*got) != 0 {
		t.Fatalf("failures fired a rule: %+v", *got)
	}
}

// BenchmarkAdd is the detector's cost on the per-request path (open-loop
// cells and search probes watch every record).
func BenchmarkAdd(b *testing.B) {
	d := New(Settings{OverSaturation: true, SLOTTFT: time.Second}, func(results.EarlyStop) {})
	rec := &record.Record{IntendedStart: t0, Start: t0, FirstToken: t0.Add(20 * time.Millisecond), LastToken: t0.Add(time.Second)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d.Add(0, rec)
		}
	})
}
