package sim

import (
	"math"
	"strings"
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

// TestRunNoise: each NewRun draws its own speed (seeded, so a sweep is
// repeatable), the draws have the configured CV, every latency follows the
// run's speed, Slowdown scales it, and without RunCV nothing changes.
func TestRunNoise(t *testing.T) {
	draws := func(seed uint64, slowdown float64) []float64 {
		s, err := New(Config{RunCV: 0.05, Slowdown: slowdown, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out := make([]float64, 2000)
		for i := range out {
			out[i] = s.NewRun()
			if got, want := s.scale(10*time.Millisecond), time.Duration(float64(10*time.Millisecond)*out[i]); got != want {
				t.Fatalf("run %d: latency %v, want %v at speed %v", i, got, want, out[i])
			}
		}
		return out
	}
	a, b, c := draws(7, 0), draws(7, 0), draws(8, 0)
	if a[0] == a[1] {
		t.Error("two runs shared a speed draw")
	}
	var mean, ss float64
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, run %d: %v vs %v", i, a[i], b[i])
		}
		mean += a[i]
	}
	if a[0] == c[0] && a[1] == c[1] {
		t.Error("different seeds drew the same speeds")
	}
	mean /= float64(len(a))
	for _, x := range a {
		ss += (x - mean) * (x - mean)
	}
	if cv := math.Sqrt(ss/float64(len(a)-1)) / mean; mean < 0.99 || mean > 1.01 || cv < 0.045 || cv > 0.055 {
		t.Errorf("speeds: mean %.4f, CV %.4f; want 1 and 0.05", mean, cv)
	}
	slow := draws(7, 1.15)
	if got := slow[0] / a[0]; math.Abs(got-1.15) > 1e-9 {
		t.Errorf("slowdown 1.15: speed ratio %v", got)
	}
	s, _ := New(Config{Slowdown: 1.15})
	defer s.Close()
	if s.NewRun() != 1.15 || s.scale(10*time.Millisecond) != 11500*time.Microsecond {
		t.Error("without RunCV the speed must stay the slowdown")
	}
	if err := (Config{RunCV: 0.6}).Validate(); err == nil || !strings.Contains(err.Error(), "run_cv") {
		t.Errorf("RunCV 0.6: %v", err)
	}
}

// TestRestart: a lifetime's factor is drawn once (seeded: the same seed,
// the same lifetime), rides every NewRun's draw, and has the configured
// CV over many lifetimes; the prefill and decode slow-downs scale only
// their own phase.
func TestRestart(t *testing.T) {
	const cv, n = 0.05, 2000
	var sum, sq float64
	for seed := uint64(1); seed <= n; seed++ {
		s, err := New(Config{RestartCV: cv, RestartSeed: seed, RunCV: 0.01, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		f := s.Restart()
		if f2 := s.NewRun() / f; seed == 1 && (f2 < 0.9 || f2 > 1.1) {
			t.Errorf("NewRun after a restart of %v: %v, want the restart times a 1%% draw", f, s.Speed())
		}
		again, _ := New(Config{RestartCV: cv, RestartSeed: seed})
		if again.Restart() != f {
			t.Fatalf("seed %d: lifetimes %v and %v", seed, f, again.Restart())
		}
		again.Close()
		sum += f
		sq += f * f
		s.Close()
	}
	mean := sum / n
	sd := math.Sqrt(sq/n - mean*mean)
	if math.Abs(mean-1) > 0.005 || math.Abs(sd-cv) > 0.005 {
		t.Errorf("lifetimes: mean %.4f, sd %.4f; want 1 and %v", mean, sd, cv)
	}
	s, _ := New(Config{ITL: 10 * time.Millisecond, TTFT: 100 * time.Millisecond, DecodeSlowdown: 1.5})
	defer s.Close()
	if got := s.itl(); got != 15*time.Millisecond {
		t.Errorf("decode slowdown 1.5: ITL %v, want 15ms", got)
	}
	if got := s.scale(s.prefill(100 * time.Millisecond)); got != 100*time.Millisecond {
		t.Errorf("decode slowdown changed the prefill: %v", got)
	}
	p, _ := New(Config{ITL: 10 * time.Millisecond, PrefillSlowdown: 1.2})
	defer p.Close()
	if got, itl := p.scale(p.prefill(100*time.Millisecond)), p.itl(); got != 120*time.Millisecond || itl != 10*time.Millisecond {
		t.Errorf("prefill slowdown 1.2: prefill %v (want 120ms), ITL %v (want 10ms)", got, itl)
	}
	clocked, _ := New(Config{RestartCV: cv})
	defer clocked.Close()
	if clocked.Restart() == 1 {
		t.Error("RestartSeed 0 drew no lifetime")
	}
}
