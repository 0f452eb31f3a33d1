package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llm-platform/harness/fixtures"
	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/promptlen"
	"github.com/llm-platform/harness/internal/provenance"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/scrape"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/stackprobe"
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
	baseline *results.Run
	compare  *results.Run
	metrics  bool // the target exposes vLLM metrics
	hc       *http.Client
	progress io.Writer    // nil: no live line
	sampler  *gpu.Sampler // nil without a GPU
	gpuFile  *os.File
	onProbe  func(capacity.Probe)
	// payloads are the configured payloads with their prompts sized
	// (input_tokens) for this target.
	payloads payload.Set

	// estimate is the sweep's estimated duration and estimates the repeat
	// names (SpecName) to their share of it.
	estimate  Estimate
	estimates map[string]time.Duration
	// noEstimate says why there is none, when the probe failed.
	noEstimate string

	mu      sync.Mutex // guards results, pending and estimated
	results results.Run
	// estimated is the estimate of the repeats finished so far.
	estimated time.Duration
	// pending holds the finished repeats of cells whose last repeat has
	// not run yet, by cell name.
	pending map[string][]results.Cell
}

// Start resolves the target (starting the embedded simulator when none is
// configured), waits for it to serve /v1/models, picks the model, and loads
// the baseline. progress, when not nil, gets a live line per running cell.
func Start(ctx context.Context, cfg Config, progress io.Writer) (*Runner, error) {
	tlsConfig, err := cfg.TLS()
	if err != nil {
		return nil, fmt.Errorf("sweep: PERF_CA_FILE: %w", err)
	}
	r := &Runner{cfg: cfg, progress: progress, pending: map[string][]results.Cell{}}
	if !cfg.Progress {
		r.progress = nil
	}
	r.endpoint = openai.Endpoint{BaseURL: cfg.Target, Host: cfg.Host, APIKey: cfg.APIKey, TLS: tlsConfig}
	r.hc = r.endpoint.HTTPClient(scrapeTimeout)
	simulator := ""
	if cfg.Target == "" {
		preset, err := sim.Preset(cfg.SimPreset)
		if err != nil {
			return nil, err
		}
		preset.RunCV, preset.Slowdown = cfg.SimRunCV, cfg.SimSlowdown
		if cfg.SimMaxNumSeqs > 0 {
			preset.MaxNumSeqs = cfg.SimMaxNumSeqs
		}
		if cfg.SimKVCacheTokens > 0 {
			preset.KVCacheTokens = cfg.SimKVCacheTokens
		}
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
		if r.baseline, err = results.Load(cfg.Baseline); err != nil {
			r.Close()
			return nil, err
		}
	}
	if cfg.Compare != "" {
		if r.compare, err = results.Load(cfg.Compare); err != nil {
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
	build := provenance.Harness(ctx)
	r.results = results.Run{
		Schema: results.Schema, Start: time.Now(), End: time.Now(),
		Target: results.Target{URL: r.endpoint.BaseURL, Host: cfg.Host, Simulator: simulator},
		Model:  r.model, GitCommit: build.Commit, GitDirty: build.Dirty, GPUs: gpus, GPUReason: gpuReason,
		Settings: results.Settings{MaxErrorRate: cfg.MaxErrorRate, SLOTTFTms: ms(cfg.SLOTTFT), SLOE2Ems: ms(cfg.SLOE2E),
			Baseline: cfg.Baseline, Tolerance: cfg.Tolerance, Compare: cfg.Compare,
			Repeats: cfg.Repeats, Alpha: cfg.Alpha, MaxCV: cfg.MaxCV, GateRequired: cfg.GateRequired,
			Stream: cfg.Stream, K6Variables: cfg.K6, CAFile: cfg.CAFile, InsecureSkipVerify: cfg.InsecureSkipVerify},
		Payloads: map[string]results.PayloadInfo{},
		Cells:    []results.Cell{},
	}
	r.payloads = maps.Clone(cfg.payloads)
	names := cfg.Payloads
	if cfg.trace != nil {
		names = nil // the trace's own prompts replace the payloads
		tp, note, err := r.tracePayload(ctx)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("sweep: PERF_TRACE: %w", err)
		}
		r.payloads[tp.Name] = tp
		r.results.Payloads[tp.Name] = results.PayloadInfo{MaxTokens: tp.MaxTokens, InputNote: note, TraceRequests: len(tp.Prompts)}
	}
	for _, name := range names {
		p, _ := cfg.payloads.Get(name)
		rp := results.PayloadInfo{MaxTokens: p.MaxTokens}
		if p.InputTokens.IsSet() || p.PrefixGroups > 0 {
			fitted, note, err := r.sizePrompts(ctx, p)
			if err != nil {
				r.Close()
				return nil, fmt.Errorf("sweep: payload %s: input_tokens: %w", name, err)
			}
			r.payloads[name] = fitted
			rp.InputNote, rp.PrefixTokens, rp.PrefixGroups = note, p.PrefixTokens, p.PrefixGroups
			switch {
			case p.InputTokens.Distribution != "":
				rp.InputDistribution = p.InputTokens.String()
			case p.InputTokens.IsSet():
				rp.InputTokens = fitted.Prompts[0].Tokens
			}
		}
		r.results.Payloads[name] = rp
	}
	r.results.Stack = r.probeStack(ctx)
	if r.baseline != nil {
		r.results.BaselineStackDiffers = stackprobe.Diff(r.baseline.Stack, r.results.Stack)
	}
	if cfg.Search == "" {
		repeats := cfg.Schedule()
		most := 1
		for _, t := range repeats {
			most = max(most, t.Plan.VUs)
		}
		// A target that fails the probe still gets its sweep (its errors
		// are what the report is for); it only goes without an estimate.
		pace, err := r.measurePace(ctx, most)
		if err != nil {
			r.noEstimate = err.Error()
			return r, r.write()
		}
		r.estimate = EstimateSchedule(repeats, func(name string) int { return r.payloads[name].MaxTokens }, pace)
		r.estimates = map[string]time.Duration{}
		for i, t := range repeats {
			r.estimates[t.SpecName()] = r.estimate.Repeats[i]
		}
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

// tokenizer counts prompts as the target does, through its /tokenize; for
// a target without one it is the estimate, and note says so.
func (r *Runner) tokenizer(ctx context.Context) (promptlen.Tokenizer, string, error) {
	tok := func(ctx context.Context, msgs []openai.Message) (int, error) {
		sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
		defer cancel()
		return openai.Tokenize(sctx, r.hc, r.endpoint, r.model, msgs)
	}
	switch _, err := tok(ctx, []openai.Message{{Role: "user", Content: "x"}}); {
	case errors.Is(err, openai.ErrNoTokenize):
		return promptlen.Estimate, "estimated: the target has no /tokenize (about 4 characters a token)", nil
	case err != nil:
		return nil, "", err
	}
	return tok, "", nil
}

// sizePrompts fills p's prompts to its input_tokens (each count of a
// distribution) as the target counts them (its /tokenize), and says how
// when not exactly: estimated for a target without /tokenize, or the counts
// reached when no filling was exact.
func (r *Runner) sizePrompts(ctx context.Context, p payload.Payload) (payload.Payload, string, error) {
	tok, note, err := r.tokenizer(ctx)
	if err != nil {
		return p, "", err
	}
	// Shared prefixes: one system prompt per group, sized to PrefixTokens,
	// each from its own place in the corpus; prompt i belongs to group
	// i mod PrefixGroups and ends with its own tag, so a group's prompts
	// share the prefix and differ after it.
	var prefixes []string
	for g := range p.PrefixGroups {
		msgs, _, err := promptlen.FitAt(ctx, tok, []openai.Message{{Role: "system", Content: fmt.Sprintf("Reference %d.", g+1)}}, 0,
			p.PrefixTokens, fixtures.Corpus, 53*g)
		if err != nil && !errors.Is(err, promptlen.ErrInexact) {
			return p, "", fmt.Errorf("prefix_tokens: %w", err)
		}
		prefixes = append(prefixes, msgs[0].Content)
	}
	// Every sized or prefixed payload gets payload.Prompts distinct prompts,
	// which the requests take in turn: a fixed length from distinct places
	// in the corpus, so that no two share more than the payload's own text
	// (and a prefix cache serves only what the workload designed to share).
	var counts []int
	if p.InputTokens.IsSet() {
		counts = p.InputTokens.Counts()
	}
	n := payload.Prompts
	var inexact []string
	for i := range n {
		msgs := p.Messages
		if len(prefixes) > 0 {
			msgs = withPrefix(msgs, prefixes[i%len(prefixes)], i)
		}
		if counts == nil {
			got, err := tok(ctx, msgs)
			if err != nil {
				return p, "", err
			}
			if note != "" {
				got = 0 // an estimate: nothing to check the usage against
			}
			p.Prompts = append(p.Prompts, openai.Prompt{Messages: msgs, Tokens: got})
			continue
		}
		want := counts[i%len(counts)]
		fitted, got, err := promptlen.FitFrom(ctx, tok, msgs, want, fixtures.Corpus, 211*i)
		switch {
		case errors.Is(err, promptlen.ErrInexact):
			inexact = append(inexact, fmt.Sprintf("%d asked, %d reached", want, got))
		case err != nil:
			return p, "", err
		}
		p.Prompts = append(p.Prompts, openai.Prompt{Messages: fitted, Tokens: got})
	}
	if len(inexact) > 0 {
		note = strings.TrimSpace(note + " inexact: no filling counted exactly (" + strings.Join(inexact, ", ") + ")")
	}
	return p, note, nil
}

// tracePayload builds a trace's prompts: for each request, the blocks of
// its hash_ids (each block a system-prompt text of the trace's block
// tokens, the same text wherever the same id appears, so the prefix cache
// sees the sharing the trace had), then a user message filled to its
// input_length, and its output_length; all sized through the target's
// /tokenize.
func (r *Runner) tracePayload(ctx context.Context) (payload.Payload, string, error) {
	tok, note, err := r.tokenizer(ctx)
	if err != nil {
		return payload.Payload{}, "", err
	}
	blocks := map[int]string{}
	block := func(id int) (string, error) {
		if b, ok := blocks[id]; ok {
			return b, nil
		}
		msgs, _, err := promptlen.FitAt(ctx, tok, []openai.Message{{Role: "system", Content: fmt.Sprintf("Block %d.", id)}}, 0,
			r.cfg.TraceBlockTokens, fixtures.Corpus, 997*id)
		if err != nil && !errors.Is(err, promptlen.ErrInexact) {
			return "", err
		}
		blocks[id] = msgs[0].Content
		return blocks[id], nil
	}
	p := payload.Payload{Name: r.cfg.TracePayload(), MaxTokens: r.cfg.trace.MaxOutput()}
	short := 0
	for i, q := range r.cfg.trace {
		var texts []string
		for _, id := range q.HashIDs {
			b, err := block(id)
			if err != nil {
				return p, "", err
			}
			texts = append(texts, b)
		}
		msgs := []openai.Message{{Role: "user", Content: fmt.Sprintf("Request %d.", i+1)}}
		if len(texts) > 0 {
			msgs = append([]openai.Message{{Role: "system", Content: strings.Join(texts, "\n")}}, msgs...)
		}
		fitted, got, err := promptlen.FitFrom(ctx, tok, msgs, q.InputLength, fixtures.Corpus, 211*i)
		if err != nil {
			// Blocks longer than the request's input_length, or no exact
			// filling: sent as they are, and counted in the note.
			if fitted == nil {
				fitted = msgs
			}
			if got, err = tok(ctx, fitted); err != nil {
				return p, "", err
			}
			short++
		}
		if note != "" {
			got = 0 // an estimate: nothing to check the usage against
		}
		p.Prompts = append(p.Prompts, openai.Prompt{Messages: fitted, Tokens: got, MaxTokens: q.OutputLength})
	}
	if short > 0 {
		note = strings.TrimSpace(note + fmt.Sprintf(" %d of %d requests could not be sized to their input_length exactly (their hash_ids blocks alone were longer, or no filling counted exactly)", short, len(r.cfg.trace)))
	}
	return p, note, nil
}

// withPrefix puts a shared prefix first, as the system prompt (before the
// payload's own system prompt, in the same message), and tags the last
// user message with the prompt's number, so prompts of one group share the
// prefix and differ after it.
func withPrefix(messages []openai.Message, prefix string, i int) []openai.Message {
	out := append([]openai.Message(nil), messages...)
	if len(out) > 0 && out[0].Role == "system" {
		out[0].Content = prefix + "\n\n" + out[0].Content
	} else {
		out = append([]openai.Message{{Role: "system", Content: prefix}}, out...)
	}
	for j := len(out) - 1; j >= 0; j-- {
		if out[j].Role == "user" {
			out[j].Content += fmt.Sprintf(" (request %d)", i+1)
			break
		}
	}
	return out
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
		if openai.IsCertificateError(err) { // waiting cannot fix it
			return nil, fmt.Errorf("sweep: target %s: %w", r.endpoint.BaseURL, openai.ExplainTLS(err, "set PERF_CA_FILE to its CA's PEM bundle, or PERF_INSECURE_SKIP_VERIFY=1 to skip verification"))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sweep: target %s not ready within %v (PERF_READY_TIMEOUT): last error: %w", r.endpoint.BaseURL, r.cfg.ReadyTimeout, err)
		case <-tick.C:
		}
	}
}

// Model is the model requests are sent for.
func (r *Runner) Model() string { return r.model }

// Target is the base URL requests go to.
func (r *Runner) Target() string { return r.endpoint.BaseURL }

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

// RunCell runs one repeat of a cell. Until the cell's last repeat it only
// keeps the measurement (final false, no verdict); the last repeat combines
// them (results.Combine), judges the cell, gates it against the baseline,
// records it and rewrites the report files. An error is returned only when
// the repeat could not run at all.
func (r *Runner) RunCell(ctx context.Context, c Repeat) (rc results.Cell, final bool, err error) {
	name := c.Name()
	if r.sim != nil {
		r.sim.Server.NewRun() // the simulator's run-to-run noise, when configured
	}
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
	if r.compare != nil {
		if o := r.compare.Find(rc.Key()); o != nil {
			h := o.Headline()
			rc.Compared = &h
			rc.Differences = gate.Differences(*o, rc, r.cfg.Alpha)
		}
	}
	r.judge(&rc)
	r.record(name, rc, false)
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
