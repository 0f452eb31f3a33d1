package results

import (
	"slices"
)

// MinSamples is the smallest sample each reported percentile rests on:
// 1/(1-q) values. With fewer, the q-th percentile is the sample's maximum
// or next to it (the p95 of 2 requests is the slower of the two), not an
// estimate of a tail, so report.md and junit.xml mark it and the findings
// do not rest on it.
var MinSamples = map[string]int64{"p90": 10, "p95": 20, "p99": 100}

// percentiles are the marked percentiles, in the order they are listed.
var percentiles = []string{"p90", "p95", "p99"}

// Supports reports whether the distribution's sample supports percentile
// p ("p95"). A distribution read from a schema before 5 carries no flags
// and supports every percentile, as it was reported then.
func (d Dist) Supports(p string) bool { return !slices.Contains(d.Unsupported, p) }

// FlagSupport sets Unsupported from N.
func (d Dist) FlagSupport() Dist {
	d.Unsupported = nil
	for _, p := range percentiles {
		if d.N < MinSamples[p] {
			d.Unsupported = append(d.Unsupported, p)
		}
	}
	return d
}
