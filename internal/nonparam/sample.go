// Package sample summarises the few run-level figures a repeated cell
// yields (one RPS, one TTFT p95, ... per repeat) and tests whether two such
// samples differ, the way benchstat does for benchmarks:
//
//   - the headline is the median, with a distribution-free confidence
//     interval from order statistics (the sample's k-th smallest and k-th
//     largest values; no bootstrap, whose resampling is unreliable at n=5),
//     at the level the sample size allows: with n=5 only the min-max range
//     is available, a 93.75% interval;
//   - the coefficient of variation says how noisy the repeats were;
//   - a one-sided Mann-Whitney U test, exact for small samples (every
//     split of the pooled values is enumerated, so ties are handled
//     exactly too), says whether one sample is shifted beyond chance.
//
// It is plain arithmetic on []float64: no I/O, no clock.
package nonparam

import (
	"math"
	"slices"
)

// ConfidenceLevel is the interval level sought; smaller samples get the
// largest level they allow (Summary.Level says which).
const ConfidenceLevel = 0.95

// exactLimit is the number of splits up to which MannWhitney enumerates
// (C(20,10) = 184,756); larger samples use the normal approximation.
const exactLimit = 200_000

// Summary describes one sample.
type Summary struct {
	N      int
	Median float64
	// Lo and Hi bound the median at Level (order statistics).
	Lo    float64
	Hi    float64
	Level float64
	// CV is the standard deviation over the mean (0 for n < 2 or a zero
	// mean).
	CV float64
}

// Summarize returns xs's Summary. An empty sample gives the zero Summary.
func Summarize(xs []float64) Summary {
	n := len(xs)
	if n == 0 {
		return Summary{}
	}
	s := slices.Sorted(slices.Values(xs))
	sum := Summary{N: n, Median: median(s)}
	k, level := orderInterval(n)
	sum.Lo, sum.Hi, sum.Level = s[k-1], s[n-k], level
	if n > 1 {
		var mean, ss float64
		for _, x := range s {
			mean += x
		}
		mean /= float64(n)
		for _, x := range s {
			ss += (x - mean) * (x - mean)
		}
		if mean != 0 {
			sum.CV = math.Sqrt(ss/float64(n-1)) / math.Abs(mean)
		}
	}
	return sum
}

// Median is the sample's median (the mean of the middle two for even n).
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return median(slices.Sorted(slices.Values(xs)))
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// orderInterval returns the largest k such that [x_(k), x_(n+1-k)] covers
// the median with probability >= ConfidenceLevel, and that probability;
// when even k=1 falls short (n <= 5), k=1 and its level, 1 - 2/2^n.
func orderInterval(n int) (int, float64) {
	// coverage(k) = 1 - 2 P(B <= k-1), B ~ Binomial(n, 1/2).
	cdf := 0.0
	best, level := 1, 1-2*math.Pow(0.5, float64(n))
	for k := 1; k <= (n+1)/2; k++ {
		cdf += binom(n, k-1) * math.Pow(0.5, float64(n))
		cov := 1 - 2*cdf
		if cov < ConfidenceLevel {
			break
		}
		best, level = k, cov
	}
	if n == 1 {
		return 1, 0
	}
	return best, level
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

// MinP is the smallest one-sided p-value a Mann-Whitney test of samples of
// sizes n and m can give: 1/C(n+m, n), when every value of one sample lies
// beyond every value of the other.
func MinP(n, m int) float64 {
	if n == 0 || m == 0 {
		return 1
	}
	return 1 / binom(n+m, n)
}

// MinRepeats is the smallest equal sample size whose MinP is below alpha:
// fewer repeats on either side can never reach significance.
func MinRepeats(alpha float64) int {
	for n := 1; n < 50; n++ {
		if MinP(n, n) < alpha {
			return n
		}
	}
	return 50
}

// MannWhitneyGreater is the one-sided p-value for "y tends to be greater
// than x": the probability, under the null that both come from one
// distribution, of a rank sum of y at least as large as observed. Ties get
// mid-ranks. Exact by enumeration for up to exactLimit splits; beyond that
// the normal approximation with tie and continuity corrections.
func MannWhitneyGreater(x, y []float64) float64 {
	n, m := len(x), len(y)
	if n == 0 || m == 0 {
		return 1
	}
	pooled := append(append(make([]float64, 0, n+m), x...), y...)
	ranks := midRanks(pooled)
	var observed float64
	for i := n; i < n+m; i++ {
		observed += ranks[i]
	}
	if binom(n+m, m) <= exactLimit {
		return exactUpper(ranks, m, observed)
	}
	return normalUpper(ranks, n, m, observed)
}

// midRanks ranks xs from 1, ties sharing the mean of their ranks.
func midRanks(xs []float64) []float64 {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(xs))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && xs[idx[j+1]] == xs[idx[i]] {
			j++
		}
		mid := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = mid
		}
		i = j + 1
	}
	return r
}

// exactUpper enumerates every choice of m ranks out of the pooled ranks
// and returns the share whose sum is >= observed.
func exactUpper(ranks []float64, m int, observed float64) float64 {
	const eps = 1e-9
	var total, atLeast float64
	var walk func(start, left int, sum float64)
	walk = func(start, left int, sum float64) {
		if left == 0 {
			total++
			if sum >= observed-eps {
				atLeast++
			}
			return
		}
		for i := start; i <= len(ranks)-left; i++ {
			walk(i+1, left-1, sum+ranks[i])
		}
	}
	walk(0, m, 0)
	return atLeast / total
}

// normalUpper is the normal approximation of the rank-sum test.
func normalUpper(ranks []float64, n, m int, observed float64) float64 {
	N := float64(n + m)
	mean := float64(m) * (N + 1) / 2
	// Tie correction: sum over tie groups of t^3 - t.
	counts := map[float64]int{}
	for _, r := range ranks {
		counts[r]++
	}
	var ties float64
	for _, t := range counts {
		ties += float64(t*t*t - t)
	}
	variance := float64(n*m) / 12 * ((N + 1) - ties/(N*(N-1)))
	if variance <= 0 {
		return 1
	}
	z := (observed - mean - 0.5) / math.Sqrt(variance)
	return 0.5 * math.Erfc(z/math.Sqrt2)
}

// SignTest asks of a few repeats whether their median lies below or above
// limit, without assuming a distribution: under a median equal to limit,
// each repeat falls above it with probability 1/2. It returns the one-sided
// p-value for "the median is below limit" (small when few repeats exceed
// it) and for "the median is above limit" (small when few fall below).
// A repeat equal to limit counts against both. With n unanimous repeats
// the p-value is 1/2^n: 4 repeats reach 0.0625, 5 reach 0.031.
func SignTest(xs []float64, limit float64) (pBelow, pAbove float64) {
	n := len(xs)
	if n == 0 {
		return 1, 1
	}
	var below, above int
	for _, x := range xs {
		switch {
		case x < limit:
			below++
		case x > limit:
			above++
		}
	}
	// P(Binomial(n, 1/2) <= k).
	cdf := func(k int) float64 {
		p := 0.0
		for i := 0; i <= k; i++ {
			p += binom(n, i)
		}
		return math.Min(1, p*math.Pow(0.5, float64(n)))
	}
	return cdf(n - below), cdf(n - above)
}
