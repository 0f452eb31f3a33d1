package measurement

import (
	"context"
	"errors"
	"io"
	"math"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/llm-platform/harness/internal/earlystop"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/scrape"
)

// Watch is what a sweep's repeat observes around its requests: the
// server's counters, the GPU, a live line, the early-stop rules and the
// load self-check's figures.
type Watch struct {
	// Scrape reads the server's /metrics; nil when it exposes none. It is
	// read after the warm-up and after the requests (the counters' delta),
	// and every serverWatchInterval between (the KV cache's peak).
	Scrape func(context.Context) (scrape.Snapshot, error)
	// GPU opens a GPU window after the warm-up and closes it after the
	// requests; nil without a GPU.
	GPU GPUWatcher
	// StopEarly turns the early-stop rules on: over-saturation in open
	// loop, and the SLOs of the spec broken with confidence.
	StopEarly bool
	// Simulator says the embedded simulator shares this process's cores
	// (the load self-check reads the CPU figures with that in mind).
	Simulator bool
	// Progress gets a live line while the requests run (nil: none); Left,
	// when set, adds the sweep's estimated time left.
	Progress io.Writer
	Left     func(running time.Duration) time.Duration
	// Driver, when set, runs the requests elsewhere (the distributed
	// sweep's workers): this process then measures nothing itself, and the
	// load self-check is the driver's. Deadline bounds a driven repeat.
	Driver   Driver
	Deadline time.Duration
}

// Driver runs a repeat's requests on other load generators and merges
// what they measured. It calls s.AfterWarmup once every generator has
// warmed up, before any measured request, as Run does.
type Driver interface {
	Drive(ctx context.Context, s Spec, payloads payload.Set, deadline time.Duration) (Driven, error)
}

// Driven is a driven repeat: the merged measurement and its load
// self-check, with each generator's part.
type Driven struct {
	Measured
	Load results.LoadCheck
}

// GPUWatcher opens and closes a window of GPU samples around a repeat.
type GPUWatcher interface {
	BeginGPU(name string)
	EndGPU() *gpu.Window
}

// errStoppedEarly ends a repeat's context when early stop fires.
var errStoppedEarly = errors.New("measurement: stopped early")

// Repeat measures one repeat of a sweep's cell, named name, with all that
// w watches, into its results.Cell. The server's counters and the GPU
// window are opened after the warm-up, so they cover the measured requests
// only. The Tally's Stopped says the suite is stopping (an early stop is
// the cell's own decision: it is in the Cell, and Stopped is false).
func Repeat(ctx context.Context, s Spec, payloads payload.Set, name string, w Watch) (results.Cell, load.Tally, error) {
	var before scrape.Snapshot
	beforeErr := errors.New("not scraped")
	var during *serverWatch
	defer func() {
		if during != nil {
			during.stop() // on every path: the watch must not outlive the repeat
		}
	}()
	var m meter
	prog := newProgress(w.Progress, name, s.Plan)
	prog.left = w.Left
	opened := false
	// Early stop: a detector watches the measured records and ends the
	// repeat's own context (not the suite's) when it can only fail.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var early *results.EarlyStop
	s.Observe = prog
	if es := w.earlyStop(s); es.Active() {
		det := earlystop.New(es, func(d results.EarlyStop) {
			early = &d
			cancel(errStoppedEarly)
		})
		s.Observe = load.Tee(prog, det)
	}
	s.AfterWarmup = func(ctx context.Context) {
		if w.Scrape != nil {
			before, beforeErr = w.Scrape(ctx)
			during = watchServer(ctx, w.Scrape)
		}
		if w.GPU != nil {
			w.GPU.BeginGPU(name)
		}
		opened, m = true, startMeter()
		prog.start()
	}
	res, lc, err := w.requests(ctx, s, payloads)
	var used usage
	var gs *gpu.Window
	if opened {
		prog.stop()
		used = m.stop()
		if w.GPU != nil {
			gs = w.GPU.EndGPU()
		}
	}
	if err != nil {
		return results.Cell{}, load.Tally{}, err
	}
	var server *scrape.Delta
	if w.Scrape != nil && beforeErr == nil {
		if after, err := w.Scrape(context.WithoutCancel(ctx)); err == nil {
			d := after.Since(before)
			server = &d
		}
	}
	if during != nil && server != nil {
		scrape.Peak(server, during.stop())
	}
	rc := results.NewCell(s.Payload, s.Plan, res.Stats, server)
	if early != nil && errors.Is(context.Cause(ctx), errStoppedEarly) {
		rc.EarlyStop = early
		res.Summary.Stopped = false // the cell's own decision, not the suite's stop
	}
	if lc == nil { // this process applied the load: its own self-check
		c := gate.CheckLoad(gate.LoadInput{Open: s.Plan.Mode() == load.Open, OfferedRPS: s.Plan.Rate, Requests: res.Stats.Requests,
			StartSpan: res.Stats.StartSpan, LagP99: res.Stats.Queue.P99, CapReached: res.Summary.CapReached, MaxInFlight: s.Plan.Concurrency(),
			Wall: used.wall, CPU: used.cpu, Cores: runtime.GOMAXPROCS(0), GCPause: used.gc, Simulator: w.Simulator})
		lc = &c
	}
	rc.LoadCheck = lc
	if gs != nil {
		if tokens := res.Stats.OutputTokens; tokens > 0 {
			gs.JoulesPerToken = math.Round(gs.EnergyJ/float64(tokens)*1e4) / 1e4
		}
		rc.GPU = gs
	}
	return rc, res.Summary, nil
}

// requests runs the repeat's requests: on the Driver when there is one
// (with its load self-check), else here (lc nil).
func (w Watch) requests(ctx context.Context, s Spec, payloads payload.Set) (Measured, *results.LoadCheck, error) {
	if w.Driver == nil {
		m, err := Run(ctx, s, payloads)
		return m, nil, err
	}
	d, err := w.Driver.Drive(ctx, s, payloads, w.Deadline)
	return d.Measured, &d.Load, err
}

// meter reads this process's CPU and GC pauses over the measured phase.
type meter struct {
	began time.Time
	cpu0  time.Duration
	gc0   uint64
}

// usage is what a meter read.
type usage struct{ wall, cpu, gc time.Duration }

func startMeter() meter { return meter{began: time.Now(), cpu0: ProcessCPU(), gc0: GCPauseNs()} }

func (m meter) stop() usage {
	return usage{wall: time.Since(m.began), cpu: ProcessCPU() - m.cpu0, gc: time.Duration(GCPauseNs() - m.gc0)}
}

// earlyStop is which early-stop rules watch the repeat.
func (w Watch) earlyStop(s Spec) earlystop.Settings {
	if !w.StopEarly {
		return earlystop.Settings{}
	}
	return earlystop.Settings{OverSaturation: s.Plan.Mode() == load.Open, SLOTTFT: s.SLO.TTFT, SLOE2E: s.SLO.E2E}
}

// serverWatchInterval is how often the server's /metrics is read during a
// cell, for what only a reading in between shows: the KV cache's peak.
const serverWatchInterval = 250 * time.Millisecond

// serverWatch reads the target's /metrics during a cell and keeps the
// reading with the fullest KV cache.
type serverWatch struct {
	done chan struct{}
	out  chan scrape.Snapshot
	once sync.Once
	peak scrape.Snapshot
}

// watchServer starts reading the server's metrics every
// serverWatchInterval until stop (or ctx ends).
func watchServer(ctx context.Context, take func(context.Context) (scrape.Snapshot, error)) *serverWatch {
	w := &serverWatch{done: make(chan struct{}), out: make(chan scrape.Snapshot, 1)}
	go func() {
		var peak scrape.Snapshot
		tick := time.NewTicker(serverWatchInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if s, err := take(ctx); err == nil && s.KVCacheUsage.OK && (!peak.KVCacheUsage.OK || s.KVCacheUsage.V > peak.KVCacheUsage.V) {
					peak = s
				}
			case <-w.done:
				w.out <- peak
				return
			case <-ctx.Done():
				w.out <- peak
				return
			}
		}
	}()
	return w
}

// stop ends the watch and returns its fullest reading; it may be called
// again.
func (w *serverWatch) stop() scrape.Snapshot {
	w.once.Do(func() {
		close(w.done)
		w.peak = <-w.out
	})
	return w.peak
}

// ProcessCPU is the CPU time this process has used, user and system.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// GCPauseNs is the garbage collector's stop-the-world pause total so far.
func GCPauseNs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.PauseTotalNs
}
