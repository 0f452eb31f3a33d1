package history

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/llm-platform/harness/internal/changepoint"
	"github.com/llm-platform/harness/internal/nonparam"
	"github.com/llm-platform/harness/internal/results"
)

// MaxPool is the most runs one pool holds: the latest ones. A level held
// for months does not need every night of it, and a short window follows
// a slow drift of the box (driver updates, thermal paste) that no change
// point marks.
const MaxPool = 30

// Identity is what makes runs one series: the route kind, the model, the
// GPU and whether the target was the embedded simulator (and which
// preset). Runs that differ in any are never compared.
type Identity struct {
	RouteKind, Model, GPU, Simulator string
}

// IdentityOf returns r's identity.
func IdentityOf(r *results.Run) Identity {
	id := Identity{RouteKind: r.Stack.RouteKind, Model: r.Model, Simulator: r.Target.Simulator}
	if len(r.GPUs) > 0 {
		id.GPU = r.GPUs[0].Name
	}
	return id
}

func (id Identity) String() string {
	s := fmt.Sprintf("model %s, route %s, GPU %s", cmp.Or(id.Model, "?"), cmp.Or(id.RouteKind, "direct"), cmp.Or(id.GPU, "none"))
	if id.Simulator != "" {
		s += ", simulator " + id.Simulator
	}
	return s
}

// Figure is one run's figure of a series.
type Figure struct {
	Entry Entry
	// Median, Lo and Hi are the run's median over its repeats and the
	// median's confidence interval.
	Median, Lo, Hi float64
	// Failed says the run's history gate found this metric regressed.
	Failed bool
}

// Runs returns the entries of id's series, oldest first.
func (h *History) Runs(id Identity) []Entry {
	var out []Entry
	for _, e := range h.Entries {
		if IdentityOf(e.Run) == id {
			out = append(out, e)
		}
	}
	return out
}

// Series returns metric m of the cell with key over entries: one point per
// run that measured the cell and has the metric.
func Series(entries []Entry, key string, m results.GateMetric) []Figure {
	var out []Figure
	for _, e := range entries {
		c := e.Run.Find(key)
		if c == nil || len(c.Repeats) == 0 {
			continue
		}
		p := Figure{Entry: e, Median: nonparam.Median(m.Values(c.Repeats))}
		if p.Median <= 0 {
			continue
		}
		p.Lo, p.Hi = p.Median, p.Median
		if s, ok := c.Stats[m.Name]; ok && s.Lo > 0 {
			p.Lo, p.Hi = s.Lo, s.Hi
		}
		if c.History != nil {
			for _, d := range c.History.Metrics {
				p.Failed = p.Failed || d.Name == m.Name && d.Regressed
			}
		}
		out = append(out, p)
	}
	return out
}

// Medians returns the points' medians.
func Medians(ps []Figure) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p.Median
	}
	return out
}

// Levels are how pools are cut.
type Levels struct {
	ChangePoints changepoint.Config
	// Tolerance: a change point to a level worse by more than this is a
	// regression nobody accepted, one within it a new level.
	Tolerance float64
	// MinRuns is the history gate's fewest pooled runs: a new level
	// becomes the pool once it holds that many runs; until then the pool
	// goes on across its change point, so the gate never goes blind.
	MinRuns int
}

// NewLevels is Levels from the settings that name them
// (PERF_CHANGEPOINT_MIN_SEGMENT, PERF_CHANGEPOINT_ALPHA, PERF_TOLERANCE,
// PERF_HISTORY_MIN_RUNS), the permutations seeded as changepoint.Defaults.
func NewLevels(minSegment int, alpha, tolerance float64, minRuns int) Levels {
	cp := changepoint.Defaults()
	cp.MinSize, cp.Alpha = minSegment, alpha
	return Levels{ChangePoints: cp, Tolerance: tolerance, MinRuns: minRuns}
}

// Pools returns, for each gated metric of the cell with key, what the
// history gate compares run (not yet in the history) with.
func (h *History) Pools(run *results.Run, key string, o Levels) map[string]results.Pool {
	entries := h.Runs(IdentityOf(run))
	out := map[string]results.Pool{}
	for _, m := range results.GateMetrics {
		out[m.Name] = h.pool(Series(entries, key, m), m.HigherIsBetter, o)
	}
	return out
}

// pool cuts one series: it starts at the latest acceptance in it, moves
// past every change point to a level no worse than the tolerance (once
// that level holds MinRuns runs), and
// ends before the first change point to a worse one (the unaccepted
// regression); without one, the suspects are left out (a change may be
// starting there). The run before
// the new one is Previous, for the two-night test.
func (h *History) pool(ps []Figure, higherIsBetter bool, o Levels) results.Pool {
	var p results.Pool
	start, since := 0, "the first run"
	for _, a := range h.Accepted {
		if i := slices.IndexFunc(ps, func(q Figure) bool { return q.Entry.File == a.Run }); i >= 0 && i >= start {
			start, since = i, fmt.Sprintf("accepted at %s: %s", a.Run, a.Reason)
		}
	}
	end := len(ps)
	from := start
	for _, ch := range Changes(ps[from:], higherIsBetter, o.ChangePoints) {
		at := from + ch.At
		if ch.Worse > o.Tolerance {
			end, p.Unaccepted = at, ps[at].Entry.File
			break
		}
		if len(ps)-at >= o.MinRuns {
			start, since = at, "change point at "+ps[at].Entry.File
		}
	}
	if p.Unaccepted == "" {
		end = suspects(ps, start, end)
		p.LeftOut = len(ps) - end
	}
	start = max(start, end-MaxPool)
	p.Since = since
	for _, q := range ps[start:end] {
		p.Runs = append(p.Runs, q.Entry.File)
		p.Medians = append(p.Medians, q.Median)
	}
	if n := len(ps); n > 0 {
		p.Previous, p.PreviousPooled = ps[n-1].Median, end == n
	}
	return p
}

// Change is a change point of a series: At is the index of the new
// level's first run, Worse how much worse that level is than the one
// before it (negative: better), each level running to the neighbouring
// change point.
type Change struct {
	At    int
	Worse float64
}

// Changes finds the change points of ps (E-divisive means) and how each
// new level compares with the one before: what the gate's pools are cut
// by and what the trend report marks.
func Changes(ps []Figure, higherIsBetter bool, c changepoint.Config) []Change {
	values := Medians(ps)
	cps := changepoint.Detect(values, c)
	bounds := append(append([]int{0}, cps...), len(values))
	out := make([]Change, len(cps))
	for i, at := range cps {
		out[i] = Change{At: at, Worse: Worse(values[bounds[i]:at], values[at:bounds[i+2]], higherIsBetter)}
	}
	return out
}

// Worse is how much worse the level after is than the level before, as a
// fraction of before (negative: better): the ratio of the two segments'
// medians, in the metric's worse direction.
func Worse(before, after []float64, higherIsBetter bool) float64 {
	b, a := nonparam.Median(before), nonparam.Median(after)
	if b <= 0 || a <= 0 {
		return 0
	}
	if higherIsBetter {
		return b/a - 1
	}
	return a/b - 1
}

// suspectWindow is how many of the latest runs are searched for a failure.
const suspectWindow = 3

// suspects returns where the pool ends when a change may be starting: at
// the run before the earliest failure among the latest suspectWindow runs
// (the two-night test fails a run for a change that began the night
// before), so neither the failed runs nor the ones between them are the
// reference. Once suspectWindow runs pass in a row, they all pool again.
func suspects(ps []Figure, start, end int) int {
	for i := max(start, end-suspectWindow); i < end; i++ {
		if ps[i].Failed {
			return max(start, i-1)
		}
	}
	return end
}
