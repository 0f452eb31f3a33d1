package load

import (
	"context"
	"slices"
	"testing"
	"time"
)

// intended runs p (at start) and returns its requests' intended starts.
func intended(t *testing.T, p Plan) []time.Time {
	t.Helper()
	k := &keep{}
	if _, err := Run(context.Background(), p, &fakeDoer{}, k); err != nil {
		t.Fatal(err)
	}
	out := make([]time.Time, 0, len(k.recs))
	for _, r := range k.recs {
		out = append(out, r.IntendedStart)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// The shares of an open loop, run apart, start exactly the requests of the
// single schedule: every arrival process, bounded by a count or a time.
func TestSharesUnionIsTheSchedule(t *testing.T) {
	for _, p := range []Plan{
		{Rate: 2000, Requests: 203, Arrival: Poisson, Seed: 7},
		{Rate: 1500, Requests: 150},
		{Rate: 1000, Duration: 90 * time.Millisecond, Arrival: Poisson, Seed: 3},
		{Rate: 100, Requests: 5, Schedule: []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 3 * time.Millisecond, 9 * time.Millisecond}},
	} {
		p.StartAt = time.Now().Add(20 * time.Millisecond)
		whole := intended(t, p)
		for _, n := range []int{2, 3, 4} {
			var union []time.Time
			for i := range n {
				q := p
				q.Share = Share{Index: i, Of: n}
				got := intended(t, q)
				if want := q.Share.count(len(whole)); len(got) != want {
					t.Errorf("%+v share %d of %d: %d requests, want %d", p, i, n, len(got), want)
				}
				union = append(union, got...)
			}
			slices.SortFunc(union, time.Time.Compare)
			if !slices.Equal(union, whole) {
				t.Errorf("rate %v %s, %d shares: the union of the intended starts (%d) is not the schedule (%d)", p.Rate, p.Arrival, n, len(union), len(whole))
			}
		}
	}
}

// A closed loop's VUs go to the shares by index, the remainder to the first
// ones, and the iteration budget in proportion: the parts sum to the whole.
func TestSharesOfAClosedLoop(t *testing.T) {
	for _, c := range []struct{ vus, iterations, of int }{{4, 192, 4}, {10, 48, 4}, {7, 7, 3}, {16, 100, 3}, {1, 6, 4}} {
		sumVUs, sumIter := 0, 0
		for i := range c.of {
			p := Plan{VUs: c.vus, Iterations: c.iterations, Share: Share{Index: i, Of: c.of}}
			vus, iter := p.LocalVUs(), p.Share.SplitCount(c.iterations, c.vus)
			if want := c.vus/c.of + btoi(i < c.vus%c.of); vus != want {
				t.Errorf("%+v share %d: %d VUs, want %d", c, i, vus, want)
			}
			if iter < vus {
				t.Errorf("%+v share %d: %d iterations for %d VUs", c, i, iter, vus)
			}
			if p.Empty() != (vus == 0) {
				t.Errorf("%+v share %d: Empty %v with %d VUs", c, i, p.Empty(), vus)
			}
			if !p.Empty() {
				k := &keep{}
				sum, err := Run(context.Background(), p, &fakeDoer{}, k)
				if err != nil {
					t.Fatal(err)
				}
				if int(sum.Recorded) != iter {
					t.Errorf("%+v share %d: ran %d requests, want %d", c, i, sum.Recorded, iter)
				}
			}
			sumVUs, sumIter = sumVUs+vus, sumIter+iter
		}
		if sumVUs != c.vus || sumIter != c.iterations {
			t.Errorf("%+v: shares sum to %d VUs and %d iterations", c, sumVUs, sumIter)
		}
	}
}

// A plan that starts at an instant starts no request before it.
func TestStartAt(t *testing.T) {
	at := time.Now().Add(30 * time.Millisecond)
	k := &keep{}
	sum, err := Run(context.Background(), Plan{VUs: 2, Iterations: 4, StartAt: at}, &fakeDoer{}, k)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Start.Equal(at) {
		t.Errorf("the tally starts at %v, want %v", sum.Start, at)
	}
	for _, r := range k.recs {
		if r.Start.Before(at) {
			t.Errorf("request %d started %v before StartAt", r.Seq, at.Sub(r.Start))
		}
	}
	if _, err := Run(context.Background(), Plan{VUs: 1, Iterations: 1, Share: Share{Index: 2, Of: 2}}, &fakeDoer{}, k); err == nil {
		t.Error("a share index out of range was accepted")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
