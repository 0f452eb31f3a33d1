package results

import (
	"cmp"
	"slices"

	"github.com/llm-platform/harness/internal/nonparam"
)

// Repeat is one repeat's run-level figures: what that measurement of the cell
// gave as a whole (its RPS, its TTFT p95, ...). A cell measured N times
// (PERF_REPEATS) keeps N of them; its headline figures are their medians.
type Repeat struct {
	Requests   int64   `json:"requests"`
	Successes  int64   `json:"successes"`
	DurationS  float64 `json:"duration_s"`
	RPS        float64 `json:"rps"`
	OutputTokS float64 `json:"output_tokens_per_s"`
	TTFTp50    float64 `json:"ttft_p50_ms"`
	TTFTp95    float64 `json:"ttft_p95_ms"`
	ITLp50     float64 `json:"itl_p50_ms"`
	TPOTp50    float64 `json:"tpot_p50_ms"`
	E2Ep50     float64 `json:"e2e_p50_ms"`
	E2Ep95     float64 `json:"e2e_p95_ms"`
	GoodputRPS float64 `json:"goodput_rps"`
}

// MedianRepeat is the repeat whose RPS is the median (the lower middle
// one for an even count), the one whose GPU and server figures the cell
// keeps (Combine); the cell's own figures for a cell without repeats.
func (c Cell) MedianRepeat() Repeat {
	if len(c.Repeats) == 0 {
		return c.run()
	}
	byRPS := slices.Clone(c.Repeats)
	slices.SortStableFunc(byRPS, func(a, b Repeat) int { return cmp.Compare(a.RPS, b.RPS) })
	return byRPS[(len(byRPS)-1)/2]
}

// run is a single measurement's Run.
func (c Cell) run() Repeat {
	return Repeat{Requests: c.Requests, Successes: c.Successes, DurationS: c.DurationS, RPS: c.RPS, OutputTokS: c.OutputTokS,
		TTFTp50: c.TTFT.P50, TTFTp95: c.TTFT.P95, ITLp50: c.ITL.P50, TPOTp50: c.TPOT.P50, E2Ep50: c.E2E.P50, E2Ep95: c.E2E.P95,
		GoodputRPS: c.GoodputRPS}
}

// GateMetric is a run-level figure the baseline gate judges, with the
// direction in which it regresses.
type GateMetric struct {
	Name           string
	HigherIsBetter bool
	Of             func(Repeat) float64
}

// GateMetrics are the gated figures. Robust ones (medians, throughput)
// detect a real change; tails (p95) are gated too but are the noisiest
// (on an H200, six unchanged runs spanned TTFT p95 323-471 ms while ITL
// p50 stayed within 3.75-3.82 ms).
var GateMetrics = []GateMetric{
	{"rps", true, func(r Repeat) float64 { return r.RPS }},
	{"output_tokens_per_s", true, func(r Repeat) float64 { return r.OutputTokS }},
	{"ttft_p50_ms", false, func(r Repeat) float64 { return r.TTFTp50 }},
	{"ttft_p95_ms", false, func(r Repeat) float64 { return r.TTFTp95 }},
	{"itl_p50_ms", false, func(r Repeat) float64 { return r.ITLp50 }},
	{"tpot_p50_ms", false, func(r Repeat) float64 { return r.TPOTp50 }},
	{"e2e_p95_ms", false, func(r Repeat) float64 { return r.E2Ep95 }},
}

// Values returns metric m over runs.
func (m GateMetric) Values(runs []Repeat) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = m.Of(r)
	}
	return out
}

// summarize fills c.Stats from c.Repeats.
func (c *Cell) summarize() {
	c.Stats = map[string]Summary{}
	for _, m := range GateMetrics {
		s := Summary(nonparam.Summarize(m.Values(c.Repeats)))
		s.Median, s.Lo, s.Hi, s.CV = Round3(s.Median), Round3(s.Lo), Round3(s.Hi), Round4(s.CV)
		s.Level = Round4(s.Level)
		c.Stats[m.Name] = s
	}
}

func Round4(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }

// Combine folds the repeats of one cell into the cell's record: every
// run-level figure (RPS, each latency percentile, goodput) is the median
// over the repeats; counts and durations are sums over them; the GPU and
// server figures are those of the repeat whose RPS is the median, so they
// describe one real measurement. Repeats keeps every repeat's Run, and
// Stats the median, interval and CV of each gated metric. The verdict and
// reasons are the caller's.
func Combine(runs []Cell) Cell {
	if len(runs) == 1 {
		return runs[0]
	}
	med := func(f func(Cell) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return Round3(nonparam.Median(xs))
	}
	dist := func(f func(Cell) Dist) Dist {
		d := Dist{P50: med(func(c Cell) float64 { return f(c).P50 }), P90: med(func(c Cell) float64 { return f(c).P90 }),
			P95: med(func(c Cell) float64 { return f(c).P95 }), P99: med(func(c Cell) float64 { return f(c).P99 }),
			Mean: med(func(c Cell) float64 { return f(c).Mean }), Max: med(func(c Cell) float64 { return f(c).Max })}
		d.N = f(runs[0]).N
		flagged := false
		for _, r := range runs {
			d.N = min(d.N, f(r).N)
			flagged = flagged || f(r).Unsupported != nil || f(r).N > 0
		}
		if flagged { // a schema-5 repeat: the smallest one's sample decides
			d = d.FlagSupport()
		}
		return d
	}
	byRPS := slices.Clone(runs)
	slices.SortStableFunc(byRPS, func(a, b Cell) int { return cmp.Compare(a.RPS, b.RPS) })
	mid := byRPS[(len(byRPS)-1)/2]
	c := runs[0]
	c.Errors = map[string]int64{}
	c.Requests, c.Successes, c.DurationS, c.RecoveryS, c.PromptMismatches = 0, 0, 0, 0, 0
	c.Repeats = nil
	for _, r := range runs {
		c.Requests += r.Requests
		c.Successes += r.Successes
		c.PromptMismatches += r.PromptMismatches
		c.DurationS = Round3(c.DurationS + r.DurationS)
		c.RecoveryS = max(c.RecoveryS, r.RecoveryS)
		for k, v := range r.Errors {
			c.Errors[k] += v
		}
		c.Repeats = append(c.Repeats, r.Repeats...)
	}
	c.InputTokensMean = med(func(c Cell) float64 { return c.InputTokensMean })
	c.RPS, c.OutputTokS, c.GoodputRPS = med(func(c Cell) float64 { return c.RPS }), med(func(c Cell) float64 { return c.OutputTokS }), med(func(c Cell) float64 { return c.GoodputRPS })
	c.TTFT, c.ITL, c.TPOT, c.E2E = dist(func(c Cell) Dist { return c.TTFT }), dist(func(c Cell) Dist { return c.ITL }),
		dist(func(c Cell) Dist { return c.TPOT }), dist(func(c Cell) Dist { return c.E2E })
	c.GPU, c.Server, c.LoadCheck = mid.GPU, mid.Server, mid.LoadCheck
	c.EarlyStop = nil
	for _, r := range runs {
		if r.EarlyStop != nil {
			c.EarlyStop = r.EarlyStop // the first repeat that stopped early
			break
		}
	}
	for _, r := range runs {
		if r.LoadCheck != nil && r.LoadCheck.Verdict != LoadOK {
			c.LoadCheck = r.LoadCheck
			break
		}
	}
	if c.Queue != nil {
		opt := func(f func(Cell) *Dist) *Dist {
			d := dist(func(c Cell) Dist {
				if p := f(c); p != nil {
					return *p
				}
				return Dist{}
			})
			return &d
		}
		c.Queue, c.ResponseTTFT, c.ResponseE2E = opt(func(c Cell) *Dist { return c.Queue }), opt(func(c Cell) *Dist { return c.ResponseTTFT }),
			opt(func(c Cell) *Dist { return c.ResponseE2E })
	}
	c.summarize()
	return c
}

// noisy returns the gated metrics whose CV exceeds maxCV.
func (c Cell) Noisy(maxCV float64) []string {
	var out []string
	if maxCV <= 0 || len(c.Repeats) < 2 {
		return nil
	}
	for _, m := range GateMetrics {
		if c.Stats[m.Name].CV > maxCV {
			out = append(out, m.Name)
		}
	}
	return out
}

// SideBySide are the figures of the PERF_COMPARE section.
var SideBySide = []GateMetric{
	{"ttft_p50_ms", false, func(r Repeat) float64 { return r.TTFTp50 }},
	{"itl_p50_ms", false, func(r Repeat) float64 { return r.ITLp50 }},
	{"e2e_p50_ms", false, func(r Repeat) float64 { return r.E2Ep50 }},
	{"e2e_p95_ms", false, func(r Repeat) float64 { return r.E2Ep95 }},
	{"rps", true, func(r Repeat) float64 { return r.RPS }},
}

// Difference is one figure of this run against the same cell of the run
// named by PERF_COMPARE (e.g. through the ingress against direct), tested
// two-sided: a difference is only called one when the repeats of the two
// runs are shifted beyond chance.
type Difference struct {
	Name string `json:"name"`
	// Compared and Here are the medians over each run's repeats.
	Compared float64 `json:"compared"`
	Here     float64 `json:"here"`
	// Delta is Here - Compared.
	Delta float64 `json:"delta"`
	// Tested is false when the repeats are too few for any p below alpha
	// (one repeat on either side); P and Significant then mean nothing.
	Tested      bool    `json:"tested"`
	P           float64 `json:"p"`
	Significant bool    `json:"significant"`
}

// OneRepeat makes c a one-repeat cell, as NewCell does (and Parse for a
// schema 1 cell): its own figures are its only repeat, summarised.
func OneRepeat(c Cell) Cell {
	c.Repeats = []Repeat{c.run()}
	c.summarize()
	return c
}
