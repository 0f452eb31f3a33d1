package nonparam

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name              string
		xs                []float64
		median, lo, hi, l float64
	}{
		{"n=5: the min-max range is a 93.75% interval", []float64{25.1, 22.7, 25.9, 24.0, 23.3}, 24.0, 22.7, 25.9, 0.9375},
		{"n=1: no interval", []float64{3}, 3, 3, 3, 0},
		{"n=6: min-max, 96.9%", []float64{1, 2, 3, 4, 5, 6}, 3.5, 1, 6, 1 - 2.0/64},
		// n=9: k=2 covers 1 - 2*(1+9)/512 = 96.1%; k=3 would be 82.0%.
		{"n=9: second smallest to second largest", []float64{9, 1, 8, 2, 7, 3, 6, 4, 5}, 5, 2, 8, 1 - 20.0/512},
	} {
		s := Summarize(tc.xs)
		if s.N != len(tc.xs) || s.Median != tc.median || s.Lo != tc.lo || s.Hi != tc.hi || !near(s.Level, tc.l, 1e-9) {
			t.Errorf("%s: %+v, want median %g [%g, %g] at %g", tc.name, s, tc.median, tc.lo, tc.hi, tc.l)
		}
	}
	// CV: sd 1 over mean 10 (sample of 2: sd = |a-b|/sqrt 2).
	if s := Summarize([]float64{10 - math.Sqrt2/2, 10 + math.Sqrt2/2}); !near(s.CV, 0.1, 1e-12) {
		t.Errorf("CV %g, want 0.1", s.CV)
	}
	// n=4, the sample standard deviation's n-1 pinned: 2, 4, 4, 6 has mean
	// 4, squared deviations 4+0+0+4 = 8, sd sqrt(8/3), CV sqrt(8/3)/4.
	if s := Summarize([]float64{6, 2, 4, 4}); !near(s.CV, math.Sqrt(8.0/3)/4, 1e-12) {
		t.Errorf("CV of 2, 4, 4, 6: %g, want %g", s.CV, math.Sqrt(8.0/3)/4)
	}
	if (Summarize(nil) != Summary{}) {
		t.Error("an empty sample must summarise to zero")
	}
}

func TestMannWhitneyExact(t *testing.T) {
	a := []float64{1, 2, 3, 4, 5}
	b := []float64{6, 7, 8, 9, 10}
	// Fully separated, 5 vs 5: one split in C(10,5) = 252.
	if p := MannWhitneyGreater(a, b); !near(p, 1.0/252, 1e-12) {
		t.Errorf("separated: p = %g, want 1/252", p)
	}
	if p := MannWhitneyGreater(b, a); !near(p, 1, 1e-12) {
		t.Errorf("the other direction: p = %g, want 1", p)
	}
	// One swap at the boundary: rank sums of b of 40 (observed) or more:
	// {6..10}=40 and the split with 5 instead of 6 (39) -> 2/252 for the
	// swapped sample {1,2,3,4,6} vs {5,7,8,9,10} (sum 39): 2/252.
	if p := MannWhitneyGreater([]float64{1, 2, 3, 4, 6}, []float64{5, 7, 8, 9, 10}); !near(p, 2.0/252, 1e-12) {
		t.Errorf("one swap: p = %g, want 2/252", p)
	}
	// All tied: no evidence either way.
	if p := MannWhitneyGreater([]float64{2, 2, 2}, []float64{2, 2, 2}); !near(p, 1, 1e-12) {
		t.Errorf("all tied: p = %g, want 1", p)
	}
	// Identical samples: p is the share of splits at or above the middle.
	if p := MannWhitneyGreater(a, a); p < 0.5 || p > 0.7 {
		t.Errorf("identical: p = %g, want about 0.5-0.7", p)
	}
	if MannWhitneyGreater(nil, b) != 1 {
		t.Error("an empty side: want p = 1")
	}
}

// The normal approximation agrees with the exact test where both apply.
func TestMannWhitneyNormalAgrees(t *testing.T) {
	var x, y []float64
	for i := range 10 {
		x = append(x, float64(i))
		y = append(y, float64(i)+3.5)
	}
	ranks := midRanks(append(append([]float64{}, x...), y...))
	var obs float64
	for _, r := range ranks[10:] {
		obs += r
	}
	exact, approx := exactUpper(ranks, 10, obs), normalUpper(ranks, 10, 10, obs)
	if !near(exact, approx, 0.01) {
		t.Errorf("exact %g, normal %g", exact, approx)
	}
}

func TestMinP(t *testing.T) {
	if !near(MinP(5, 5), 1.0/252, 1e-12) || !near(MinP(3, 3), 0.05, 1e-12) || MinP(0, 5) != 1 {
		t.Errorf("MinP: 5,5 %g; 3,3 %g", MinP(5, 5), MinP(3, 3))
	}
	// 3 vs 3 can reach 0.05 but not below it; 4 vs 4 gives 1/70.
	if got := MinRepeats(0.05); got != 4 {
		t.Errorf("MinRepeats(0.05) = %d, want 4", got)
	}
	if got := MinRepeats(0.01); got != 5 {
		t.Errorf("MinRepeats(0.01) = %d, want 5", got)
	}
}

func TestSignTest(t *testing.T) {
	for _, tc := range []struct {
		xs           []float64
		limit        float64
		below, above float64
	}{
		{[]float64{1, 2, 3, 4}, 10, 0.0625, 1},          // 4 of 4 below: 1/16
		{[]float64{11, 12, 13, 14, 15}, 10, 1, 0.03125}, // 5 of 5 above: 1/32
		{[]float64{1, 2, 11, 3}, 10, 0.3125, 0.9375},    // 3 of 4 below: P(B<=1) = 5/16
		{[]float64{10, 10, 10}, 10, 1, 1},               // at the limit: no evidence either way
		{nil, 10, 1, 1},
	} {
		b, a := SignTest(tc.xs, tc.limit)
		if math.Abs(b-tc.below) > 1e-12 || math.Abs(a-tc.above) > 1e-12 {
			t.Errorf("SignTest(%v, %v) = %v, %v; want %v, %v", tc.xs, tc.limit, b, a, tc.below, tc.above)
		}
	}
}

// The normal approximation is exactly the normal with the rank sum's own
// mean and variance under the null, ties included (the variance taken here
// by enumerating every split, not from the formula), and a continuity
// correction of 0.5; and it is within 0.01 of the exact test where the
// ties are few.
func TestMannWhitneyNormalAgreesAcrossShifts(t *testing.T) {
	moderate := 0
	for _, shift := range []float64{0.7, 1.5, 2.5, 3.5} {
		for _, step := range []float64{0, 1, 4} { // rounding to 1 or 4 makes ties; 4, large groups of them
			var x, y []float64
			for i := range 10 {
				x = append(x, float64(i)*1.3)
				y = append(y, float64(i)*1.3+shift)
			}
			if step > 0 {
				for i := range x {
					x[i], y[i] = math.Round(x[i]/step), math.Round(y[i]/step)
				}
			}
			ranks := midRanks(append(append([]float64{}, x...), y...))
			var obs float64
			for _, r := range ranks[10:] {
				obs += r
			}
			mean, variance := splitMoments(ranks, 10)
			want := 0.5 * math.Erfc((obs-mean-0.5)/math.Sqrt(variance)/math.Sqrt2)
			exact, approx := exactUpper(ranks, 10, obs), normalUpper(ranks, 10, 10, obs)
			if !near(approx, want, 1e-9) {
				t.Errorf("shift %g, rounded to %g: normal %g, want %g (mean %g, variance %g by enumeration)", shift, step, approx, want, mean, variance)
			}
			if step < 4 && !near(exact, approx, 0.01) {
				t.Errorf("shift %g, rounded to %g: exact %g, normal %g", shift, step, exact, approx)
			}
			if exact > 0.1 && exact < 0.9 {
				moderate++
			}
		}
	}
	if moderate < 4 {
		t.Errorf("only %d cases with a moderate p: the test checks little", moderate)
	}
}

// splitMoments is the mean and variance of the sum of m of ranks over
// every way to choose them.
func splitMoments(ranks []float64, m int) (mean, variance float64) {
	var n, sum, sq float64
	var walk func(start, left int, s float64)
	walk = func(start, left int, s float64) {
		if left == 0 {
			n, sum, sq = n+1, sum+s, sq+s*s
			return
		}
		for i := start; i <= len(ranks)-left; i++ {
			walk(i+1, left-1, s+ranks[i])
		}
	}
	walk(0, m, 0)
	mean = sum / n
	return mean, sq/n - mean*mean
}

// Past exactLimit splits (30 vs 30: C(60, 30) is about 1.2e17) the test is
// the normal approximation; enumerating would not end.
func TestMannWhitneyLargeUsesNormal(t *testing.T) {
	var x, y []float64
	for i := range 30 {
		x = append(x, float64(i))
		y = append(y, float64(i)+2.5)
	}
	ranks := midRanks(append(append([]float64{}, x...), y...))
	var obs float64
	for _, r := range ranks[30:] {
		obs += r
	}
	if p, want := MannWhitneyGreater(x, y), normalUpper(ranks, 30, 30, obs); p != want || p < 0.05 || p > 0.5 {
		t.Errorf("30 vs 30: p = %g, want the normal approximation's %g", p, want)
	}
}
