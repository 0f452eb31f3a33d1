package gate

import (
	"github.com/llm-platform/harness/internal/nonparam"
	"github.com/llm-platform/harness/internal/results"
)

// Differences compares cur with other, the same cell of another run.
func Differences(other, cur results.Cell, alpha float64) []results.Difference {
	n, m := len(other.Repeats), len(cur.Repeats)
	tested := 2*nonparam.MinP(n, m) < alpha
	var out []results.Difference
	for _, f := range results.SideBySide {
		ov, cv := f.Values(other.Repeats), f.Values(cur.Repeats)
		d := results.Difference{Name: f.Name, Compared: results.Round3(nonparam.Median(ov)), Here: results.Round3(nonparam.Median(cv)), Tested: tested, P: 1}
		d.Delta = results.Round3(d.Here - d.Compared)
		if tested {
			d.P = min(1, 2*min(nonparam.MannWhitneyGreater(ov, cv), nonparam.MannWhitneyGreater(cv, ov)))
			d.P = results.Round4(d.P)
			d.Significant = d.P < alpha
		}
		out = append(out, d)
	}
	return out
}
