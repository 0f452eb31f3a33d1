// Package earlystop decides, while a cell runs, that it can only fail, so
// the cell stops instead of spending GPU minutes past the saturation knee.
// It watches the cell's records (it is a load.Sink) and calls Stop once,
// with the reason, when one of two rules fires:
//
//   - Over-saturation (open loop): under a constant offered load a server
//     that cannot keep up falls behind for good, and the response TTFT
//     (from each request's intended start, the client's queue included)
//     climbs steadily over the cell. The rule fits a least-squares line of
//     response TTFT against intended start and fires when the slope is
//     positive with 99% one-sided confidence and the fitted rise over the
//     cell so far is material: at least OverSaturationRise and at least the
//     fitted level at the cell's start (the TTFT has doubled). A busy but
//     stable server has a flat line, however noisy, and runs to the end.
//   - SLO broken early (either loop): a p95 SLO (TTFT or E2E ≤ L) says at
//     most 5% of requests exceed L. A sequential probability ratio test
//     (Wald) of "5% exceed L" against "20% do", with 1% error either way,
//     fires once the requests so far show the SLO broken. In closed loop
//     the TTFT levels off instead of climbing, so a slope would say little;
//     the SPRT's error bounds hold however often it looks.
//
// Neither rule looks before MinRequests requests have finished (30: fewer
// cannot show a slope or a tail with confidence). Errors do not count
// toward either rule; the cell's error allowance judges them at the end.
package earlystop

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/results"
)

// MinRequests is the least finished requests before a rule may fire.
const MinRequests = 30

// OverSaturationRise is the least fitted rise of the response TTFT that
// counts as falling behind (with the doubling).
const OverSaturationRise = 50 * time.Millisecond

// SPRT settings: H0 "5% of requests exceed the limit" (a p95 SLO met at
// its edge) against H1 "20% do", with α = β = 1%.
const (
	p0, p1 = 0.05, 0.20
	alpha  = 0.01
	beta   = 0.01
)

var (
	llrOver  = math.Log(p1 / p0)             // per request over the limit
	llrUnder = math.Log((1 - p1) / (1 - p0)) // per request within it
	llrStop  = math.Log((1 - beta) / alpha)  // Wald's upper boundary
)

// z99 is the one-sided 99% normal quantile.
const z99 = 2.326

// Settings say which rules watch a cell.
type Settings struct {
	// OverSaturation turns the open-loop rule on.
	OverSaturation bool
	// SLOTTFT and SLOE2E are the p95 SLOs the SPRT watches (none when 0).
	SLOTTFT, SLOE2E time.Duration
}

// Active reports whether any rule would watch.
func (s Settings) Active() bool { return s.OverSaturation || s.SLOTTFT > 0 || s.SLOE2E > 0 }

// Detector watches one cell. It is safe for concurrent use.
type Detector struct {
	s    Settings
	stop func(results.EarlyStop)

	mu       sync.Mutex
	n        int64 // finished successful requests
	t0       time.Time
	fit      line
	ttftLLR  float64
	ttftOver int64
	e2eLLR   float64
	e2eOver  int64
	fired    bool
}

// New returns a Detector that calls stop once when a rule fires.
func New(s Settings, stop func(results.EarlyStop)) *Detector { return &Detector{s: s, stop: stop} }

// Add implements load.Sink.
func (d *Detector) Add(_ int, rec *record.Record) {
	if !rec.Succeeded() {
		return
	}
	d.mu.Lock()
	dec, ok := d.add(rec)
	d.mu.Unlock()
	if ok {
		d.stop(dec)
	}
}

// add folds rec in and returns a decision when a rule fires for the first
// time; d.mu is held.
func (d *Detector) add(rec *record.Record) (results.EarlyStop, bool) {
	if d.fired {
		return results.EarlyStop{}, false
	}
	d.n++
	if d.s.SLOTTFT > 0 {
		d.ttftLLR, d.ttftOver = step(d.ttftLLR, d.ttftOver, rec.TTFT() > d.s.SLOTTFT)
	}
	if d.s.SLOE2E > 0 {
		d.e2eLLR, d.e2eOver = step(d.e2eLLR, d.e2eOver, rec.E2E() > d.s.SLOE2E)
	}
	if d.s.OverSaturation && !rec.IntendedStart.IsZero() {
		if d.t0.IsZero() {
			d.t0 = rec.IntendedStart
		}
		d.fit.add(rec.IntendedStart.Sub(d.t0).Seconds(), float64(rec.ResponseTTFT())/float64(time.Millisecond))
	}
	if d.n < MinRequests {
		return results.EarlyStop{}, false
	}
	var dec results.EarlyStop
	switch {
	case d.s.SLOTTFT > 0 && d.ttftLLR >= llrStop:
		dec = results.EarlyStop{Rule: results.RuleSLOBroken, Reason: fmt.Sprintf("%d of %d requests had TTFT over the p95 SLO of %v: the SLO cannot hold (sequential test, 1%% error)",
			d.ttftOver, d.n, d.s.SLOTTFT)}
	case d.s.SLOE2E > 0 && d.e2eLLR >= llrStop:
		dec = results.EarlyStop{Rule: results.RuleSLOBroken, Reason: fmt.Sprintf("%d of %d requests had E2E over the p95 SLO of %v: the SLO cannot hold (sequential test, 1%% error)",
			d.e2eOver, d.n, d.s.SLOE2E)}
	case d.s.OverSaturation:
		slope, lo, start, span, ok := d.fit.estimate()
		rise := slope * span
		if !ok || lo <= 0 || rise < results.Millis(OverSaturationRise) || rise < start {
			return results.EarlyStop{}, false
		}
		dec = results.EarlyStop{Rule: results.RuleOverSaturated, Reason: fmt.Sprintf("the response TTFT climbed %.1f ms/s (99%% lower bound %.1f) from %.0f ms over %.1f s of the schedule: the server is falling behind for good",
			slope, lo, math.Max(start, 0), span)}
	default:
		return results.EarlyStop{}, false
	}
	d.fired = true
	dec.AfterRequests = d.n
	return dec, true
}

// step adds one request to a SPRT's log-likelihood ratio. The ratio never
// goes below Wald's lower boundary: the test restarts there rather than
// accepting H0 for good, so a cell that degrades late is still caught.
func step(llr float64, over int64, exceeded bool) (float64, int64) {
	if exceeded {
		return llr + llrOver, over + 1
	}
	return math.Max(llr+llrUnder, math.Log(beta/(1-alpha))), over
}

// line accumulates a least-squares fit of y on x.
type line struct {
	n                     float64
	sx, sy, sxx, sxy, syy float64
	xmin, xmax            float64
}

func (l *line) add(x, y float64) {
	if l.n == 0 || x < l.xmin {
		l.xmin = x
	}
	if l.n == 0 || x > l.xmax {
		l.xmax = x
	}
	l.n++
	l.sx += x
	l.sy += y
	l.sxx += x * x
	l.sxy += x * y
	l.syy += y * y
}

// estimate is the slope, its one-sided 99% lower bound, the fitted value
// at the first x, and the x span; ok is false when the fit is degenerate.
func (l *line) estimate() (slope, lo, start, span float64, ok bool) {
	if l.n < 3 {
		return 0, 0, 0, 0, false
	}
	sxx := l.sxx - l.sx*l.sx/l.n
	sxy := l.sxy - l.sx*l.sy/l.n
	syy := l.syy - l.sy*l.sy/l.n
	if sxx <= 0 {
		return 0, 0, 0, 0, false
	}
	slope = sxy / sxx
	sse := math.Max(syy-slope*sxy, 0)
	se := math.Sqrt(sse/(l.n-2)) / math.Sqrt(sxx)
	intercept := (l.sy - slope*l.sx) / l.n
	return slope, slope - z99*se, intercept + slope*l.xmin, l.xmax - l.xmin, true
}
