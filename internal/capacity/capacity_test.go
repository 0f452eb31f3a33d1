package capacity

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

var ttft = []Objective{{Metric: "ttft_p95_ms", Limit: 100}, {Metric: "error_rate", Limit: 0}}

// knee is a target whose p95 TTFT is 20 ms up to capacity and 600 ms past
// it, with a few percent of noise, and no errors.
func knee(capacity float64, seed uint64) Measure {
	rng := rand.New(rand.NewPCG(seed, 1))
	return func(_ context.Context, load float64) (Outcome, error) {
		v := 20.0
		if load > capacity {
			v = 600
		}
		return Outcome{Values: map[string]float64{"ttft_p95_ms": v * (1 + 0.05*rng.NormFloat64()), "error_rate": 0}}, nil
	}
}

func TestConcurrencySearchFindsTheKnee(t *testing.T) {
	for _, capacity := range []float64{1, 11, 37, 64} {
		res, err := Search(context.Background(), Settings{Kind: Concurrency, Start: 1, Max: 64}, ttft, knee(capacity, uint64(capacity)))
		if err != nil {
			t.Fatal(err)
		}
		// Bracketing takes log2(64)+1 probes at most, bisecting log2 of the bracket.
		if res.Value != capacity || !res.Complete || len(res.Probes) > 13 {
			t.Errorf("capacity %v: found %v (bracket %v–%v, complete %v) in %d probes", capacity, res.Value, res.Lo, res.Hi, res.Complete, len(res.Probes))
		}
		if capacity < 64 && (res.Hi != capacity+1 || len(res.Binding) != 1 || res.Binding[0] != "ttft_p95_ms ≤ 100") {
			t.Errorf("capacity %v: bracket %v–%v, binding %v", capacity, res.Lo, res.Hi, res.Binding)
		}
		if capacity == 64 && (res.Hi != 0 || !strings.Contains(res.Note, "up to the largest load tried")) {
			t.Errorf("nothing failed up to max: %+v", res)
		}
		// Unanimous repeats decide in 4 (1/2^4 = 0.0625 < 0.1).
		for _, p := range res.Probes {
			if p.Repeats() != 4 {
				t.Errorf("probe %v: %d repeats, want 4", p.Load, p.Repeats())
			}
		}
	}
}

func TestRateSearchToResolution(t *testing.T) {
	res, err := Search(context.Background(), Settings{Kind: Rate, Start: 1, Max: 1000}, ttft, knee(37.5, 3))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value > 37.5 || res.Hi <= 37.5 || (res.Hi-res.Lo)/res.Lo > DefaultResolution || !res.Complete {
		t.Errorf("rate capacity 37.5: found %v, bracket %v–%v in %d probes", res.Value, res.Lo, res.Hi, len(res.Probes))
	}
}

// A target whose p95 TTFT sits on the limit can be shown neither to meet
// it nor to break it: the probe runs MaxRepeats and counts as failed.
func TestStraddlingProbeIsUndecided(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	m := func(_ context.Context, load float64) (Outcome, error) {
		v := 20.0
		if load >= 4 {
			v = 100 + 10*rng.NormFloat64()
		}
		return Outcome{Values: map[string]float64{"ttft_p95_ms": v, "error_rate": 0}}, nil
	}
	res, err := Search(context.Background(), Settings{Kind: Concurrency, Start: 1, Max: 16, MaxRepeats: 6}, ttft, m)
	if err != nil {
		t.Fatal(err)
	}
	var undecided int
	for _, p := range res.Probes {
		if p.Verdict == Undecided {
			undecided++
			if p.Repeats() != 6 {
				t.Errorf("undecided probe %v ran %d repeats, want 6", p.Load, p.Repeats())
			}
		}
	}
	if res.Value > 3 || undecided == 0 {
		t.Errorf("found %v with %d undecided probes: %+v", res.Value, undecided, res.Probes)
	}
}

// Errors bind too: an error rate over its allowance fails a probe.
func TestErrorsBind(t *testing.T) {
	m := func(_ context.Context, load float64) (Outcome, error) {
		er := 0.0
		if load > 5 {
			er = 0.2
		}
		return Outcome{Values: map[string]float64{"ttft_p95_ms": 10, "error_rate": er}}, nil
	}
	res, err := Search(context.Background(), Settings{Kind: Concurrency, Start: 1, Max: 32}, ttft, m)
	if err != nil || res.Value != 5 || len(res.Binding) != 1 || res.Binding[0] != "error_rate ≤ 0" {
		t.Errorf("%v: found %v, binding %v", err, res.Value, res.Binding)
	}
}

// An at-least objective (the share of good requests) holds above its limit.
func TestAtLeastObjective(t *testing.T) {
	good := []Objective{{Metric: "good_ratio", Limit: 0.9, AtLeast: true}}
	m := func(_ context.Context, load float64) (Outcome, error) {
		return Outcome{Values: map[string]float64{"good_ratio": 1 - load/100}}, nil // 0.9 at 10
	}
	res, err := Search(context.Background(), Settings{Kind: Concurrency, Start: 1, Max: 64}, good, m)
	if err != nil || res.Value != 10 {
		t.Errorf("%v: found %v, want 10 (good ratio 0.9 meets ≥ 0.9)", err, res.Value)
	}
}

// When the budget ends, the result is the bracket reached, said so.
func TestBudgetReportsTheBracket(t *testing.T) {
	slow := knee(11, 1)
	m := func(ctx context.Context, load float64) (Outcome, error) {
		time.Sleep(2 * time.Millisecond)
		return slow(ctx, load)
	}
	res, err := Search(context.Background(), Settings{Kind: Concurrency, Start: 1, Max: 64, Budget: 50 * time.Millisecond}, ttft, m)
	if err != nil {
		t.Fatal(err)
	}
	if res.Complete || !strings.Contains(res.Note, "budget") || len(res.Probes) == 0 || res.DurationS < 0.05 || res.DurationS > 60 {
		t.Errorf("budget of 50 ms for 2 ms repeats: complete %v, note %q, %d probes in %v s", res.Complete, res.Note, len(res.Probes), res.DurationS)
	}
	if last := res.Probes[len(res.Probes)-1]; last.Verdict != Incomplete {
		t.Errorf("the cut probe reads %s", last.Verdict)
	}
}

func TestSettingsRejected(t *testing.T) {
	for _, s := range []Settings{{Kind: "users", Start: 1, Max: 2}, {Kind: Concurrency, Start: 0, Max: 2}, {Kind: Concurrency, Start: 1.5, Max: 4},
		{Kind: Rate, Start: 4, Max: 2}, {Kind: Rate, Start: 1, Max: 2, Confidence: 1}} {
		if _, err := Search(context.Background(), s, ttft, knee(1, 1)); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	if _, err := Search(context.Background(), Settings{Kind: Rate, Start: 1, Max: 2}, nil, knee(1, 1)); err == nil {
		t.Error("no objective accepted")
	}
}

// A repeat that shows the load beyond capacity outright (over-saturated)
// fails its probe at once, whatever its values.
func TestFailedRepeatFailsTheProbe(t *testing.T) {
	m := func(_ context.Context, load float64) (Outcome, error) {
		o := Outcome{Values: map[string]float64{"ttft_p95_ms": 10, "error_rate": 0}}
		if load > 20 {
			o.Failed = "over-saturated"
		}
		return o, nil
	}
	res, err := Search(context.Background(), Settings{Kind: Rate, Start: 1, Max: 100}, ttft, m)
	if err != nil || res.Value > 20 || res.Value < 19 || res.Binding[0] != "over-saturated" {
		t.Fatalf("%v: found %v, binding %v", err, res.Value, res.Binding)
	}
	for _, p := range res.Probes {
		if p.Verdict == Fail && p.Repeats() != 1 {
			t.Errorf("probe %v: %d repeats, want 1: an over-saturated repeat decides", p.Load, p.Repeats())
		}
	}
}

// probed is the loads a search tried, in order.
func probed(res Result) []float64 {
	var out []float64
	for _, p := range res.Probes {
		out = append(out, p.Load)
	}
	return out
}

// TestProbeOrder: a concurrency search doubles until a probe fails, then
// bisects the bracket, rounding down, to adjacent loads; a rate search
// stops when the bracket is Resolution of its low end, that width included.
func TestProbeOrder(t *testing.T) {
	res, err := Search(context.Background(), Settings{Kind: Concurrency, Start: 1, Max: 64}, ttft, knee(11, 11))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := probed(res), []float64{1, 2, 4, 8, 16, 12, 10, 11}; !slices.Equal(got, want) {
		t.Errorf("concurrency, capacity 11: probed %v, want %v", got, want)
	}
	// From 3, a bracket of odd width: 13.5 rounds down to 13.
	res, err = Search(context.Background(), Settings{Kind: Concurrency, Start: 3, Max: 64}, ttft, knee(13, 13))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := probed(res), []float64{3, 6, 12, 24, 18, 15, 13, 14}; !slices.Equal(got, want) || res.Value != 13 {
		t.Errorf("concurrency from 3, capacity 13: probed %v, want %v; value %v", got, want, res.Value)
	}
	// 4 passes, 8, 6 and 5 fail: at 4–5 the bracket is 0.25 of 4, done.
	res, err = Search(context.Background(), Settings{Kind: Rate, Start: 1, Max: 64, Resolution: 0.25}, ttft, knee(4.2, 4))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := probed(res), []float64{1, 2, 4, 8, 6, 5}; !slices.Equal(got, want) || res.Value != 4 || res.Hi != 5 || !res.Complete {
		t.Errorf("rate, capacity 4.2, resolution 0.25: probed %v (want %v), value %v, hi %v", got, want, res.Value, res.Hi)
	}
}

// TestRateBelowStart: a rate search whose first load fails has found no
// capacity above 0, and says so after that one probe.
func TestRateBelowStart(t *testing.T) {
	res, err := Search(context.Background(), Settings{Kind: Rate, Start: 1, Max: 64, Budget: 5 * time.Second}, ttft, knee(0.5, 5))
	if err != nil || res.Value != 0 || res.Hi != 1 || !res.Complete || len(res.Probes) != 1 {
		t.Errorf("%v: value %v, bracket %v–%v, complete %v, probed %v", err, res.Value, res.Lo, res.Hi, res.Complete, probed(res))
	}
}

// TestConfidenceIsInclusive: a p-value equal to 1 - Confidence decides.
// At 0.9375, 4 unanimous repeats (p = 1/16 = 0.0625) decide a probe both
// ways; a 5th would be needed if equality did not count.
func TestConfidenceIsInclusive(t *testing.T) {
	res, err := Search(context.Background(), Settings{Kind: Concurrency, Start: 1, Max: 8, Confidence: 0.9375}, ttft, knee(3, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Probes {
		if p.Repeats() != 4 || (p.Verdict != Pass && p.Verdict != Fail) {
			t.Errorf("probe %v: %s after %d repeats, want decided after 4", p.Load, p.Verdict, p.Repeats())
		}
	}
	if res.Value != 3 {
		t.Errorf("found %v, want 3", res.Value)
	}
}

// TestCancelledSearchReportsTheBracket: a search whose context ends (the
// suite interrupted) returns what it reached, saying why, without an error.
func TestCancelledSearchReportsTheBracket(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	probes := 0
	onProbe := func(Probe) {
		if probes++; probes == 3 {
			cancel()
		}
	}
	m := knee(40, 40)
	measure := func(ctx context.Context, load float64) (Outcome, error) {
		if err := ctx.Err(); err != nil {
			return Outcome{}, err
		}
		return m(ctx, load)
	}
	res, err := Search(ctx, Settings{Kind: Concurrency, Start: 1, Max: 64, OnProbe: onProbe}, ttft, measure)
	if err != nil || res.Complete || res.Value != 4 || !strings.Contains(res.Note, "context canceled") {
		t.Errorf("cancelled after 3 probes: %v, value %v, complete %v, note %q", err, res.Value, res.Complete, res.Note)
	}
}
