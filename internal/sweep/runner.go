package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llm-platform/harness/internal/cell"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/nvml"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/scrape"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/stack"
	"github.com/llm-platform/harness/internal/stats"
)

// scrapeTimeout bounds one /metrics scrape.
const scrapeTimeout = 10 * time.Second

// Runner runs a sweep's cells and keeps its report files current: they are
// rewritten after every cell, so an interrupted or killed sweep leaves the
// reports of every cell it finished.
type Runner struct {
	cfg      Config
	endpoint openai.Endpoint
	model    string
	sim      *sim.Instance
	baseline *report.Results
	compare  *report.Results
	metrics  bool // the target exposes vLLM metrics
	hc       *http.Client
	progress io.Writer    // nil: no live line
	sampler  *gpu.Sampler // nil without a GPU
	gpuFile  *os.File

	mu      sync.Mutex // guards results and pending
	results report.Results
	// pending holds the finished repeats of cells whose last repeat has
	// not run yet, by cell name.
	pending map[string][]report.Cell
}

// Start resolves the target (starting the embedded simulator when none is
// configured), waits for it to serve /v1/models, picks the model, and loads
// the baseline. progress, when not nil, gets a live line per running cell.
func Start(ctx context.Context, cfg Config, progress io.Writer) (*Runner, error) {
	r := &Runner{cfg: cfg, hc: &http.Client{Timeout: scrapeTimeout}, progress: progress, pending: map[string][]report.Cell{}}
	if !cfg.Progress {
		r.progress = nil
	}
	r.endpoint = openai.Endpoint{BaseURL: cfg.Target, Host: cfg.Host, APIKey: cfg.APIKey}
	simulator := ""
	if cfg.Target == "" {
		preset, err := sim.Preset(cfg.SimPreset)
		if err != nil {
			return nil, err
		}
		preset.RunCV, preset.Slowdown = cfg.SimRunCV, cfg.SimSlowdown
		if r.sim, err = sim.Start(preset, ""); err != nil {
			return nil, err
		}
		r.endpoint.BaseURL, simulator = r.sim.URL, cfg.SimPreset
	}
	models, err := r.waitReady(ctx)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.model = cfg.Model
	if r.model == "" {
		r.model = models[0]
	} else if !contains(models, r.model) {
		r.Close()
		return nil, fmt.Errorf("sweep: PERF_MODEL: %q is not served; the target lists %s", r.model, strings.Join(models, ", "))
	}
	if cfg.Baseline != "" {
		if r.baseline, err = report.Load(cfg.Baseline); err != nil {
			r.Close()
			return nil, err
		}
	}
	if cfg.Compare != "" {
		if r.compare, err = report.Load(cfg.Compare); err != nil {
			r.Close()
			return nil, err
		}
	}
	gpus, gpuReason, err := r.startGPU(cfg)
	if err != nil {
		r.Close()
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	_, serr := scrape.Take(sctx, r.hc, r.endpoint)
	cancel()
	r.metrics = serr == nil
	r.results = report.Results{
		Schema: report.Schema, Start: time.Now(), End: time.Now(),
		Target: report.Target{URL: r.endpoint.BaseURL, Host: cfg.Host, Simulator: simulator},
		Model:  r.model, GitCommit: gitCommit(ctx), GPUs: gpus, GPUReason: gpuReason,
		Settings: report.Settings{MaxErrorRate: cfg.MaxErrorRate, SLOTTFTms: ms(cfg.SLOTTFT), SLOE2Ems: ms(cfg.SLOE2E),
			Baseline: cfg.Baseline, Tolerance: cfg.Tolerance, Compare: cfg.Compare,
			Repeats: cfg.Repeats, Alpha: cfg.Alpha, MaxCV: cfg.MaxCV, GateRequired: cfg.GateRequired},
		Payloads: map[string]report.Payload{},
		Cells:    []report.Cell{},
	}
	for _, name := range cfg.Payloads {
		p, _ := cfg.payloads.Get(name)
		r.results.Payloads[name] = report.Payload{MaxTokens: p.MaxTokens}
	}
	r.results.Stack = r.probeStack(ctx)
	if r.baseline != nil {
		r.results.BaselineStackDiffers = stack.Diff(r.baseline.Stack, r.results.Stack)
	}
	return r, r.write()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// waitReady polls /v1/models until it answers or ReadyTimeout passes.
func (r *Runner) waitReady(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		models, err := openai.ListModels(ctx, r.hc, r.endpoint)
		if err == nil {
			return models, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sweep: target %s not ready within %v (PERF_READY_TIMEOUT): last error: %w", r.endpoint.BaseURL, r.cfg.ReadyTimeout, err)
		case <-tick.C:
		}
	}
}

// gitCommit is the harness checkout's commit, "" outside a git checkout.
func gitCommit(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// probeStack records what is measured. The cluster is asked only for a
// real target: the embedded simulator runs in this process, whatever
// cluster a kubeconfig may point at.
func (r *Runner) probeStack(ctx context.Context) stack.Stack {
	s := stack.Stack{Model: r.model, URL: r.endpoint.BaseURL, Host: r.endpoint.Host, Route: openai.ChatPath(r.endpoint.BaseURL)}
	sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	if v, err := openai.ServerVersion(sctx, r.hc, r.endpoint); err == nil {
		s.ServerVersion = v
	} else {
		s.Notes = append(s.Notes, "server version unknown: "+err.Error())
	}
	if r.sim != nil {
		return s
	}
	v, controllers, err := stack.Kubernetes(ctx)
	s.Kubernetes, s.Controllers = v, controllers
	if err != nil {
		s.Notes = append(s.Notes, "cluster unknown: "+err.Error())
	}
	return s
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

// Model is the model requests are sent for.
func (r *Runner) Model() string { return r.model }

// Target is the base URL requests go to.
func (r *Runner) Target() string { return r.endpoint.BaseURL }

// startGPU opens the GPUs and starts sampling into gpu.csv. Without a GPU
// it returns the reason, or an error when the configuration requires one.
func (r *Runner) startGPU(cfg Config) ([]report.GPU, string, error) {
	src, err := nvml.Open(cfg.GPU)
	if err != nil {
		if cfg.RequireGPU || !errors.Is(err, gpu.ErrNoGPU) {
			return nil, "", fmt.Errorf("sweep: GPU (PERF_REQUIRE_GPU=%v): %w", cfg.RequireGPU, err)
		}
		return nil, err.Error(), nil
	}
	if err := os.MkdirAll(cfg.ReportDir, 0o755); err != nil {
		_ = src.Close()
		return nil, "", fmt.Errorf("sweep: %w", err)
	}
	f, err := os.Create(filepath.Join(cfg.ReportDir, report.FileGPUTimeline))
	if err != nil {
		_ = src.Close()
		return nil, "", fmt.Errorf("sweep: %w", err)
	}
	s, err := gpu.NewSampler(src, cfg.GPUInterval, gpu.NewTimeline(f))
	if err != nil {
		_ = src.Close()
		_ = f.Close()
		return nil, "", err
	}
	r.sampler, r.gpuFile = s, f
	s.Start(context.Background())
	return src.Devices(), "", nil
}

// Close stops GPU sampling and the embedded simulator.
func (r *Runner) Close() {
	if r.sampler != nil {
		_ = r.sampler.Stop()
		_ = r.gpuFile.Close()
		r.sampler = nil
	}
	if r.sim != nil {
		_ = r.sim.Close()
		r.sim = nil
	}
}

// measure runs the cell once and converts it. The server's counters and
// the GPU window are opened after the warm-up (cell.Spec.AfterWarmup), so
// they cover the measured requests only.
func (r *Runner) measure(ctx context.Context, c Cell, name string) (report.Cell, load.Summary, error) {
	var before scrape.Snapshot
	beforeErr := errors.New("not scraped")
	var began time.Time
	var cpu0 time.Duration
	var gc0 uint64
	prog := newProgress(r.progress, name, c.Plan)
	opened := false
	spec := cell.Spec{
		Target:  cell.Target{Endpoint: r.endpoint, Model: r.model, Timeout: r.cfg.Timeout},
		Payload: c.Payload, Plan: c.Plan,
		SLO:     stats.SLO{TTFT: r.cfg.SLOTTFT, E2E: r.cfg.SLOE2E},
		Observe: prog,
		AfterWarmup: func(ctx context.Context) {
			if r.metrics {
				sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
				before, beforeErr = scrape.Take(sctx, r.hc, r.endpoint)
				cancel()
			}
			if r.sampler != nil {
				r.sampler.BeginCell(name)
			}
			opened = true
			began, cpu0, gc0 = time.Now(), processCPU(), gcPauseNs()
			prog.start()
		},
	}
	res, err := cell.Run(ctx, spec, r.cfg.payloads)
	var wall, cpu, gcPause time.Duration
	if opened {
		prog.stop()
		wall, cpu, gcPause = time.Since(began), processCPU()-cpu0, time.Duration(gcPauseNs()-gc0)
	}
	var gs *gpu.CellStats
	if r.sampler != nil && opened {
		st := r.sampler.EndCell()
		gs = &st
	}
	if err != nil {
		return report.Cell{}, load.Summary{}, err
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
	rc := report.NewCell(c.Payload, c.Plan, res.Stats, server)
	lc := report.CheckLoad(report.LoadInput{Open: c.Plan.Mode() == load.Open, OfferedRPS: c.Plan.Rate, Requests: res.Stats.Requests,
		StartSpan: res.Stats.StartSpan, LagP99: res.Stats.Queue.P99, CapReached: res.Summary.CapReached, MaxInFlight: c.Plan.Concurrency(),
		Wall: wall, CPU: cpu, Cores: runtime.GOMAXPROCS(0), GCPause: gcPause, Simulator: r.sim != nil})
	rc.LoadCheck = &lc
	if gs != nil {
		if tokens := res.Stats.OutputTokens; tokens > 0 {
			gs.JoulesPerToken = math.Round(gs.EnergyJ/float64(tokens)*1e4) / 1e4
		}
		b, err := json.Marshal(gs)
		if err != nil {
			return report.Cell{}, load.Summary{}, fmt.Errorf("sweep: gpu figures: %w", err)
		}
		rc.GPU = b
	}
	return rc, res.Summary, nil
}

// RunCell runs one repeat of a cell. Until the cell's last repeat it only
// keeps the measurement (final false, no verdict); the last repeat combines
// them (report.Combine), judges the cell, gates it against the baseline,
// records it and rewrites the report files. An error is returned only when
// the repeat could not run at all.
func (r *Runner) RunCell(ctx context.Context, c Cell) (rc report.Cell, final bool, err error) {
	name := c.Name()
	if r.sim != nil {
		r.sim.Server.NewRun() // the simulator's run-to-run noise, when configured
	}
	one, sum, err := r.measure(ctx, c, c.SpecName())
	if err != nil {
		return report.Cell{}, false, err
	}
	r.mu.Lock()
	runs := append(r.pending[name], one)
	r.pending[name] = runs
	r.mu.Unlock()
	if sum.Stopped {
		rc = report.Combine(runs)
		rc.Verdict = report.Interrupted
		rc.Reasons = append(rc.Reasons, fmt.Sprintf("interrupted in repeat %d of %d: %d requests of it finished, %d were cut off", c.Repeat, c.Of, sum.Recorded, sum.Interrupted))
		r.record(name, rc, true)
		return rc, true, r.write()
	}
	if !c.Last() {
		return one, false, nil
	}
	rc = report.Combine(runs)
	r.judge(&rc)
	if base := r.baselineCell(rc); base != nil {
		cmp := report.Compare(*base, rc, r.cfg.Gate())
		rc.Baseline = &cmp
		rc.Reasons = append(rc.Reasons, cmp.Reasons(r.cfg.Gate())...)
		if cmp.Inconclusive != "" && r.cfg.GateRequired {
			rc.Reasons = append(rc.Reasons, "PERF_GATE_REQUIRED: "+cmp.Inconclusive)
		}
	}
	if r.compare != nil {
		if o := r.compare.Find(rc.Key()); o != nil {
			h := o.Headline()
			rc.Compared = &h
			rc.Differences = report.Differences(*o, rc, r.cfg.Alpha)
		}
	}
	if lc := rc.LoadCheck; lc != nil && lc.Verdict != report.LoadOK && r.cfg.StrictLoad {
		rc.Reasons = append(rc.Reasons, "PERF_STRICT_LOAD: "+lc.Reason)
	}
	rc.Verdict = report.Pass
	if len(rc.Reasons) > 0 {
		rc.Verdict = report.Fail
	}
	r.record(name, rc, false)
	return rc, true, r.write()
}

// judge adds the reasons the cell fails on its own: errors and SLOs.
func (r *Runner) judge(c *report.Cell) {
	if c.Requests == 0 {
		c.Reasons = append(c.Reasons, "no request was sent")
	}
	if er := c.ErrorRate(); er > r.cfg.MaxErrorRate {
		var parts []string
		for _, k := range c.ErrorClasses() {
			parts = append(parts, fmt.Sprintf("%d %s", c.Errors[k], k))
		}
		c.Reasons = append(c.Reasons, fmt.Sprintf("error rate %.1f%% > allowed %g%% (%s)", er*100, r.cfg.MaxErrorRate*100, strings.Join(parts, ", ")))
	}
	if r.cfg.SLOTTFT > 0 && c.TTFT.P95 > ms(r.cfg.SLOTTFT) {
		c.Reasons = append(c.Reasons, fmt.Sprintf("p95 TTFT %.1f ms > SLO %g ms", c.TTFT.P95, ms(r.cfg.SLOTTFT)))
	}
	if r.cfg.SLOE2E > 0 && c.E2E.P95 > ms(r.cfg.SLOE2E) {
		c.Reasons = append(c.Reasons, fmt.Sprintf("p95 E2E %.1f ms > SLO %g ms", c.E2E.P95, ms(r.cfg.SLOE2E)))
	}
}

func (r *Runner) baselineCell(c report.Cell) *report.Cell {
	if r.baseline == nil {
		return nil
	}
	return r.baseline.Find(c.Key())
}

func (r *Runner) record(name string, c report.Cell, interrupted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.pending, name)
	r.results.Cells = append(r.results.Cells, c)
	r.results.Interrupted = r.results.Interrupted || interrupted
	r.results.End = time.Now()
}

// MarkInterrupted records that the sweep stopped before its last cell
// (called when the suite ends early) and rewrites the reports. Cells whose
// repeats did not all run are kept with the repeats they have, marked
// interrupted.
func (r *Runner) MarkInterrupted() error {
	r.mu.Lock()
	for _, name := range slices.Sorted(maps.Keys(r.pending)) {
		c := report.Combine(r.pending[name])
		c.Verdict = report.Interrupted
		c.Reasons = append(c.Reasons, fmt.Sprintf("interrupted: %d of %d repeats ran", len(r.pending[name]), r.cfg.Repeats))
		r.results.Cells = append(r.results.Cells, c)
	}
	clear(r.pending)
	r.results.Interrupted = true
	r.results.End = time.Now()
	r.mu.Unlock()
	return r.write()
}

// Results returns a copy of the results so far.
func (r *Runner) Results() report.Results {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.results
	c.Cells = append([]report.Cell(nil), r.results.Cells...)
	return c
}

// write rewrites every report file.
func (r *Runner) write() error {
	res := r.Results()
	if err := res.WriteAll(r.cfg.ReportDir); err != nil {
		return fmt.Errorf("sweep: reports: %w", err)
	}
	return nil
}
