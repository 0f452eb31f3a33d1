// Package changepoint finds the points where a series of runs changed
// level: E-divisive means (Matteson and James, "A Nonparametric Approach
// for Multiple Change Point Analysis of Multivariate Data", JASA 2014)
// with its permutation significance test, the detector MongoDB's
// performance CI runs over its nightly history (Daly et al., "The Use of
// Change Point Detection to Identify Software Performance Regressions in a
// CI System", ICPE 2020).
//
// There is no maintained Go package for it (the implementations in use are
// MongoDB's Python signal-processing-algorithms, R's ecp and Apache
// Otava's Python, which swaps the permutation test for a t-test), so it is
// written here, univariate, with the statistic and the permutation test of
// MongoDB's implementation plus a minimum segment length, and held against
// that implementation's own test cases. The permutations are drawn from a
// seeded generator, so a history gives the same change points on every
// machine.
package changepoint

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Defaults: the smallest segment a change point may leave on either side,
// the significance of the permutation test, and the permutations drawn.
const (
	DefaultMinSize      = 4
	DefaultAlpha        = 0.05
	DefaultPermutations = 199
)

// Config is how the detector runs.
type Config struct {
	// MinSize is the fewest points a segment may have (at least 1).
	MinSize int
	// Alpha is the permutation test's significance: a candidate is a
	// change point when p <= Alpha.
	Alpha float64
	// Permutations is how many shuffles estimate p; p is never below
	// 1/(Permutations+1).
	Permutations int
	// Seed seeds the shuffles.
	Seed uint64
}

// Defaults returns the default Config with seed 1.
func Defaults() Config {
	return Config{MinSize: DefaultMinSize, Alpha: DefaultAlpha, Permutations: DefaultPermutations, Seed: 1}
}

// Detect returns the change points of xs, ascending: each is the index of
// the first point of a new segment. It splits xs where the energy
// statistic is largest, keeps the split when the permutation test finds
// it significant, and repeats inside the segments until no split is.
func Detect(xs []float64, c Config) []int {
	c.MinSize = max(c.MinSize, 1)
	rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
	var points []int
	for {
		p, ok := next(xs, points, c, rng)
		if !ok {
			break
		}
		points = append(points, p)
		slices.Sort(points)
	}
	return points
}

// next finds the best split over the segments bounded by points and tests
// it: the segments are shuffled independently, and p is the share of
// shuffles whose best split is at least as strong (counting the
// observation itself, so p = (k+1)/(permutations+1)).
func next(xs []float64, points []int, c Config, rng *rand.Rand) (int, bool) {
	bounds := append(append([]int{0}, points...), len(xs))
	best, bestQ := -1, math.Inf(-1)
	for i := 0; i+1 < len(bounds); i++ {
		seg := xs[bounds[i]:bounds[i+1]]
		if tau, q := split(seg, c.MinSize); tau >= 0 && q > bestQ {
			best, bestQ = bounds[i]+tau, q
		}
	}
	if best < 0 {
		return 0, false
	}
	stronger := 0
	buf := make([]float64, len(xs))
	for range c.Permutations {
		maxQ := math.Inf(-1)
		for i := 0; i+1 < len(bounds); i++ {
			seg := buf[bounds[i]:bounds[i+1]]
			copy(seg, xs[bounds[i]:bounds[i+1]])
			rng.Shuffle(len(seg), func(a, b int) { seg[a], seg[b] = seg[b], seg[a] })
			if _, q := split(seg, c.MinSize); q > maxQ {
				maxQ = q
			}
		}
		if maxQ >= bestQ {
			stronger++
		}
	}
	p := float64(stronger+1) / float64(c.Permutations+1)
	return best, p <= c.Alpha
}

// split returns the split tau of xs (xs[:tau] and xs[tau:], each at least
// minSize long) with the largest scaled energy statistic
//
//	q(tau) = n*m/(n+m) * (2/(n*m) Σ|x-y| - 1/n² Σ|x-x'| - 1/m² Σ|y-y'|)
//
// and that statistic; tau is -1 when xs is too short to split. The sums
// are updated as tau moves, so one pass over the pairs does.
func split(xs []float64, minSize int) (int, float64) {
	n := len(xs)
	if n < 2*minSize {
		return -1, 0
	}
	var within, between float64 // within X (i<j<tau) and between X and Y
	var withinY float64         // within Y (tau<=i<j)
	for i := range n {
		for j := i + 1; j < n; j++ {
			withinY += math.Abs(xs[i] - xs[j])
		}
	}
	best, bestQ := -1, math.Inf(-1)
	for tau := 0; tau < n; tau++ {
		if tau >= minSize && n-tau >= minSize {
			a, b := float64(tau), float64(n-tau)
			e := 2*between/(a*b) - 2*within/(a*a) - 2*withinY/(b*b)
			if q := a * b / (a + b) * e; q > bestQ {
				best, bestQ = tau, q
			}
		}
		var col, row float64 // xs[tau] against X, and against the rest of Y
		for i := range tau {
			col += math.Abs(xs[i] - xs[tau])
		}
		for j := tau + 1; j < n; j++ {
			row += math.Abs(xs[tau] - xs[j])
		}
		between += row - col
		within += col
		withinY -= row
	}
	return best, bestQ
}
