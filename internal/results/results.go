// Package results is the results.json contract (schema 6, documented in
// docs/results-schema.md): a run, its cells and each cell's repeats, and
// how they are filled (NewCell from one measurement's figures, Combine over
// a cell's repeats: medians, intervals, CVs), written (Marshal, WriteFile:
// atomic) and read back (Load, Parse: schemas 1 to 6). Every field of the
// file is declared here; the gate (package gate) and the renderers
// (package report) take these values and add nothing to the file's shape.
package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/record"
)

// Schema is the results.json schema version this package writes. Parse
// reads it and every earlier one (Schemas).
const Schema = 8

// Schemas are the versions Parse reads. Schema 1 had no repeats: each of
// its cells reads as one repeat. Schemas 1 and 2 always streamed, and wrote
// 0 for a server metric the target did not expose. Schema 4 added capacity;
// schema 5 each distribution's sample size and unsupported percentiles;
// schema 6 the route kind, the gate's mode, the history gate's comparison
// and pool, and each gated metric's detectable change; schema 7 the
// distributed sweep's workers (settings.workers, each cell's
// load_check.workers and clock offset); schema 8 where GPU figures came
// from (NVML or a DCGM exporter), their reading interval and count.
var Schemas = []int{1, 2, 3, 4, 5, 6, 7, 8}

// Verdicts of a cell.
const (
	Pass        = "pass"
	Fail        = "fail"
	Interrupted = "interrupted"
)

// Run is results.json.
type Run struct {
	Schema int        `json:"schema"`
	Start  time.Time  `json:"start"`
	End    time.Time  `json:"end"`
	Target TargetInfo `json:"target"`
	Model  string     `json:"model"`
	// Stack is what was measured: server version, model, address, route,
	// and the cluster's Kubernetes version and controllers when known.
	Stack Stack `json:"stack"`
	// BaselineStackDiffers names what differs from the baseline's stack
	// ("server_version: 0.11.0 -> 0.11.1"); absent when nothing does.
	BaselineStackDiffers []string `json:"baseline_stack_differs,omitempty"`
	// GitCommit is the commit the harness was built from ("" when unknown);
	// GitDirty says its tree had uncommitted changes.
	GitCommit string `json:"git_commit"`
	GitDirty  bool   `json:"git_dirty"`
	// GPUs is null when no GPU was sampled; GPUReason says why.
	GPUs      []GPU  `json:"gpus"`
	GPUReason string `json:"gpu_reason,omitempty"`
	// Settings are the thresholds the verdicts were judged by.
	Settings Settings `json:"settings"`
	// Payloads maps each payload name to its output length.
	Payloads map[string]PayloadInfo `json:"payloads"`
	// Interrupted is set when the sweep stopped before its last cell.
	Interrupted bool   `json:"interrupted"`
	Cells       []Cell `json:"cells"`
	// Capacity is each payload's capacity search (PERF_SEARCH); absent
	// from a sweep.
	Capacity map[string]Capacity `json:"capacity,omitempty"`
}

// TargetInfo says what was measured.
type TargetInfo struct {
	URL  string `json:"url"`
	Host string `json:"host,omitempty"`
	// Simulator names the embedded simulator's preset when the target was
	// the embedded simulator, "" otherwise.
	Simulator string `json:"simulator,omitempty"`
}

// Headline are the headline figures of a cell, for a side-by-side.
type Headline struct {
	TTFTp50 float64 `json:"ttft_p50_ms"`
	ITLp50  float64 `json:"itl_p50_ms"`
	E2Ep50  float64 `json:"e2e_p50_ms"`
	E2Ep95  float64 `json:"e2e_p95_ms"`
	RPS     float64 `json:"rps"`
}

// Headline returns c's Figures.
func (c Cell) Headline() Headline {
	return Headline{TTFTp50: c.TTFT.P50, ITLp50: c.ITL.P50, E2Ep50: c.E2E.P50, E2Ep95: c.E2E.P95, RPS: c.RPS}
}

// PayloadInfo describes a payload of the run.
type PayloadInfo struct {
	MaxTokens int `json:"max_tokens"`
	// InputTokens is the prompt's length when the payload sized it
	// (input_tokens); InputNote says how it was sized when not exactly
	// through the target's /tokenize (estimated, or inexact).
	InputTokens int    `json:"input_tokens,omitempty"`
	InputNote   string `json:"input_note,omitempty"`
	// InputDistribution describes drawn input lengths, e.g. "uniform
	// 256–1024 (32 prompts, seed 1)".
	InputDistribution string `json:"input_distribution,omitempty"`
	// PrefixTokens and PrefixGroups are the payload's shared prefixes.
	PrefixTokens int `json:"prefix_tokens,omitempty"`
	PrefixGroups int `json:"prefix_groups,omitempty"`
	// TraceRequests is the number of requests of a replayed trace, whose
	// input and output lengths are each request's own.
	TraceRequests int `json:"trace_requests,omitempty"`
	// TraceFormat is the replayed trace's format (mooncake, azure,
	// burstgpt) and TraceFit how requests over the model's window were
	// fitted (PERF_TRACE_FIT) to MaxModelLen, the window (0: unknown);
	// schema 6 on.
	TraceFormat string `json:"trace_format,omitempty"`
	TraceFit    string `json:"trace_fit,omitempty"`
	MaxModelLen int    `json:"max_model_len,omitempty"`
}

// Settings are the run's thresholds.
type Settings struct {
	MaxErrorRate float64 `json:"max_error_rate"`
	SLOTTFTms    float64 `json:"slo_ttft_ms,omitempty"`
	SLOE2Ems     float64 `json:"slo_e2e_ms,omitempty"`
	Baseline     string  `json:"baseline,omitempty"`
	Tolerance    float64 `json:"tolerance"`
	// Compare names a run shown side by side (PERF_COMPARE).
	Compare string `json:"compare,omitempty"`
	// Repeats is how many times each cell was measured (PERF_REPEATS).
	Repeats int `json:"repeats"`
	// Alpha is the gate's significance level (PERF_ALPHA).
	Alpha float64 `json:"alpha"`
	// MaxCV is the coefficient of variation beyond which a metric is too
	// noisy to gate on (PERF_MAX_CV).
	MaxCV float64 `json:"max_cv"`
	// GateRequired fails a cell whose gate is inconclusive
	// (PERF_GATE_REQUIRED).
	GateRequired bool `json:"gate_required"`
	// Stream says requests were streamed (PERF_STREAM); without it TTFT is
	// the whole response's time.
	Stream bool `json:"stream"`
	// K6Variables are the k6 variables the run took, with their values.
	K6Variables map[string]string `json:"k6_variables,omitempty"`
	// CAFile and InsecureSkipVerify are an https target's trust.
	CAFile             string `json:"ca_file,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
	// History is the run history's folder (PERF_HISTORY), with the history
	// gate's and change points' settings; absent without one.
	History               string  `json:"history,omitempty"`
	HistoryMinRuns        int     `json:"history_min_runs,omitempty"`
	ChangepointMinSegment int     `json:"changepoint_min_segment,omitempty"`
	ChangepointAlpha      float64 `json:"changepoint_alpha,omitempty"`
	// Workers is how many worker pods drove the sweep (PERF_WORKERS) and
	// WorkerImage their image; absent when the harness drove it itself.
	Workers     int    `json:"workers,omitempty"`
	WorkerImage string `json:"worker_image,omitempty"`
}

// Dist is a latency distribution in milliseconds.
type Dist struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
	// N is how many values each repeat's percentiles were taken from (the
	// smallest repeat's count); 0 before schema 5.
	N int64 `json:"n,omitempty"`
	// Unsupported lists the percentiles (p90, p95, p99) that N is too small
	// for (MinSamples); absent when N supports them all, and before schema 5.
	Unsupported []string `json:"unsupported,omitempty"`
}

// Cell is one cell of the sweep.
type Cell struct {
	Payload     string           `json:"payload"`
	Concurrency int              `json:"concurrency"`
	Mode        string           `json:"mode"`
	Rate        float64          `json:"rate"`
	Requests    int64            `json:"requests"`
	Successes   int64            `json:"successes"`
	Errors      map[string]int64 `json:"errors"`
	DurationS   float64          `json:"duration_s"`
	RPS         float64          `json:"rps"`
	OutputTokS  float64          `json:"output_tokens_per_s"`
	TTFT        Dist             `json:"ttft_ms"`
	ITL         Dist             `json:"itl_ms"`
	TPOT        Dist             `json:"tpot_ms"`
	E2E         Dist             `json:"e2e_ms"`
	GoodputRPS  float64          `json:"goodput_rps"`
	// InputTokensMean is the successful requests' mean usage.prompt_tokens
	// (0 when the target reported no usage); PromptMismatches counts those
	// whose prompt, sized to an exact count, came back another.
	InputTokensMean  float64 `json:"input_tokens_mean"`
	PromptMismatches int64   `json:"prompt_mismatches,omitempty"`
	// Open loop only (absent in closed loop): how late requests started
	// against the schedule, and TTFT and E2E measured from the intended
	// start (response time) beside ttft_ms and e2e_ms (service time, from
	// the actual start).
	Queue        *Dist `json:"queue_ms,omitempty"`
	ResponseTTFT *Dist `json:"response_ttft_ms,omitempty"`
	ResponseE2E  *Dist `json:"response_e2e_ms,omitempty"`
	// RecoveryS is the longest the target took to recover from failures
	// (stats.Figures.Recovery), 0 when none.
	RecoveryS float64 `json:"recovery_s"`
	// LoadCheck says whether the applied load matched the plan (of the
	// first repeat where it did not, else of the median repeat); null for
	// a cell read from schema 1.
	LoadCheck *LoadCheck `json:"load_check"`
	// Repeats holds every repeat's run-level figures, in the order they
	// ran; the figures above are their medians (Combine).
	Repeats []Repeat `json:"repeats"`
	// Stats summarises each gated metric over the repeats: median, its
	// confidence interval and level, and the coefficient of variation.
	Stats map[string]Summary `json:"stats"`
	// GPU is the cell's GPU figures; null until GPU sampling fills it.
	GPU *GPUWindow `json:"gpu"`
	// Server is what the target's /metrics counted during the cell; null
	// when it exposes none.
	Server *ServerDelta `json:"server"`
	// EarlyStop says why the cell was stopped before its plan ended
	// (PERF_STOP_EARLY): it could only fail. Absent when it ran to the end.
	EarlyStop *EarlyStop `json:"early_stop,omitempty"`
	// Baseline is the comparison with the stored run; null without one.
	Baseline *Comparison `json:"baseline"`
	// History is the comparison with the run history (PERF_HISTORY); absent
	// without one.
	History *Comparison `json:"history,omitempty"`
	// Compared holds the same cell's figures from the run named by
	// settings.compare (e.g. direct to the backend, when this run went
	// through the ingress); null without one.
	Compared *Headline `json:"compared,omitempty"`
	// Differences test this run's repeats against the compared run's,
	// figure by figure; absent without settings.compare.
	Differences []Difference `json:"differences,omitempty"`
	Verdict     string       `json:"verdict"`
	Reasons     []string     `json:"reasons"`
}

// Key identifies a cell across runs.
func (c Cell) Key() string {
	if c.Mode == string(load.Open) {
		return fmt.Sprintf("%s/open/%g", c.Payload, c.Rate)
	}
	return fmt.Sprintf("%s/closed/%d", c.Payload, c.Concurrency)
}

// Name is the cell's human name, e.g. "long, 8 VUs" or "short, 4 req/s".
func (c Cell) Name() string {
	if c.Mode == string(load.Open) {
		return fmt.Sprintf("%s, %g req/s", c.Payload, c.Rate)
	}
	return c.Payload + ", " + load.VUs(c.Concurrency)
}

// Millis is d in milliseconds, as results.json writes durations.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// dist converts a latency distribution, to the microsecond (the HDR
// histograms' unit; a mean would otherwise carry nanoseconds).
func dist(d aggregate.Latency) Dist {
	us := func(d time.Duration) float64 { return Millis(d.Truncate(time.Microsecond)) }
	return Dist{P50: us(d.P50), P90: us(d.P90), P95: us(d.P95), P99: us(d.P99), Mean: us(d.Mean), Max: us(d.Max), N: d.Count}.FlagSupport()
}

// Round3 keeps three decimals: results.json is read by people too.
func Round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// NewCell converts a measured cell. Verdict and reasons are the caller's.
func NewCell(payload string, p load.Plan, s aggregate.Figures, server *ServerDelta) Cell {
	c := Cell{
		Payload:          payload,
		Concurrency:      p.Concurrency(),
		Mode:             string(p.Mode()),
		Rate:             p.Rate,
		Requests:         s.Requests,
		Successes:        s.Successes,
		Errors:           map[string]int64{},
		DurationS:        Round3(s.Duration.Seconds()),
		RPS:              Round3(s.RPS),
		OutputTokS:       Round3(s.OutputTokensPerS),
		TTFT:             dist(s.TTFT),
		ITL:              dist(s.ITL),
		TPOT:             dist(s.TPOT),
		E2E:              dist(s.E2E),
		GoodputRPS:       Round3(s.GoodputRPS),
		RecoveryS:        Round3(s.Recovery.Seconds()),
		PromptMismatches: s.PromptMismatches,
		Server:           server,
		Reasons:          []string{},
	}
	for k, v := range s.Errors {
		c.Errors[string(k)] = v
	}
	if s.Successes > 0 {
		c.InputTokensMean = Round3(float64(s.PromptTokens) / float64(s.Successes))
	}
	if p.Mode() == load.Open {
		q, t, e := dist(s.Queue), dist(s.ResponseTTFT), dist(s.ResponseE2E)
		c.Queue, c.ResponseTTFT, c.ResponseE2E = &q, &t, &e
	}
	c.Repeats = []Repeat{c.run()}
	c.summarize()
	return c
}

// ErrorRate is the failed fraction of the cell's requests.
func (c Cell) ErrorRate() float64 {
	if c.Requests == 0 {
		return 0
	}
	return float64(c.Requests-c.Successes) / float64(c.Requests)
}

// ErrorClasses lists the cell's error classes: known ones in the order of
// record.Classes, then any others (from a newer writer) sorted.
func (c Cell) ErrorClasses() []string {
	var known, other []string
	seen := map[string]bool{}
	for _, k := range record.Classes {
		seen[string(k)] = true
		if c.Errors[string(k)] > 0 {
			known = append(known, string(k))
		}
	}
	for k, n := range c.Errors {
		if !seen[k] && n > 0 {
			other = append(other, k)
		}
	}
	sort.Strings(other)
	return append(known, other...)
}

// Marshal encodes r as indented JSON with a trailing newline.
func (r *Run) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("report: encode results: %w", err)
	}
	return append(b, '\n'), nil
}

// WriteFile writes data to path atomically (a temporary file in the same
// folder, then a rename), so a crash never leaves half a file.
func WriteFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// Load reads a results.json, checking its schema.
func Load(path string) (*Run, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: baseline: %w", err)
	}
	r, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return r, nil
}

// Parse decodes a results.json document, checking its schema.
func Parse(b []byte) (*Run, error) {
	var r Run
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil {
		return nil, err
	}
	if !slices.Contains(Schemas, r.Schema) {
		return nil, fmt.Errorf("schema %d, this harness reads schemas %v", r.Schema, Schemas)
	}
	for i := range r.Cells {
		if c := &r.Cells[i]; len(c.Repeats) == 0 {
			c.Repeats = []Repeat{c.run()} // schema 1: the cell is its one repeat
			c.summarize()
		}
	}
	if r.Settings.Repeats == 0 {
		r.Settings.Repeats = 1
	}
	if r.Schema < 3 {
		r.Settings.Stream = true // before PERF_STREAM every request streamed
	}
	for i := range r.Cells {
		if b := r.Cells[i].Baseline; b != nil && b.Mode == "" {
			b.Mode = ModeBaseline // before schema 6 the baseline was the one mode
		}
	}
	return &r, nil
}

// Find returns the cell with key k, or nil.
func (r *Run) Find(k string) *Cell {
	for i := range r.Cells {
		if r.Cells[i].Key() == k {
			return &r.Cells[i]
		}
	}
	return nil
}
