package sim

import (
	"testing"
	"time"
)

func TestJitterSeededAndBounded(t *testing.T) {
	draw := func(seed uint64) []time.Duration {
		s, err := New(Config{Jitter: 0.1, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out := make([]time.Duration, 1000)
		for i := range out {
			out[i] = s.scale(10 * time.Millisecond)
		}
		return out
	}
	a, b, c := draw(1), draw(1), draw(2)
	var lo, hi time.Duration = time.Hour, 0
	same := true
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, draw %d: %v vs %v", i, a[i], b[i])
		}
		same = same && a[i] == c[i]
		lo, hi = min(lo, a[i]), max(hi, a[i])
	}
	if same {
		t.Error("different seeds drew the same jitter")
	}
	if lo < 9*time.Millisecond || hi > 11*time.Millisecond || hi-lo < 1500*time.Microsecond {
		t.Errorf("jitter range [%v, %v], want spread over [9ms, 11ms]", lo, hi)
	}
	s, _ := New(Config{})
	defer s.Close()
	if got := s.scale(10 * time.Millisecond); got != 10*time.Millisecond {
		t.Errorf("jitter off changed %v", got)
	}
}
