package load

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestPlanValidate(t *testing.T) {
	for _, tc := range []struct {
		plan  Plan
		field string // "" means valid
	}{
		{Plan{VUs: 4, Iterations: 192}, ""},
		{Plan{VUs: 4, Duration: time.Second}, ""},
		{Plan{Rate: 5, Requests: 10, Arrival: Poisson}, ""},
		{Plan{Rate: 5, Duration: time.Second, MaxInFlight: 2}, ""},
		{Plan{VUs: -1, Iterations: 4}, "vus"},
		{Plan{Rate: -1, Requests: 4}, "rate"},
		{Plan{Iterations: 4}, "vus/rate"},
		{Plan{VUs: 2, Rate: 3, Requests: 4}, "vus/rate"},
		{Plan{VUs: 4, Iterations: 3}, "iterations"},
		{Plan{VUs: 4}, "iterations/duration"},
		{Plan{Rate: 1}, "requests/duration"},
		{Plan{VUs: 1, Iterations: 1, Requests: 1}, "requests"},
		{Plan{Rate: 1, Requests: 1, Iterations: 1}, "iterations"},
		{Plan{Rate: 1, Requests: 1, Arrival: "bursty"}, "arrival"},
		{Plan{VUs: 1, Iterations: 1, Warmup: -1}, "warmup"},
		{Plan{VUs: 1, Duration: -time.Second}, "duration"},
		{Plan{Rate: 1, Requests: 1, MaxInFlight: -1}, "max_in_flight"},
		{Plan{VUs: 1, Iterations: 1, RampUp: -1}, "ramp_up"},
		{Plan{Rate: 1, Requests: 1, RampUp: time.Second}, "ramp_up"},
	} {
		err := tc.plan.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.plan, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidPlan) || !strings.Contains(err.Error(), ": "+tc.field+": ") {
			t.Errorf("%+v: err = %v, want one naming %q", tc.plan, err, tc.field)
		}
	}
}

func TestConstantPacer(t *testing.T) {
	p := newPacer(Plan{Rate: 3})
	for i, want := range []time.Duration{0, 333333333, 666666666, time.Second, 1333333333} {
		if got := p.next(); got != want {
			t.Errorf("offset %d = %v, want %v", i, got, want)
		}
	}
	// Offsets are computed, not summed: no drift after many steps.
	p = newPacer(Plan{Rate: 1000})
	var last time.Duration
	for range 1_000_001 {
		last = p.next()
	}
	if last != 1000*time.Second {
		t.Errorf("offset 1e6 at 1000/s = %v, want 1000s", last)
	}
}

func TestPoissonPacer(t *testing.T) {
	const rate, n = 50.0, 200_000
	a, b := newPacer(Plan{Rate: rate, Arrival: Poisson, Seed: 7}), newPacer(Plan{Rate: rate, Arrival: Poisson, Seed: 7})
	var prev time.Duration
	var sum, sumSq float64
	for i := range n {
		x, y := a.next(), b.next()
		if i == 0 && x != 0 {
			t.Fatalf("the first arrival is at %v: a run starts with a request, as the constant pacer's does", x)
		}
		if x != y {
			t.Fatalf("same seed, offset %d differs: %v vs %v", i, x, y)
		}
		if x < prev {
			t.Fatalf("offset %d went back: %v < %v", i, x, prev)
		}
		if i > 0 {
			g := (x - prev).Seconds()
			sum += g
			sumSq += g * g
		}
		prev = x
	}
	mean := sum / (n - 1)
	sd := math.Sqrt(sumSq/(n-1) - mean*mean)
	// Exponential gaps: mean = sd = 1/rate. 200k draws put both within 1%.
	if math.Abs(mean*rate-1) > 0.01 || math.Abs(sd*rate-1) > 0.01 {
		t.Errorf("gap mean %.5fs sd %.5fs, want both %.5fs", mean, sd, 1/rate)
	}
	// Another seed is another schedule: its first offsets differ from seed
	// 7's (each a continuous draw, so equal ones would mean the seed was
	// ignored).
	seven, eight := newPacer(Plan{Rate: rate, Arrival: Poisson, Seed: 7}), newPacer(Plan{Rate: rate, Arrival: Poisson, Seed: 8})
	same := 0
	for range 10 {
		if seven.next() == eight.next() {
			same++
		}
	}
	if same > 1 { // both start at 0
		t.Errorf("seeds 7 and 8 gave %d equal offsets of 10: the seed is ignored", same)
	}
}
