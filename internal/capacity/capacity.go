// Package capacity finds the highest load (concurrent users, or requests
// per second) at which a target meets its SLOs, with a confidence statement
// a capacity plan can rest on, instead of naming the best cell a sweep
// happened to try.
//
// The search brackets the capacity by doubling the load from Start until a
// probe fails (or Max is reached), then bisects the bracket: to one user
// for concurrency, to Resolution (relative) for a rate. A probe is decided
// on its repeats, measured back to back: each objective (p95 TTFT ≤ limit,
// the error rate ≤ its allowance, ...) is tested with a sign test on the
// repeats' values (sample.SignTest), which assumes no distribution. A probe
// passes when every objective holds with confidence, fails when any is
// broken with confidence, and gets another repeat while neither is shown,
// up to MaxRepeats; a probe still undecided then counts as failed (the
// capacity is the highest load shown to pass) and says so.
//
// It is plain logic over a Measure function: no HTTP, no clock but the
// budget's, so it is tested against loads whose answer is known.
package capacity

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/llm-platform/harness/internal/results"

	"github.com/llm-platform/harness/internal/nonparam"
)

// The kinds of search.
const (
	Concurrency = "concurrency"
	Rate        = "rate"
)

// Defaults for Settings left zero.
const (
	// DefaultConfidence is the one-sided confidence a probe's decision
	// needs: 4 unanimous repeats give 93.75%.
	DefaultConfidence = 0.9
	// DefaultMaxRepeats bounds the repeats of one probe: at 10, a probe
	// passes with 2 repeats of 10 over the limit (p = 0.055).
	DefaultMaxRepeats = 10
	// DefaultResolution is a rate search's relative resolution.
	DefaultResolution = 0.05
)

// Objective, Probe and Result are results.json's types (package results
// owns the file's shape); the search fills them.
type (
	Objective = results.Objective
	Probe     = results.CapacityProbe
	Result    = results.Capacity
)

func trim(f float64) string { return fmt.Sprintf("%.4g", f) }

// Settings shape one search.
type Settings struct {
	Kind string
	// Start is the first load probed; Max the largest (both > 0).
	Start, Max float64
	// Resolution: a rate search stops when the bracket's width is at most
	// this fraction of its low end (DefaultResolution when zero).
	Resolution float64
	// MaxRepeats bounds one probe's repeats (DefaultMaxRepeats when zero);
	// Confidence is what a decision needs (DefaultConfidence when zero).
	MaxRepeats int
	Confidence float64
	// Budget bounds the search's wall time (none when zero): when it ends,
	// the result is the bracket reached.
	Budget time.Duration
	// OnProbe, when set, sees each probe as it is decided.
	OnProbe func(Probe)
}

// Measure runs one repeat of a probe at load and returns what it showed.
type Measure func(ctx context.Context, load float64) (Outcome, error)

// Outcome is one repeat of a probe.
type Outcome struct {
	// Values holds each objective metric's value.
	Values map[string]float64
	// Failed, when set, says the repeat showed the load beyond capacity
	// outright (e.g. "over-saturated": the server fell behind for good,
	// shown with confidence of its own); the probe fails at once.
	Failed string
}

// Verdicts of a probe.
const (
	Pass       = "pass"
	Fail       = "fail"
	Undecided  = "undecided"  // MaxRepeats ran without a confident decision: counted as failed
	Incomplete = "incomplete" // the budget or the context ended it
)

// Validate reports the first invalid setting, by name.
func (s Settings) Validate(objectives []Objective) error {
	switch {
	case s.Kind != Concurrency && s.Kind != Rate:
		return fmt.Errorf("capacity: kind %q: want %s or %s", s.Kind, Concurrency, Rate)
	case s.Start <= 0 || s.Max < s.Start:
		return fmt.Errorf("capacity: start %v and max %v: want 0 < start <= max", s.Start, s.Max)
	case s.Kind == Concurrency && (s.Start != math.Trunc(s.Start) || s.Max != math.Trunc(s.Max)):
		return errors.New("capacity: a concurrency search needs whole start and max")
	case s.Resolution < 0 || s.MaxRepeats < 0 || s.Confidence < 0 || s.Confidence >= 1:
		return errors.New("capacity: resolution, max repeats and confidence must be >= 0 (confidence < 1)")
	case len(objectives) == 0:
		return errors.New("capacity: no objective to search against")
	}
	return nil
}

func (s Settings) withDefaults() Settings {
	if s.Resolution == 0 {
		s.Resolution = DefaultResolution
	}
	if s.MaxRepeats == 0 {
		s.MaxRepeats = DefaultMaxRepeats
	}
	if s.Confidence == 0 {
		s.Confidence = DefaultConfidence
	}
	return s
}

// errBudget ends a search whose budget ran out.
var errBudget = errors.New("capacity: budget spent")

// Search finds the capacity. Only invalid settings or a Measure error are
// errors; a search the budget or ctx cut short returns the bracket reached.
func Search(ctx context.Context, s Settings, objectives []Objective, measure Measure) (res Result, err error) {
	if err := s.Validate(objectives); err != nil {
		return Result{}, err
	}
	s = s.withDefaults()
	began := time.Now()
	res = Result{Kind: s.Kind, Objectives: objectives}
	defer func() { res.DurationS = math.Round(time.Since(began).Seconds()*1000) / 1000 }()
	deadline := time.Time{}
	if s.Budget > 0 {
		deadline = began.Add(s.Budget)
	}
	probe := func(load float64) (Probe, error) {
		p, err := run(ctx, s, objectives, measure, load, deadline)
		res.Probes = append(res.Probes, p)
		if s.OnProbe != nil {
			s.OnProbe(p)
		}
		return p, err
	}
	stop := func(err error) (Result, error) {
		if errors.Is(err, errBudget) || ctx.Err() != nil {
			res.Note = fmt.Sprintf("stopped before the bracket was narrowed: %v", cause(ctx, err))
			return res, nil
		}
		return res, err
	}

	// Bracket: double from Start until a probe does not pass.
	lo, hi := 0.0, 0.0
	for load := s.Start; ; load = math.Min(load*2, s.Max) {
		p, err := probe(load)
		if err != nil {
			return stop(err)
		}
		if p.Verdict != Pass {
			hi, res.Binding = load, p.Broken
			break
		}
		lo, res.Value, res.Lo = load, load, load
		if load >= s.Max {
			res.Complete, res.Note = true, fmt.Sprintf("every objective held up to the largest load tried (%s)", trim(s.Max))
			return res, nil
		}
	}
	res.Hi = hi
	// Bisect.
	for !narrow(s, lo, hi) {
		mid := lo + (hi-lo)/2
		if s.Kind == Concurrency {
			mid = math.Floor(mid)
		}
		p, err := probe(mid)
		if err != nil {
			return stop(err)
		}
		if p.Verdict == Pass {
			lo, res.Value, res.Lo = mid, mid, mid
		} else {
			hi, res.Hi, res.Binding = mid, mid, p.Broken
		}
	}
	res.Complete = true
	return res, nil
}

// narrow reports whether the bracket is at the search's resolution.
func narrow(s Settings, lo, hi float64) bool {
	if s.Kind == Concurrency {
		return hi-lo <= 1
	}
	return lo > 0 && (hi-lo)/lo <= s.Resolution || lo == 0 && hi <= s.Start
}

func cause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// run measures one probe, a repeat at a time, until it is decided.
func run(ctx context.Context, s Settings, objectives []Objective, measure Measure, load float64, deadline time.Time) (Probe, error) {
	p := Probe{Load: load, Values: map[string][]float64{}, Verdict: Incomplete}
	alpha := 1 - s.Confidence
	for n := 1; n <= s.MaxRepeats; n++ {
		if !deadline.IsZero() && time.Now().After(deadline) {
			return p, errBudget
		}
		if err := ctx.Err(); err != nil {
			return p, err
		}
		out, err := measure(ctx, load)
		if err != nil {
			return p, err
		}
		for _, o := range objectives {
			p.Values[o.Metric] = append(p.Values[o.Metric], out.Values[o.Metric])
		}
		if out.Failed != "" {
			p.Verdict, p.Broken = Fail, []string{out.Failed}
			return p, nil
		}
		held, broken, ps := decide(p, objectives, alpha)
		switch {
		case len(broken) > 0:
			p.Verdict, p.Broken, p.P = Fail, broken, ps
			return p, nil
		case held:
			p.Verdict, p.P = Pass, ps
			return p, nil
		}
	}
	p.Verdict = Undecided
	return p, nil
}

// decide tests each objective on the repeats so far: held is true when
// every objective holds with confidence; broken names those broken with
// confidence; ps are the p-values of the decision (for "held" when nothing
// is broken).
func decide(p Probe, objectives []Objective, alpha float64) (held bool, broken []string, ps map[string]float64) {
	held = true
	heldP, brokenP := map[string]float64{}, map[string]float64{}
	for _, o := range objectives {
		// A value at the limit meets it (p95 ≤ 500 holds at 500; an error
		// rate of 0 meets an allowance of 0): move the limit a hair outward.
		if o.AtLeast {
			pBelow, pAbove := nonparam.SignTest(p.Values[o.Metric], math.Nextafter(o.Limit, math.Inf(-1)))
			heldP[o.Metric], brokenP[o.Metric] = pAbove, pBelow
		} else {
			pBelow, pAbove := nonparam.SignTest(p.Values[o.Metric], math.Nextafter(o.Limit, math.Inf(1)))
			heldP[o.Metric], brokenP[o.Metric] = pBelow, pAbove
		}
		ok, bad := heldP[o.Metric], brokenP[o.Metric]
		heldP[o.Metric], brokenP[o.Metric] = ok, bad
		if bad <= alpha {
			broken = append(broken, o.String())
		}
		if ok > alpha {
			held = false
		}
	}
	if len(broken) > 0 {
		return false, broken, brokenP
	}
	return held, nil, heldP
}
