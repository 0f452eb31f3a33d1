package accuracy

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// DefaultAllowance is the harness's error that a check accepts beyond the
// reference's own sampling noise: what a full HTTP client, its connection
// pool and the SSE decoder may add over a bare socket read. On the 2-core
// machines CI runs on, the measured error is -0.1 to +0.4 ms at the median
// (docs/benchmarks.md), and an injected 3 ms delay in the harness's first
// token fails every check (the tests say which).
const DefaultAllowance = time.Millisecond

// Z is how many standard errors of the difference of two medians the
// tolerance admits on top of the allowance: 3 keeps an honest harness
// from failing on the luck of one run's samples.
const Z = 3

// Check is one figure's check: the harness's median against the
// reference's, measured in the same run.
type Check struct {
	Figure string
	// Harness and Reference are the two medians; NHarness and N their
	// sample counts.
	Harness, Reference time.Duration
	NHarness, N        int
	// Paired is set when each harness sample was taken of the same request
	// as the reference sample beside it (ComparePaired).
	Paired bool
	// Err is the harness's error: Harness - Reference, or for paired
	// samples the median of their differences.
	Err time.Duration
	// Spread is the reference's robust standard deviation (1.4826 x its
	// median absolute deviation): the run's own noise, tails excluded.
	Spread time.Duration
	// Tolerance is the allowance + Z standard errors of the difference of
	// the medians, 1.2533 x Spread x sqrt(1/NHarness + 1/N): the harness's
	// samples are taken to be as noisy as the reference's.
	Tolerance time.Duration
}

// Compare checks harness samples against reference samples of one figure,
// with DefaultAllowance.
func Compare(figure string, harness, reference []time.Duration) Check {
	return CompareMedian(figure, DefaultAllowance, Median(harness), len(harness), reference)
}

// CompareMedian checks a harness median (from a report, say) against
// reference samples, with the given allowance (DefaultAllowance unless the
// caller documents why the harness may cost more there).
func CompareMedian(figure string, allowance, harness time.Duration, nHarness int, reference []time.Duration) Check {
	m, spread := medianSpread(reference)
	c := Check{Figure: figure, Harness: harness, Reference: m, NHarness: nHarness, N: len(reference), Spread: spread, Err: harness - m, Tolerance: allowance}
	if c.N > 0 && c.NHarness > 0 {
		c.Tolerance += time.Duration(Z * 1.2533 * float64(spread) * math.Sqrt(1/float64(c.NHarness)+1/float64(c.N)))
	}
	return c
}

// ComparePaired checks harness samples against reference samples of the
// same requests (harness[i] and reference[i] timed one request, as a
// server's own write times do): the error is the median of the
// differences, and the tolerance comes from their spread, in which the
// server's own noise (a late timer delays both) cancels.
func ComparePaired(figure string, allowance time.Duration, harness, reference []time.Duration) Check {
	n := min(len(harness), len(reference))
	diffs := make([]time.Duration, n)
	for i := range n {
		diffs[i] = harness[i] - reference[i]
	}
	errMedian, spread := medianSpread(diffs)
	c := Check{Figure: figure, Harness: Median(harness), Reference: Median(reference), NHarness: n, N: n, Paired: true,
		Spread: spread, Err: errMedian, Tolerance: allowance}
	if n > 0 {
		c.Tolerance += time.Duration(Z * 1.2533 * float64(spread) / math.Sqrt(float64(n)))
	}
	return c
}

// medianSpread returns the samples' median and robust standard deviation
// (1.4826 x the median absolute deviation: the noise, tails excluded).
func medianSpread(d []time.Duration) (median, spread time.Duration) {
	median = Median(d)
	dev := make([]time.Duration, len(d))
	for i, x := range d {
		dev[i] = max(x-median, median-x)
	}
	return median, time.Duration(1.4826 * float64(Median(dev)))
}

// Error is the harness's error: its median minus the reference's, or the
// median of paired differences.
func (c Check) Error() time.Duration { return c.Err }

// OK reports whether the error is within the tolerance either way (a
// harness early against the reference has a clock bug) and the reference
// had samples.
func (c Check) OK() bool {
	e := c.Error()
	return c.N > 0 && c.NHarness > 0 && e <= c.Tolerance && e >= -c.Tolerance
}

// String says what was compared and how it came out, for a test's log.
func (c Check) String() string {
	if c.Paired {
		return fmt.Sprintf("%s: harness %v, reference %v, %d pairs (spread of the differences %v): error %+v, tolerance ±%v",
			c.Figure, c.Harness.Round(time.Microsecond), c.Reference.Round(time.Microsecond), c.N,
			c.Spread.Round(time.Microsecond), c.Error().Round(time.Microsecond), c.Tolerance.Round(time.Microsecond))
	}
	return fmt.Sprintf("%s: harness %v (n %d), reference %v (n %d, spread %v): error %+v, tolerance ±%v",
		c.Figure, c.Harness.Round(time.Microsecond), c.NHarness, c.Reference.Round(time.Microsecond), c.N,
		c.Spread.Round(time.Microsecond), c.Error().Round(time.Microsecond), c.Tolerance.Round(time.Microsecond))
}

// Median is the middle sample (the mean of the two middle ones for an
// even count); 0 for none.
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Problems returns the failed comparisons' descriptions (none when all
// hold), in the shape the attempt policy takes.
func Problems(cs ...Check) []string {
	var p []string
	for _, c := range cs {
		if !c.OK() {
			p = append(p, c.String())
		}
	}
	return p
}

// InjectedLate is the delay the tests add to the harness's figure to show
// that a check fails on a harness that is wrong by a few milliseconds.
const InjectedLate = 3 * time.Millisecond

// Late is c as if the harness had stamped its events d late: what a check
// would have said of a harness with that error.
func (c Check) Late(d time.Duration) Check {
	c.Harness += d
	c.Err += d
	return c
}
