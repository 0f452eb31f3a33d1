// Package stats folds request records into a cell's figures (defined in
// docs/metrics.md): counts, errors by class, RPS, output tokens per second, goodput, and
// TTFT, ITL, TPOT, E2E and queue-time distributions in HDR histograms
// (github.com/HdrHistogram/hdrhistogram-go: microsecond resolution, 3
// significant digits, fixed memory whatever the request count).
//
// Histograms are kept per shard, a shard per worker modulo the shard count,
// and merged when the result is read. A histogram of this range costs about
// 90 KiB, so a set per worker would grow with concurrency (five histograms
// times 1024 workers is ~450 MiB); a fixed number of shards keeps memory
// flat while making lock contention as rare as per-worker sets would.
package aggregate

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/llm-platform/harness/internal/record"
)

// Histogram range, in microseconds.
const (
	lowestMicros  = 1
	highestMicros = int64(time.Hour / time.Microsecond) // longer than any request timeout
	sigFigs       = 3
)

// SLO is a set of per-request latency objectives; zero fields are unset. A
// request counts toward goodput when it succeeded and meets every set one.
type SLO struct {
	TTFT time.Duration
	TPOT time.Duration
	E2E  time.Duration
}

func (s SLO) met(r *record.Record) bool {
	if s.TTFT > 0 && r.TTFT() > s.TTFT {
		return false
	}
	if s.E2E > 0 && r.E2E() > s.E2E {
		return false
	}
	if tpot, ok := r.TPOT(); s.TPOT > 0 && ok && tpot > s.TPOT {
		return false
	}
	return true
}

// Aggregator folds records. Add is safe for concurrent use.
type Aggregator struct {
	slo    SLO
	shards []shard
	out    outage
}

// outage tracks how long the target took to recover from failures: the
// span from the start of the first failed request after a success to the
// end of the next successful one. Only failures and the first success
// after them take its lock; the success path otherwise reads one atomic.
type outage struct {
	active atomic.Bool
	mu     sync.Mutex
	start  time.Time
	max    time.Duration
}

func (o *outage) add(r *record.Record) {
	if r.Succeeded() {
		if !o.active.Load() {
			return
		}
		o.mu.Lock()
		if !o.start.IsZero() && r.Start.After(o.start) {
			o.max = max(o.max, r.End.Sub(o.start))
			o.start = time.Time{}
			o.active.Store(false)
		}
		o.mu.Unlock()
		return
	}
	o.mu.Lock()
	if o.start.IsZero() || r.Start.Before(o.start) {
		o.start = r.Start
	}
	o.active.Store(true)
	o.mu.Unlock()
}

type shard struct {
	mu                     sync.Mutex
	ttft, itl, tpot, e2e   *hdrhistogram.Histogram
	queue                  *hdrhistogram.Histogram
	respTTFT, respE2E      *hdrhistogram.Histogram // open loop: from the intended start
	requests, successes    int64
	good, tokens, mismatch int64
	prompt, promptMismatch int64
	errors                 map[record.Class]int64
	first, last            time.Time
	lastStart              time.Time
}

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(lowestMicros, highestMicros, sigFigs)
}

// New returns an Aggregator that measures goodput against slo.
func New(slo SLO) *Aggregator {
	n := 2 * runtime.GOMAXPROCS(0)
	a := &Aggregator{slo: slo, shards: make([]shard, n)}
	for i := range a.shards {
		s := &a.shards[i]
		s.ttft, s.itl, s.tpot, s.e2e, s.queue = newHist(), newHist(), newHist(), newHist(), newHist()
		s.respTTFT, s.respE2E = newHist(), newHist()
		s.errors = map[record.Class]int64{}
	}
	return a
}

// micros converts d to the histogram's unit, clamped into its range.
func micros(d time.Duration) int64 {
	return min(max(int64(d/time.Microsecond), 0), highestMicros)
}

// Add folds one record (worker picks the shard).
func (a *Aggregator) Add(worker int, r *record.Record) {
	a.out.add(r)
	s := &a.shards[uint(worker)%uint(len(a.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	if s.first.IsZero() || r.Start.Before(s.first) {
		s.first = r.Start
	}
	if r.End.After(s.last) {
		s.last = r.End
	}
	if r.Start.After(s.lastStart) {
		s.lastStart = r.Start
	}
	if !r.IntendedStart.IsZero() {
		_ = s.queue.RecordValue(micros(r.Queue()))
	}
	if !r.Succeeded() {
		s.errors[r.Class]++
		return
	}
	s.successes++
	s.tokens += int64(r.OutputTokens)
	s.prompt += int64(r.PromptTokens)
	if r.UsageMismatch {
		s.mismatch++
	}
	if r.PromptMismatch {
		s.promptMismatch++
	}
	if a.slo.met(r) {
		s.good++
	}
	_ = s.ttft.RecordValue(micros(r.TTFT()))
	_ = s.e2e.RecordValue(micros(r.E2E()))
	if !r.IntendedStart.IsZero() {
		_ = s.respTTFT.RecordValue(micros(r.ResponseTTFT()))
		_ = s.respE2E.RecordValue(micros(r.ResponseE2E()))
	}
	if tpot, ok := r.TPOT(); ok {
		_ = s.tpot.RecordValue(micros(tpot))
	}
	for _, g := range r.ChunkGaps {
		_ = s.itl.RecordValue(micros(g))
	}
}

// Latency summarises one latency distribution. Percentiles and Max are the
// upper bound of their HDR bucket, at most 0.1% above the exact value.
type Latency struct {
	Count int64         `json:"count"`
	P50   time.Duration `json:"p50"`
	P90   time.Duration `json:"p90"`
	P95   time.Duration `json:"p95"`
	P99   time.Duration `json:"p99"`
	Mean  time.Duration `json:"mean"`
	Max   time.Duration `json:"max"`
}

func dist(h *hdrhistogram.Histogram) Latency {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.TotalCount(),
		P50:   us(h.ValueAtQuantile(50)),
		P90:   us(h.ValueAtQuantile(90)),
		P95:   us(h.ValueAtQuantile(95)),
		P99:   us(h.ValueAtQuantile(99)),
		Mean:  time.Duration(math.Round(h.Mean() * float64(time.Microsecond))),
		Max:   us(h.Max()),
	}
}

// Figures is a cell's figures.
type Figures struct {
	Requests  int64                  `json:"requests"`
	Successes int64                  `json:"successes"`
	Errors    map[record.Class]int64 `json:"errors"`
	// Duration runs from the first request's start to the last one's end.
	Duration time.Duration `json:"duration"`
	// StartSpan runs from the first request's start to the last one's
	// start: (Requests-1)/StartSpan is the rate requests were started at.
	StartSpan time.Duration `json:"start_span"`
	// RPS is successes per second of Duration.
	RPS float64 `json:"rps"`
	// OutputTokens sums the successful requests' output tokens.
	OutputTokens int64 `json:"output_tokens"`
	// OutputTokensPerS is OutputTokens per second of Duration.
	OutputTokensPerS float64 `json:"output_tokens_per_s"`
	// UsageMismatches counts successes whose usage and chunk count disagree.
	UsageMismatches int64 `json:"usage_mismatches"`
	// PromptTokens sums the successful requests' usage.prompt_tokens;
	// PromptMismatches counts those whose prompt was sized to an exact
	// count and came back another (openai.Config.ExpectPromptTokens).
	PromptTokens     int64 `json:"prompt_tokens"`
	PromptMismatches int64 `json:"prompt_mismatches"`
	// Good counts successes meeting every SLO; GoodputRPS is per second.
	Good       int64   `json:"good"`
	GoodputRPS float64 `json:"goodput_rps"`
	TTFT       Latency `json:"ttft"`
	ITL        Latency `json:"itl"`
	TPOT       Latency `json:"tpot"`
	E2E        Latency `json:"e2e"`
	// Queue is the open-loop lateness against the schedule (empty in closed loop).
	Queue Latency `json:"queue"`
	// ResponseTTFT and ResponseE2E are TTFT and E2E of the successful
	// requests measured from their intended start (open loop; empty in
	// closed loop): response time, beside the service time above.
	ResponseTTFT Latency `json:"response_ttft"`
	ResponseE2E  Latency `json:"response_e2e"`
	// Recovery is the longest the target took to recover from failures:
	// from the first failed request after a success to the end of the
	// next success (0 when nothing failed, or nothing succeeded after).
	Recovery time.Duration `json:"recovery"`
}

// ErrorRate is the failed fraction of requests (0 when there were none).
func (c Figures) ErrorRate() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.Requests-c.Successes) / float64(c.Requests)
}

// Result merges the shards into the cell's figures. It may be called while
// records are still arriving (a live view) and at the end.
func (a *Aggregator) Result() Figures {
	return a.collect().figures(a.recovery())
}

// recovery is the longest outage so far.
func (a *Aggregator) recovery() time.Duration {
	a.out.mu.Lock()
	defer a.out.mu.Unlock()
	return a.out.max
}

// newShard is an empty shard.
func newShard() *shard {
	return &shard{ttft: newHist(), itl: newHist(), tpot: newHist(), e2e: newHist(), queue: newHist(),
		respTTFT: newHist(), respE2E: newHist(), errors: map[record.Class]int64{}}
}

// collect merges the shards into a new one.
func (a *Aggregator) collect() *shard {
	m := newShard()
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		m.merge(s)
		s.mu.Unlock()
	}
	return m
}

// merge folds o into s: histograms merge exactly, counts add, the span
// widens.
func (s *shard) merge(o *shard) {
	s.ttft.Merge(o.ttft)
	s.itl.Merge(o.itl)
	s.tpot.Merge(o.tpot)
	s.e2e.Merge(o.e2e)
	s.queue.Merge(o.queue)
	s.respTTFT.Merge(o.respTTFT)
	s.respE2E.Merge(o.respE2E)
	s.requests += o.requests
	s.successes += o.successes
	s.good += o.good
	s.tokens += o.tokens
	s.mismatch += o.mismatch
	s.prompt += o.prompt
	s.promptMismatch += o.promptMismatch
	for k, v := range o.errors {
		s.errors[k] += v
	}
	if !o.first.IsZero() && (s.first.IsZero() || o.first.Before(s.first)) {
		s.first = o.first
	}
	if o.last.After(s.last) {
		s.last = o.last
	}
	if o.lastStart.After(s.lastStart) {
		s.lastStart = o.lastStart
	}
}

// figures is a merged shard's figures.
func (s *shard) figures(recovery time.Duration) Figures {
	c := Figures{Errors: map[record.Class]int64{}, Requests: s.requests, Successes: s.successes, Good: s.good,
		OutputTokens: s.tokens, UsageMismatches: s.mismatch, PromptTokens: s.prompt, PromptMismatches: s.promptMismatch,
		Recovery: recovery}
	for k, v := range s.errors {
		c.Errors[k] = v
	}
	c.TTFT, c.ITL, c.TPOT, c.E2E, c.Queue = dist(s.ttft), dist(s.itl), dist(s.tpot), dist(s.e2e), dist(s.queue)
	c.ResponseTTFT, c.ResponseE2E = dist(s.respTTFT), dist(s.respE2E)
	if !s.first.IsZero() {
		c.Duration = s.last.Sub(s.first)
		c.StartSpan = s.lastStart.Sub(s.first)
	}
	if secs := c.Duration.Seconds(); secs > 0 {
		c.RPS = float64(c.Successes) / secs
		c.OutputTokensPerS = float64(c.OutputTokens) / secs
		c.GoodputRPS = float64(c.Good) / secs
	}
	return c
}
