package sweep

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/earlystop"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/scrape"
)

// measure runs the cell once and converts it. The server's counters and
// the GPU window are opened after the warm-up (measurement.Spec.AfterWarmup), so
// they cover the measured requests only.
func (r *Runner) measure(ctx context.Context, c Repeat, name string) (results.Cell, load.Tally, error) {
	var before scrape.Snapshot
	beforeErr := errors.New("not scraped")
	var during *serverWatch
	defer func() {
		if during != nil {
			during.stop() // on every path: the watch must not outlive the cell
		}
	}()
	var began time.Time
	var cpu0 time.Duration
	var gc0 uint64
	prog := newProgress(r.progress, name, c.Plan)
	if r.estimate.Total > 0 {
		prog.left = r.left
	}
	opened := false
	// Early stop: a detector watches the measured records and ends the
	// cell's own context (not the suite's) when it can only fail.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var early *earlystop.Decision
	var observe load.Sink = prog
	if es := r.earlyStop(c); es.Active() {
		det := earlystop.New(es, func(d earlystop.Decision) {
			early = &d
			cancel(errStoppedEarly)
		})
		observe = load.Tee(prog, det)
	}
	spec := measurement.Spec{
		Target:  measurement.Requests{Endpoint: r.endpoint, Model: r.model, Timeout: r.cfg.Timeout, NoStream: !r.cfg.Stream},
		Payload: c.Payload, Plan: c.Plan,
		SLO:     aggregate.SLO{TTFT: r.cfg.SLOTTFT, E2E: r.cfg.SLOE2E},
		Observe: observe,
		AfterWarmup: func(ctx context.Context) {
			if r.metrics {
				sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
				before, beforeErr = scrape.Take(sctx, r.hc, r.endpoint)
				cancel()
				during = r.watchServer(ctx)
			}
			if r.sampler != nil {
				r.sampler.BeginCell(name)
			}
			opened = true
			began, cpu0, gc0 = time.Now(), processCPU(), gcPauseNs()
			prog.start()
		},
	}
	res, err := measurement.Run(ctx, spec, r.payloads)
	var wall, cpu, gcPause time.Duration
	if opened {
		prog.stop()
		wall, cpu, gcPause = time.Since(began), processCPU()-cpu0, time.Duration(gcPauseNs()-gc0)
	}
	var gs *gpu.Window
	if r.sampler != nil && opened {
		st := r.sampler.EndCell()
		gs = &st
	}
	if err != nil {
		return results.Cell{}, load.Tally{}, err
	}
	var server *scrape.Delta
	if r.metrics && beforeErr == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), scrapeTimeout)
		if after, err := scrape.Take(sctx, r.hc, r.endpoint); err == nil {
			d := after.Since(before)
			server = &d
		}
		cancel()
	}
	if during != nil && server != nil {
		server.Peak(during.stop())
	}
	rc := results.NewCell(c.Payload, c.Plan, res.Stats, server)
	if early != nil && errors.Is(context.Cause(ctx), errStoppedEarly) {
		rc.EarlyStop = early
		res.Summary.Stopped = false // the cell's own decision, not the suite's stop
	}
	lc := gate.CheckLoad(gate.LoadInput{Open: c.Plan.Mode() == load.Open, OfferedRPS: c.Plan.Rate, Requests: res.Stats.Requests,
		StartSpan: res.Stats.StartSpan, LagP99: res.Stats.Queue.P99, CapReached: res.Summary.CapReached, MaxInFlight: c.Plan.Concurrency(),
		Wall: wall, CPU: cpu, Cores: runtime.GOMAXPROCS(0), GCPause: gcPause, Simulator: r.sim != nil})
	rc.LoadCheck = &lc
	if gs != nil {
		if tokens := res.Stats.OutputTokens; tokens > 0 {
			gs.JoulesPerToken = math.Round(gs.EnergyJ/float64(tokens)*1e4) / 1e4
		}
		rc.GPU = gs
	}
	return rc, res.Summary, nil
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
func (r *Runner) watchServer(ctx context.Context) *serverWatch {
	w := &serverWatch{done: make(chan struct{}), out: make(chan scrape.Snapshot, 1)}
	go func() {
		var peak scrape.Snapshot
		tick := time.NewTicker(serverWatchInterval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
				if s, err := scrape.Take(sctx, r.hc, r.endpoint); err == nil && s.KVCacheUsage.OK && (!peak.KVCacheUsage.OK || s.KVCacheUsage.V > peak.KVCacheUsage.V) {
					peak = s
				}
				cancel()
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

// errStoppedEarly ends a cell's context when early stop fires.
var errStoppedEarly = errors.New("sweep: stopped early")

// earlyStop is which early-stop rules watch repeat c: with PERF_STOP_EARLY
// auto, search probes and open-loop cells; with 1, every cell.
func (r *Runner) earlyStop(c Repeat) earlystop.Settings {
	on := r.cfg.StopEarly == "1" || r.cfg.StopEarly == "auto" && (r.cfg.Search != "" || c.Plan.Mode() == load.Open)
	if !on {
		return earlystop.Settings{}
	}
	return earlystop.Settings{OverSaturation: c.Plan.Mode() == load.Open, SLOTTFT: r.cfg.SLOTTFT, SLOE2E: r.cfg.SLOE2E}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcPauseNs is the garbage collector's stop-the-world pause total so far.
func gcPauseNs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.PauseTotalNs
}
