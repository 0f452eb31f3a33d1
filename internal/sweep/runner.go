package sweep

import (
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/pace"
	"github.com/llm-platform/harness/internal/provenance"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/target"
)

// Runner runs a sweep's cells and keeps its report files current: they are
// rewritten after every cell, so an interrupted or killed sweep leaves the
// reports of every cell it finished.
type Runner struct {
	cfg      Config
	target   *target.Target
	progress io.Writer // nil: no live line
	onProbe  func(capacity.Probe)

	// estimate is the sweep's estimated duration and estimates the repeat
	// names (SpecName) to their share of it.
	estimate  Estimate
	estimates map[string]time.Duration
	// noEstimate says why there is none, when the probe failed.
	noEstimate string
	// replay is the trace cell as fitted to the model's window at Start
	// (the schedule the perf suite built before the window was known
	// may have more requests); nil without a trace.
	replay *Cell

	mu      sync.Mutex // guards results, pending and estimated
	results results.Run
	// estimated is the estimate of the repeats finished so far.
	estimated time.Duration
	// pending holds the finished repeats of cells whose last repeat has
	// not run yet, by cell name.
	pending map[string][]results.Cell
}

// Start opens the target (package target: the embedded simulator when none
// is configured, its readiness, model, GPUs), sizes the payloads' prompts
// for it, records the stack and times its pace for the estimate. On an
// error nothing is left open. progress, when not nil, gets a live line per
// running cell.
func Start(ctx context.Context, cfg Config, progress io.Writer) (r *Runner, err error) {
	opts, err := cfg.targetOptions()
	if err != nil {
		return nil, err
	}
	r = &Runner{cfg: cfg, progress: progress, pending: map[string][]results.Cell{}}
	if !cfg.Progress {
		r.progress = nil
	}
	if r.target, err = target.Open(ctx, opts); err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	defer func() {
		if err != nil {
			r.Close()
			r = nil
		}
	}()
	r.results = r.newRun(ctx)
	payloads := target.Selection{Set: cfg.PayloadSet, Names: cfg.Payloads}
	if cfg.Replay != nil {
		payloads = target.Selection{Set: cfg.PayloadSet, Replay: cfg.Replay, ReplayName: cfg.TracePayload(), BlockTokens: cfg.TraceBlockTokens,
			Fit: cfg.TraceFit, Window: cfg.MaxModelLen, ReplayNote: cfg.ReplayNotes.Skips(), Format: cfg.ReplayNotes.Format}
	}
	if r.results.Payloads, err = r.target.Prepare(ctx, payloads); err != nil {
		return r, fmt.Errorf("sweep: %w", err)
	}
	if cfg.Replay != nil {
		r.cfg.Replay = r.target.Replay // as fitted: what the estimate and RunCell use
		fitted := r.cfg.traceCell()
		r.replay = &fitted
	}
	r.results.Stack = r.target.Stack(ctx)
	r.results.Stack.RouteKind = cfg.RouteKind
	if cfg.BaselineRun != nil {
		r.results.BaselineStackDiffers = results.StackDiff(cfg.BaselineRun.Stack, r.results.Stack)
	}
	if cfg.Search == "" {
		r.estimateSchedule(ctx)
	}
	return r, r.write()
}

// targetOptions are the settings of the target to open.
func (c Config) targetOptions() (target.Options, error) {
	o := target.Options{URL: c.Target, Host: c.Host, Model: c.Model, APIKey: c.APIKey, TLS: c.TLS,
		ReadyTimeout: c.ReadyTimeout, GPU: c.GPU, GPUInterval: c.GPUInterval, RequireGPU: c.RequireGPU, GPUSource: c.GPUSource, DCGM: c.OpenDCGM,
		GPUTimeline: filepath.Join(c.ReportDir, report.FileGPUTimeline)}
	if c.Target != "" {
		return o, nil
	}
	sc, err := c.SimConfig()
	o.Sim, o.SimPreset = sc, c.SimPreset
	return o, err
}

// newRun is the results of a run that has measured nothing yet.
func (r *Runner) newRun(ctx context.Context) results.Run {
	cfg, t := r.cfg, r.target
	build := provenance.Harness(ctx)
	run := results.Run{
		Schema: results.Schema, Start: time.Now(), End: time.Now(),
		Target: results.TargetInfo{URL: t.Endpoint.BaseURL, Host: cfg.Host, Simulator: t.Simulator},
		Model:  t.Model, GitCommit: build.Commit, GitDirty: build.Dirty, GPUs: t.GPUs, GPUReason: t.GPUReason,
		Settings: results.Settings{MaxErrorRate: cfg.MaxErrorRate, SLOTTFTms: results.Millis(cfg.SLOTTFT), SLOE2Ems: results.Millis(cfg.SLOE2E),
			Baseline: cfg.Baseline, Tolerance: cfg.Tolerance, Compare: cfg.Compare,
			Repeats: cfg.Repeats, Alpha: cfg.Alpha, MaxCV: cfg.MaxCV, GateRequired: cfg.GateRequired,
			Stream: cfg.Stream, K6Variables: cfg.K6, CAFile: cfg.CAFile, InsecureSkipVerify: cfg.InsecureSkipVerify},
		Payloads: map[string]results.PayloadInfo{},
		Cells:    []results.Cell{},
	}
	if cfg.Driver != nil {
		run.Settings.Workers, run.Settings.WorkerImage = cfg.Workers.N, cfg.Workers.Image
	}
	if cfg.Past != nil {
		run.Settings.History, run.Settings.HistoryMinRuns = cfg.History, cfg.HistoryMinRuns
		run.Settings.ChangepointMinSegment, run.Settings.ChangepointAlpha = cfg.ChangepointMinSegment, cfg.ChangepointAlpha
	}
	return run
}

// estimateSchedule times the target's pace and estimates the schedule at
// it. A target that fails the probe still gets its sweep (its errors are
// what the report is for); it only goes without an estimate.
func (r *Runner) estimateSchedule(ctx context.Context) {
	repeats := r.cfg.Schedule()
	most := 1
	for _, t := range repeats {
		most = max(most, t.Plan.VUs)
	}
	p, err := pace.MeasureUnderLoad(ctx, r.target.PaceProbe, most)
	if err != nil {
		r.noEstimate = "sweep: " + err.Error()
		return
	}
	r.estimate = EstimateSchedule(repeats, func(name string) int { return r.target.Payloads[name].MaxTokens }, p)
	r.estimates = map[string]time.Duration{}
	for i, t := range repeats {
		r.estimates[t.SpecName()] = r.estimate.Repeats[i]
	}
}

// Model is the model requests are sent for.
func (r *Runner) Model() string { return r.target.Model }

// Target is the base URL requests go to.
func (r *Runner) Target() string { return r.target.Endpoint.BaseURL }

// Close stops GPU sampling and the embedded simulator.
func (r *Runner) Close() { r.target.Close() }

// RunCell runs one repeat of a cell. Until the cell's last repeat it only
// keeps the measurement (final false, no verdict); the last repeat combines
// them (results.Combine), judges the cell, gates it against the baseline,
// records it and rewrites the report files. An error is returned only when
// the repeat could not run at all.
func (r *Runner) RunCell(ctx context.Context, c Repeat) (rc results.Cell, final bool, err error) {
	if r.replay != nil && c.Payload == r.replay.Payload {
		c.Plan = r.replay.Plan
	}
	name := c.Name()
	r.target.NewRun() // the simulator's run-to-run noise, when configured
	one, sum, err := r.measure(ctx, c, c.SpecName())
	if err != nil {
		return results.Cell{}, false, err
	}
	r.mu.Lock()
	r.estimated += r.estimates[c.SpecName()]
	runs := append(r.pending[name], one)
	r.pending[name] = runs
	r.mu.Unlock()
	if sum.Stopped { // the suite is stopping (an early stop is the cell's own, and judged)
		rc = results.Combine(runs)
		rc.Verdict = results.Interrupted
		rc.Reasons = append(rc.Reasons, fmt.Sprintf("interrupted in repeat %d of %d: %d requests of it finished, %d were cut off", c.N, c.Of, sum.Recorded, sum.Interrupted))
		r.record(name, rc, true)
		return rc, true, r.write()
	}
	if !c.Last() {
		return one, false, nil
	}
	rc = results.Combine(runs)
	if r.cfg.CompareRun != nil {
		if o := r.cfg.CompareRun.Find(rc.Key()); o != nil {
			h := o.Headline()
			rc.Compared = &h
			rc.Differences = gate.Differences(*o, rc, r.cfg.Alpha)
		}
	}
	r.judge(&rc)
	r.record(name, rc, false)
	if r.cfg.OnCell != nil {
		run := r.Results()
		r.cfg.OnCell(&run, rc)
	}
	return rc, true, r.write()
}

func (r *Runner) record(name string, c results.Cell, interrupted bool) {
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
		c := results.Combine(r.pending[name])
		c.Verdict = results.Interrupted
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
func (r *Runner) Results() results.Run {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.results
	c.Cells = append([]results.Cell(nil), r.results.Cells...)
	return c
}

// write rewrites every report file.
func (r *Runner) write() error {
	res := r.Results()
	if err := report.WriteAll(&res, r.cfg.ReportDir); err != nil {
		return fmt.Errorf("sweep: reports: %w", err)
	}
	return nil
}

// Finish closes a sweep that ran to its end. With PERF_HISTORY it appends
// the run to the history and writes trend.md (and its charts) into the
// report folder; it returns the history file's name ("" without one). An
// interrupted sweep is not a night's figures: MarkInterrupted, not Finish.
func (r *Runner) Finish() (string, error) {
	h := r.cfg.Past
	if h == nil {
		return "", nil
	}
	res := r.Results()
	name, err := h.Append(&res)
	if err != nil {
		return "", fmt.Errorf("sweep: PERF_HISTORY: %w", err)
	}
	if err := report.WriteTrend(h, r.cfg.HistoryLevels(), r.cfg.ReportDir); err != nil {
		return name, fmt.Errorf("sweep: trend: %w", err)
	}
	return name, nil
}
