package aggregate

import (
	"math"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/record"
)

var t0 = time.Unix(1_700_000_000, 0)

// ok builds a successful record: start at s, first token after ttft, then
// n-1 chunks itl apart, n output tokens.
func ok(s, ttft, itl time.Duration, n int) *record.Record {
	r := &record.Record{Start: t0.Add(s), Chunks: n, ContentChunks: n, OutputTokens: n}
	r.FirstToken = r.Start.Add(ttft)
	r.LastToken = r.FirstToken
	for range n - 1 {
		r.ChunkGaps = append(r.ChunkGaps, itl)
		r.LastToken = r.LastToken.Add(itl)
	}
	r.End = r.LastToken.Add(time.Millisecond)
	return r
}

func failed(s time.Duration, c record.Class) *record.Record {
	r := &record.Record{Start: t0.Add(s), End: t0.Add(s + 5*time.Millisecond)}
	r.Fail(c, 0, nil)
	return r
}

// hdr reports whether got is want as HDR (3 significant digits) reports it.
func hdr(got, want time.Duration) bool { return got >= want && float64(got) <= float64(want)*1.001 }

func TestCellFigures(t *testing.T) {
	a := New(SLO{TTFT: 25 * time.Millisecond})
	// Ten successes over workers 0..9 (all shards), TTFT 10..100 ms,
	// 5 tokens 10 ms apart; two failures.
	for i := range 10 {
		a.Add(i, ok(time.Duration(i)*100*time.Millisecond, time.Duration(i+1)*10*time.Millisecond, 10*time.Millisecond, 5))
	}
	a.Add(3, failed(0, record.HTTP5xx))
	a.Add(4, failed(50*time.Millisecond, record.Timeout))
	c := a.Result()

	if c.Requests != 12 || c.Successes != 10 || c.Errors[record.HTTP5xx] != 1 || c.Errors[record.Timeout] != 1 || len(c.Errors) != 2 {
		t.Fatalf("counts: %+v", c)
	}
	if math.Abs(c.ErrorRate()-2.0/12) > 1e-12 {
		t.Errorf("error rate %v", c.ErrorRate())
	}
	// First start 0; last end: start 900 ms + TTFT 100 ms + 40 ms + 1 ms.
	if want := 1041 * time.Millisecond; c.Duration != want {
		t.Errorf("duration %v, want %v", c.Duration, want)
	}
	if want := 10 / 1.041; math.Abs(c.RPS-want) > 1e-9 {
		t.Errorf("RPS %v, want %v", c.RPS, want)
	}
	if c.OutputTokens != 50 || math.Abs(c.OutputTokensPerS-50/1.041) > 1e-9 {
		t.Errorf("tokens %d, tok/s %v", c.OutputTokens, c.OutputTokensPerS)
	}
	// HDR with 3 significant digits reports a bucket's upper bound: at
	// most 0.1% above the exact value.
	ms := time.Millisecond
	if c.TTFT.Count != 10 || !hdr(c.TTFT.P50, 50*ms) || !hdr(c.TTFT.P90, 90*ms) ||
		!hdr(c.TTFT.P99, 100*ms) || !hdr(c.TTFT.Max, 100*ms) || !hdr(c.TTFT.Mean, 55*ms) {
		t.Errorf("TTFT %+v", c.TTFT)
	}
	if c.ITL.Count != 40 || !hdr(c.ITL.P50, 10*ms) || !hdr(c.ITL.Max, 10*ms) {
		t.Errorf("ITL %+v", c.ITL)
	}
	// TPOT = (E2E - TTFT) / (N - 1) = 40 ms / 4.
	if c.TPOT.Count != 10 || !hdr(c.TPOT.P50, 10*ms) {
		t.Errorf("TPOT %+v", c.TPOT)
	}
	if !hdr(c.E2E.P50, 90*ms) || !hdr(c.E2E.Max, 140*ms) {
		t.Errorf("E2E %+v", c.E2E)
	}
	// Goodput: TTFT <= 25 ms holds for the first two successes only.
	if c.Good != 2 || math.Abs(c.GoodputRPS-2/1.041) > 1e-9 {
		t.Errorf("good %d goodput %v", c.Good, c.GoodputRPS)
	}
	if c.Queue.Count != 0 {
		t.Errorf("closed-loop records produced queue figures: %+v", c.Queue)
	}
}

func TestSLO(t *testing.T) {
	r := ok(0, 20*time.Millisecond, 10*time.Millisecond, 11) // E2E 120 ms, TPOT 10 ms
	for _, tc := range []struct {
		slo  SLO
		want bool
	}{
		{SLO{}, true},
		{SLO{TTFT: 20 * time.Millisecond}, true},
		{SLO{TTFT: 19 * time.Millisecond}, false},
		{SLO{E2E: 120 * time.Millisecond}, true},
		{SLO{E2E: 119 * time.Millisecond}, false},
		{SLO{TPOT: 10 * time.Millisecond}, true},
		{SLO{TPOT: 9 * time.Millisecond}, false},
		{SLO{TTFT: time.Second, E2E: time.Second, TPOT: 9 * time.Millisecond}, false},
	} {
		if got := tc.slo.met(r); got != tc.want {
			t.Errorf("%+v: met = %v, want %v", tc.slo, got, tc.want)
		}
	}
}

func TestQueueAndClamping(t *testing.T) {
	a := New(SLO{})
	r := ok(0, 2*time.Hour, 0, 1) // beyond the histogram's range: clamped, not lost
	r.IntendedStart = r.Start.Add(-3 * time.Millisecond)
	a.Add(0, r)
	c := a.Result()
	if c.TTFT.Count != 1 || c.TTFT.Max < 59*time.Minute {
		t.Errorf("clamped TTFT %+v", c.TTFT)
	}
	if c.Queue.Count != 1 || !hdr(c.Queue.P50, 3*time.Millisecond) {
		t.Errorf("queue %+v", c.Queue)
	}
	if c.TPOT.Count != 0 {
		t.Error("TPOT recorded for a one-token request")
	}
}

func TestEmpty(t *testing.T) {
	c := New(SLO{}).Result()
	if c.Requests != 0 || c.RPS != 0 || c.Duration != 0 || c.ErrorRate() != 0 || c.TTFT != (Latency{}) {
		t.Fatalf("empty cell: %+v", c)
	}
}

// BenchmarkAdd is the aggregator's cost per record of a 64-token stream.
func BenchmarkAdd(b *testing.B) {
	a := New(SLO{TTFT: time.Second})
	r := ok(0, 10*time.Millisecond, 8*time.Millisecond, 64)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := 0
		for pb.Next() {
			a.Add(w, r)
			w++
		}
	})
}

func TestRecovery(t *testing.T) {
	a := New(SLO{})
	a.Add(0, ok(0, 10*time.Millisecond, 0, 1))
	a.Add(1, failed(100*time.Millisecond, record.ConnRefused))
	a.Add(2, failed(300*time.Millisecond, record.ConnRefused))
	a.Add(0, ok(900*time.Millisecond, 10*time.Millisecond, 0, 1)) // ends at 911 ms
	a.Add(1, failed(2*time.Second, record.HTTP429))
	a.Add(2, ok(2100*time.Millisecond, 10*time.Millisecond, 0, 1)) // a shorter blip
	if got := a.Result().Recovery; got != 811*time.Millisecond {
		t.Errorf("recovery %v, want 811ms (first failure at 100 ms to the end of the next success)", got)
	}
	if New(SLO{}).Result().Recovery != 0 {
		t.Error("recovery without failures")
	}
}

// TestResponseTime: in open loop TTFT and E2E are also kept from the
// intended start (the client's lateness included); closed loop has none.
func TestResponseTime(t *testing.T) {
	a := New(SLO{})
	for i := range 10 {
		r := ok(time.Duration(i)*time.Second, 20*time.Millisecond, 10*time.Millisecond, 3)
		r.IntendedStart = r.Start.Add(-time.Duration(i) * time.Millisecond) // 0..9 ms late
		a.Add(i, r)
	}
	c := a.Result()
	if !hdr(c.TTFT.P50, 20*time.Millisecond) || !hdr(c.ResponseTTFT.P50, 24*time.Millisecond) || !hdr(c.ResponseTTFT.Max, 29*time.Millisecond) ||
		!hdr(c.ResponseE2E.Max, 49*time.Millisecond) || c.ResponseE2E.Count != 10 || !hdr(c.Queue.Max, 9*time.Millisecond) {
		t.Errorf("service TTFT %v; response TTFT p50 %v max %v; response E2E max %v; queue max %v", c.TTFT.P50, c.ResponseTTFT.P50, c.ResponseTTFT.Max, c.ResponseE2E.Max, c.Queue.Max)
	}
	closed := New(SLO{})
	closed.Add(0, ok(0, 20*time.Millisecond, 10*time.Millisecond, 3))
	if c := closed.Result(); c.ResponseTTFT.Count != 0 || c.ResponseE2E.Count != 0 {
		t.Errorf("closed loop kept response times: %+v", c.ResponseTTFT)
	}
}
