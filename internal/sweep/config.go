// Package sweep is the perf suite's engine room: its configuration (every
// setting an environment variable, the team's k6 habit, and the same as a
// flag after `--`), the expansion into cells, and the Runner that resolves
// the target, runs each cell, judges it and keeps the report files current.
// The Ginkgo suite in perf/ is a thin layer over it.
package sweep

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/trace"
)

// Defaults that are not a single literal.
const (
	// DefaultIterationsPerVU is the team's 192 iterations at 4 VUs.
	DefaultIterationsPerVU = 48
	// DefaultSimIterationsPerVU applies when the target is the embedded
	// simulator (which also gets no warm-up by default: it has nothing to
	// warm), so that `make perf` on a fresh clone takes under a minute.
	DefaultSimIterationsPerVU = 2
	// DefaultReadyTimeout bounds the wait for the target's /v1/models.
	DefaultReadyTimeout = 2 * time.Minute
)

// Config is one sweep's settings.
type Config struct {
	Target, Host, Model, APIKey string
	SimPreset                   string
	SimRunCV, SimSlowdown       float64
	SimMaxNumSeqs               int
	SimKVCacheTokens            int
	PayloadsFile                string
	Payloads                    []string
	Concurrency                 []int
	IterationsPerVU             int
	Duration                    time.Duration
	Rates                       []float64
	Requests                    int
	Warmup                      int
	RampUp                      time.Duration
	Timeout                     time.Duration
	ReadyTimeout                time.Duration
	ReportDir                   string
	Baseline, Compare           string
	SLOTTFT, SLOE2E             time.Duration
	MaxErrorRate                float64
	Tolerance                   float64
	Repeats                     int
	Alpha, MaxCV                float64
	GateRequired                bool
	StrictLoad                  bool
	Progress                    bool
	GPU                         string
	GPUInterval                 time.Duration
	RequireGPU                  bool
	// Stream sends streamed requests (PERF_STREAM, default on); off, they
	// are whole responses as hey sends them, and TTFT equals E2E.
	Stream bool
	// CAFile and InsecureSkipVerify are an https target's trust.
	CAFile             string
	InsecureSkipVerify bool
	// Iterations is k6's ITERATIONS: total requests per closed-loop cell,
	// shared by its VUs; 0 means IterationsPerVU per VU.
	Iterations int
	// K6 holds the k6 variables that were taken, by name, with their values.
	K6 map[string]string
	// Search replaces the matrix with a capacity search ("concurrency" or
	// "rate"); its bounds and decision settings follow.
	Search           string
	SearchStart      float64
	SearchMax        float64
	SearchResolution float64
	SearchMaxRepeats int
	SearchBudget     time.Duration
	MinGoodRatio     float64
	// StopEarly is "auto" (search probes and open-loop cells), "1" (every
	// cell) or "0" (none).
	StopEarly string
	// Trace replays a Mooncake-format trace as one open-loop cell instead
	// of the matrix, at TraceSpeedup, its hash_ids blocks TraceBlockTokens
	// long.
	Trace            string
	TraceSpeedup     float64
	TraceBlockTokens int
	trace            trace.Trace

	payloads payload.Set
}

// Setting is one configuration knob: its environment variable, its flag,
// its default and what it means. Settings is the single list the README's
// table is checked against.
type Setting struct {
	Env, Flag, Default, Help string
	set                      func(c *Config, v string) error
}

func list[T any](parse func(string) (T, error), check func(T) error) func(string) ([]T, error) {
	return func(s string) ([]T, error) {
		var out []T
		if strings.TrimSpace(s) == "none" {
			return nil, nil
		}
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			v, err := parse(f)
			if err != nil {
				return nil, fmt.Errorf("%q: not a number", f)
			}
			if err := check(v); err != nil {
				return nil, fmt.Errorf("%q: %w", f, err)
			}
			out = append(out, v)
		}
		return out, nil
	}
}

func positive[T int | float64](v T) error {
	if v <= 0 {
		return errors.New("must be > 0")
	}
	return nil
}

func atoi(s string) (int, error)     { return strconv.Atoi(s) }
func atof(s string) (float64, error) { return strconv.ParseFloat(s, 64) }

func nonNegInt(dst func(*Config) *int) func(*Config, string) error { return wholeAtLeast(0, dst) }

// wholeAtLeast parses a whole number of at least low into dst.
func wholeAtLeast(low int, dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < low {
			return fmt.Errorf("%q: want a whole number >= %d", v, low)
		}
		*dst(c) = n
		return nil
	}
}

// number parses a number that ok accepts (want says which) into dst.
func number(ok func(float64) bool, want string, dst func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || !ok(f) {
			return fmt.Errorf("%q: want %s", v, want)
		}
		*dst(c) = f
		return nil
	}
}

func dur(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("%q: want a duration such as 30s or 5m", v)
		}
		*dst(c) = d
		return nil
	}
}

func millis(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) {
			return fmt.Errorf("%q: want milliseconds >= 0", v)
		}
		*dst(c) = time.Duration(f * float64(time.Millisecond))
		return nil
	}
}

func boolean(dst func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q: want 1 or 0", v)
		}
		*dst(c) = b
		return nil
	}
}

func fraction(dst func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("%q: want a fraction between 0 and 1", v)
		}
		*dst(c) = f
		return nil
	}
}

// Settings lists every knob, in the README's order.
var Settings = []Setting{
	{"PERF_TARGET", "perf.target", "", "base URL of the vLLM server or ingress; empty starts the embedded simulator",
		func(c *Config, v string) error { c.Target = v; return nil }},
	{"PERF_HOST", "perf.host", "", "Host header, e.g. llm.local when PERF_TARGET is the ingress address",
		func(c *Config, v string) error { c.Host = v; return nil }},
	{"PERF_MODEL", "perf.model", "", "model name; empty takes the first from /v1/models",
		func(c *Config, v string) error { c.Model = v; return nil }},
	{"PERF_API_KEY", "perf.api-key", "", "bearer token sent with every request",
		func(c *Config, v string) error { c.APIKey = v; return nil }},
	{"PERF_SIM_PRESET", "perf.sim-preset", "rtx3060-tinyllama", "embedded simulator preset when PERF_TARGET is empty: rtx3060-tinyllama or fast",
		func(c *Config, v string) error { c.SimPreset = v; return nil }},
	{"PERF_SIM_RUN_CV", "perf.sim-run-cv", "0", "embedded simulator: run-to-run noise, the coefficient of variation of a speed factor drawn for every measured repeat (0.05 is 5%)",
		number(func(f float64) bool { return f >= 0 && f < 0.5 }, "a fraction in [0, 0.5)", func(c *Config) *float64 { return &c.SimRunCV })},
	{"PERF_SIM_SLOWDOWN", "perf.sim-slowdown", "1", "embedded simulator: scale every latency by this factor (1.15 is a 15% slower target)",
		number(func(f float64) bool { return f > 0 }, "a factor > 0", func(c *Config) *float64 { return &c.SimSlowdown })},
	{"PERF_SIM_MAX_NUM_SEQS", "perf.sim-max-num-seqs", "", "embedded simulator: how many sequences run at once (vLLM's --max-num-seqs; the preset's when empty); more wait, so this is its capacity under a TTFT SLO",
		wholeAtLeast(1, func(c *Config) *int { return &c.SimMaxNumSeqs })},
	{"PERF_SIM_KV_CACHE_TOKENS", "perf.sim-kv-cache-tokens", "", "embedded simulator: its KV cache in tokens (the preset's when empty; rtx3060-tinyllama has 380000); a tight one shows KV-cache pressure and preemptions",
		wholeAtLeast(1, func(c *Config) *int { return &c.SimKVCacheTokens })},
	{"PERF_PAYLOADS_FILE", "perf.payloads-file", "", "payloads YAML; empty uses fixtures/payloads.yaml",
		func(c *Config, v string) error { c.PayloadsFile = v; return nil }},
	{"PERF_PAYLOADS", "perf.payloads", "short,long", "payload names, comma-separated",
		func(c *Config, v string) error {
			c.Payloads = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.Payloads = append(c.Payloads, p)
				}
			}
			return nil
		}},
	{"PERF_CONCURRENCY", "perf.concurrency", "1,2,4,8,16", "closed-loop VUs per cell, comma-separated; none for no closed-loop cells",
		func(c *Config, v string) (err error) { c.Concurrency, err = list(atoi, positive[int])(v); return }},
	{"PERF_ITERATIONS_PER_VU", "perf.iterations-per-vu", "48 (2 against the embedded simulator)", "closed loop: requests per VU per cell",
		nonNegInt(func(c *Config) *int { return &c.IterationsPerVU })},
	{"PERF_DURATION", "perf.duration", "", "per cell: stop releasing requests after this long (with iterations: whichever ends first)",
		dur(func(c *Config) *time.Duration { return &c.Duration })},
	{"PERF_RATES", "perf.rates", "", "open-loop arrival rates in requests/s, comma-separated",
		func(c *Config, v string) (err error) { c.Rates, err = list(atof, positive[float64])(v); return }},
	{"PERF_REQUESTS", "perf.requests", "100", "open loop: requests per cell",
		nonNegInt(func(c *Config) *int { return &c.Requests })},
	{"PERF_WARMUP", "perf.warmup", "1 (0 against the embedded simulator)", "warm-up requests per VU (open loop: per request/s of rate), not recorded",
		nonNegInt(func(c *Config) *int { return &c.Warmup })},
	{"PERF_RAMP_UP", "perf.ramp-up", "", "closed loop: spread the VUs' first requests over this long",
		dur(func(c *Config) *time.Duration { return &c.RampUp })},
	{"PERF_TIMEOUT", "perf.timeout", "2m", "per-request deadline; past it the request counts as client_abort (NGINX: 499)",
		dur(func(c *Config) *time.Duration { return &c.Timeout })},
	{"PERF_READY_TIMEOUT", "perf.ready-timeout", "2m", "how long to wait for the target's /v1/models before failing",
		dur(func(c *Config) *time.Duration { return &c.ReadyTimeout })},
	{"PERF_REPORT_DIR", "perf.report-dir", "reports", "folder for results.json, report.md, charts and junit.xml",
		func(c *Config, v string) error { c.ReportDir = v; return nil }},
	{"PERF_BASELINE", "perf.baseline", "", "results.json of an earlier run to gate against",
		func(c *Config, v string) error { c.Baseline = v; return nil }},
	{"PERF_COMPARE", "perf.compare", "", "results.json of a run to show side by side, e.g. the same cells direct to the backend (the ingress overhead)",
		func(c *Config, v string) error { c.Compare = v; return nil }},
	{"PERF_REPEATS", "perf.repeats", "1", "measure each cell this many times, interleaved across the sweep; the gate needs 4 or more on both sides",
		wholeAtLeast(1, func(c *Config) *int { return &c.Repeats })},
	{"PERF_TOLERANCE", "perf.tolerance", "0.07", "baseline gate: the smallest relative change of a median worth failing for",
		fraction(func(c *Config) *float64 { return &c.Tolerance })},
	{"PERF_ALPHA", "perf.alpha", "0.05", "baseline gate: significance level of the one-sided Mann-Whitney test over the repeats",
		number(func(f float64) bool { return f > 0 && f < 1 }, "a level between 0 and 1, e.g. 0.05", func(c *Config) *float64 { return &c.Alpha })},
	{"PERF_MAX_CV", "perf.max-cv", "0.10", "a metric whose repeats vary more than this (coefficient of variation) is too noisy to gate on; 0 gates every metric",
		fraction(func(c *Config) *float64 { return &c.MaxCV })},
	{"PERF_STRICT_LOAD", "perf.strict-load", "0", "1 fails a cell whose load did not match its plan (client- or server-limited, see the load self-check); 0 warns",
		boolean(func(c *Config) *bool { return &c.StrictLoad })},
	{"PERF_GATE_REQUIRED", "perf.gate-required", "0", "1 fails a cell whose gate is inconclusive (too few repeats on either side), for CI that must gate",
		boolean(func(c *Config) *bool { return &c.GateRequired })},
	{"PERF_SLO_TTFT_MS", "perf.slo-ttft-ms", "", "SLO on p95 TTFT in ms; also the per-request goodput threshold",
		millis(func(c *Config) *time.Duration { return &c.SLOTTFT })},
	{"PERF_SLO_E2E_MS", "perf.slo-e2e-ms", "", "SLO on p95 E2E latency in ms; also the per-request goodput threshold",
		millis(func(c *Config) *time.Duration { return &c.SLOE2E })},
	{"PERF_MAX_ERROR_RATE", "perf.max-error-rate", "0", "the failed fraction of a cell's requests allowed",
		fraction(func(c *Config) *float64 { return &c.MaxErrorRate })},
	{"PERF_GPU", "perf.gpu", "", "GPUs to sample: indexes or UUIDs, comma-separated; empty samples all",
		func(c *Config, v string) error { c.GPU = v; return nil }},
	{"PERF_GPU_INTERVAL", "perf.gpu-interval", "500ms", "GPU sampling interval, at least 100ms",
		dur(func(c *Config) *time.Duration { return &c.GPUInterval })},
	{"PERF_REQUIRE_GPU", "perf.require-gpu", "0", "1 fails the suite when no GPU can be sampled (for GPU runners)",
		boolean(func(c *Config) *bool { return &c.RequireGPU })},
	{"PERF_PROGRESS", "perf.progress", "1", "a live line per running cell on a terminal; 0 turns it off",
		boolean(func(c *Config) *bool { return &c.Progress })},
	{"PERF_STREAM", "perf.stream", "1", "0 sends non-streamed requests, as hey does: TTFT then equals E2E and ITL is not measured",
		boolean(func(c *Config) *bool { return &c.Stream })},
	{"PERF_CA_FILE", "perf.ca-file", "", "PEM bundle of the CA that signed an https target's certificate (added to the system's roots)",
		func(c *Config, v string) error { c.CAFile = v; return nil }},
	{"PERF_INSECURE_SKIP_VERIFY", "perf.insecure-skip-verify", "0", "1 skips verification of an https target's certificate; the report warns",
		boolean(func(c *Config) *bool { return &c.InsecureSkipVerify })},
	{"PERF_SEARCH", "perf.search", "", "concurrency or rate: instead of the matrix, search each payload's capacity, the highest load meeting the SLOs (needs PERF_SLO_TTFT_MS, PERF_SLO_E2E_MS or PERF_MIN_GOOD_RATIO)",
		func(c *Config, v string) error {
			if v != capacity.Concurrency && v != capacity.Rate {
				return fmt.Errorf("%q: want %s or %s", v, capacity.Concurrency, capacity.Rate)
			}
			c.Search = v
			return nil
		}},
	{"PERF_SEARCH_START", "perf.search-start", "1", "the first load a search tries (it doubles from there): near a sweep's knee saves probes, above all for a rate",
		number(func(f float64) bool { return f >= 1 }, "a load >= 1", func(c *Config) *float64 { return &c.SearchStart })},
	{"PERF_SEARCH_MAX", "perf.search-max", "256", "the largest load a search tries: VUs, or requests/s",
		number(func(f float64) bool { return f >= 1 }, "a load >= 1", func(c *Config) *float64 { return &c.SearchMax })},
	{"PERF_SEARCH_RESOLUTION", "perf.search-resolution", "0.05", "a rate search stops when its bracket is this narrow, relative to its low end",
		number(func(f float64) bool { return f > 0 && f < 1 }, "a fraction between 0 and 1", func(c *Config) *float64 { return &c.SearchResolution })},
	{"PERF_SEARCH_MAX_REPEATS", "perf.search-max-repeats", "10", "repeats a search probe may take before it counts as failed, undecided",
		wholeAtLeast(4, func(c *Config) *int { return &c.SearchMaxRepeats })},
	{"PERF_SEARCH_BUDGET", "perf.search-budget", "", "wall time a search may take per payload; when it ends, the bracket reached is reported",
		dur(func(c *Config) *time.Duration { return &c.SearchBudget })},
	{"PERF_STOP_EARLY", "perf.stop-early", "auto", "stop a cell that can only fail (over-saturated, or an SLO broken with confidence): auto for search probes and open-loop cells, 1 for every cell, 0 never",
		func(c *Config, v string) error {
			switch v {
			case "auto", "1", "0":
				c.StopEarly = v
				return nil
			}
			return fmt.Errorf("%q: want auto, 1 or 0", v)
		}},
	{"PERF_TRACE", "perf.trace", "", "a Mooncake-format trace (JSONL: timestamp ms, input_length, output_length, hash_ids) replayed as one open-loop cell instead of the matrix, e.g. fixtures/traces/sample.jsonl",
		func(c *Config, v string) error { c.Trace = v; return nil }},
	{"PERF_TRACE_SPEEDUP", "perf.trace-speedup", "1", "replay the trace this many times faster (its timestamps divided by it)",
		number(func(f float64) bool { return f > 0 }, "a factor > 0", func(c *Config) *float64 { return &c.TraceSpeedup })},
	{"PERF_TRACE_BLOCK_TOKENS", "perf.trace-block-tokens", "512", "the tokens of one hash_ids block of the trace (Mooncake's are 512)",
		wholeAtLeast(1, func(c *Config) *int { return &c.TraceBlockTokens })},
	{"PERF_MIN_GOOD_RATIO", "perf.min-good-ratio", "", "SLO on goodput_rps / rps: the share of requests meeting every SLO a cell must reach",
		fraction(func(c *Config) *float64 { return &c.MinGoodRatio })},
}

// K6Variable is one of the k6 `-e` variables the team's scripts read
// (`k6 run ... -e BASE_URL=... -e PAYLOAD_TYPE=short -e VUS=4 -e
// ITERATIONS=192`), accepted with k6's meaning, and the setting it stands
// for. Setting both is an error, even when they agree: the names are
// generic, and a stray BASE_URL in a CI shell must never change a target
// silently.
type K6Variable struct {
	Name, Twin, Help string
	set              func(c *Config, v string) error
}

// K6Variables lists them, in the README's order.
var K6Variables = []K6Variable{
	{"BASE_URL", "PERF_TARGET", "the full chat-completions URL, e.g. http://llm.local/v1/chat/completions; the target and Host come from it, and a path before /v1/chat/completions is kept as the API's base. A base URL is accepted too",
		func(c *Config, v string) (err error) { c.Target, err = targetOf(v); return }},
	{"PAYLOAD_TYPE", "PERF_PAYLOADS", "a payload name",
		func(c *Config, v string) error { c.Payloads = []string{strings.TrimSpace(v)}; return nil }},
	{"VUS", "PERF_CONCURRENCY", "one concurrency",
		func(c *Config, v string) error {
			var n int
			if err := wholeAtLeast(1, func(*Config) *int { return &n })(c, v); err != nil {
				return err
			}
			c.Concurrency = []int{n}
			return nil
		}},
	{"ITERATIONS", "PERF_ITERATIONS_PER_VU", "total requests in each closed-loop cell, shared by its VUs (k6's shared-iterations): 192 at 4 VUs is 48 per VU",
		wholeAtLeast(1, func(c *Config) *int { return &c.Iterations })},
}

// targetOf is the base URL in a k6 BASE_URL: the URL without the API's
// path (/v1/chat/completions, or /v1), keeping any path before it.
func targetOf(v string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(v))
	switch {
	case err != nil:
		return "", fmt.Errorf("%q: %w", v, err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return "", fmt.Errorf("%q: want a URL such as http://llm.local/v1/chat/completions", v)
	case u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("%q: a query or fragment is not sent; remove it", v)
	}
	p := strings.TrimRight(u.Path, "/")
	for _, api := range []string{"/v1/chat/completions", "/v1"} {
		if strings.HasSuffix(p, api) {
			p = strings.TrimSuffix(p, api)
			break
		}
	}
	u.Path, u.RawPath = p, ""
	return u.String(), nil
}

// Flags holds the flag values registered on a FlagSet.
type Flags struct {
	fs     *flag.FlagSet
	values map[string]*string
}

// Register defines every setting's flag on fs (for the Ginkgo suite,
// flag.CommandLine: `ginkgo ./perf -- -perf.concurrency=1,4`).
func Register(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs, values: map[string]*string{}}
	for _, s := range Settings {
		f.values[s.Flag] = fs.String(s.Flag, "", s.Help+" (env "+s.Env+")")
	}
	return f
}

// Config resolves the settings: a flag that was set wins over the
// environment variable, which wins over the default. env is os.Getenv.
// Relative paths (report folder, baseline, payloads file) are taken from
// base, the folder the user ran from (the repository root for make perf);
// an empty base leaves them relative to the working directory.
func (f *Flags) Config(env func(string) string, base string) (Config, error) {
	set := map[string]bool{}
	if f.fs.Parsed() {
		f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	}
	c := Config{
		SimPreset: "rtx3060-tinyllama", Payloads: []string{"short", "long"}, Concurrency: []int{1, 2, 4, 8, 16},
		Requests: 100, Warmup: -1, Timeout: openai.DefaultTimeout, ReadyTimeout: DefaultReadyTimeout,
		ReportDir: "reports", Tolerance: gate.DefaultTolerance, Progress: true, IterationsPerVU: -1,
		Repeats: 1, Alpha: gate.DefaultAlpha, MaxCV: gate.DefaultMaxCV,
		GPUInterval: gpu.DefaultInterval, Stream: true,
		TraceSpeedup: 1, TraceBlockTokens: trace.DefaultBlockTokens,
		StopEarly: "auto", SearchStart: 1, SearchMax: 256, SearchResolution: capacity.DefaultResolution, SearchMaxRepeats: capacity.DefaultMaxRepeats,
	}
	for _, s := range Settings {
		v, from := env(s.Env), s.Env
		if set[s.Flag] {
			v, from = *f.values[s.Flag], "-"+s.Flag
		}
		if v == "" && !set[s.Flag] {
			continue
		}
		if err := s.set(&c, v); err != nil {
			return Config{}, fmt.Errorf("sweep: %s: %w", from, err)
		}
	}
	if err := c.takeK6(env, set); err != nil {
		return Config{}, err
	}
	for _, p := range []*string{&c.ReportDir, &c.Baseline, &c.Compare, &c.PayloadsFile, &c.CAFile, &c.Trace} {
		if *p != "" && base != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	if c.IterationsPerVU < 0 {
		c.IterationsPerVU = DefaultIterationsPerVU
		if c.Target == "" {
			c.IterationsPerVU = DefaultSimIterationsPerVU
		}
	}
	if c.Warmup < 0 {
		c.Warmup = 1
		if c.Target == "" {
			c.Warmup = 0
		}
	}
	return c, c.validate()
}

// takeK6 applies the k6 variables that are set, refusing one whose twin
// (variable or flag) is set too.
func (c *Config) takeK6(env func(string) string, flagSet map[string]bool) error {
	flagOf := map[string]string{}
	for _, s := range Settings {
		flagOf[s.Env] = s.Flag
	}
	for _, k := range K6Variables {
		v := env(k.Name)
		if v == "" {
			continue
		}
		if env(k.Twin) != "" || flagSet[flagOf[k.Twin]] {
			return fmt.Errorf("sweep: %s and %s are both set (k6's name and this harness's for the same thing): set one", k.Name, k.Twin)
		}
		if err := k.set(c, v); err != nil {
			return fmt.Errorf("sweep: %s (k6): %w", k.Name, err)
		}
		if c.K6 == nil {
			c.K6 = map[string]string{}
		}
		c.K6[k.Name] = v
	}
	return nil
}

// K6Line names the k6 variables taken and what each became, for the
// suite's first output line; "" when none was.
func (c Config) K6Line() string {
	var parts []string
	for _, k := range K6Variables {
		if v, ok := c.K6[k.Name]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s (for %s)", k.Name, v, k.Twin))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "perf: taken from k6 variables: " + strings.Join(parts, ", ")
}

// validate checks what one field alone cannot show, naming the setting.
func (c *Config) validate() error {
	if c.Target != "" {
		if err := (openai.Endpoint{BaseURL: c.Target}).Validate(); err != nil {
			return fmt.Errorf("sweep: PERF_TARGET: %w", err)
		}
	} else if _, err := sim.Preset(c.SimPreset); err != nil {
		return fmt.Errorf("sweep: PERF_SIM_PRESET: %w", err)
	}
	set, err := payload.Load(c.PayloadsFile)
	if err != nil {
		return fmt.Errorf("sweep: PERF_PAYLOADS_FILE: %w", err)
	}
	if len(c.Payloads) == 0 {
		return errors.New("sweep: PERF_PAYLOADS: no payload named")
	}
	for _, p := range c.Payloads {
		if _, err := set.Get(p); err != nil {
			return fmt.Errorf("sweep: PERF_PAYLOADS: %w", err)
		}
	}
	c.payloads = set
	if c.Trace != "" {
		t, err := trace.Load(c.Trace)
		if err != nil {
			return fmt.Errorf("sweep: PERF_TRACE: %w", err)
		}
		if c.Search != "" {
			return errors.New("sweep: PERF_TRACE: a trace is replayed as recorded; it cannot be searched (unset PERF_SEARCH)")
		}
		c.trace = t
	}
	switch {
	case c.Search == "" && len(c.Concurrency) == 0 && len(c.Rates) == 0:
		return errors.New("sweep: PERF_CONCURRENCY/PERF_RATES: neither names a cell")
	case c.Search == capacity.Concurrency && c.IterationsPerVU == 0 && c.Iterations == 0 && c.Duration == 0:
		return errors.New("sweep: PERF_ITERATIONS_PER_VU/PERF_DURATION: a concurrency search's probes need one of them > 0")
	case c.Search == capacity.Rate && c.Requests == 0 && c.Duration == 0:
		return errors.New("sweep: PERF_REQUESTS/PERF_DURATION: a rate search's probes need one of them > 0")
	case len(c.Concurrency) > 0 && c.IterationsPerVU == 0 && c.Duration == 0:
		return errors.New("sweep: PERF_ITERATIONS_PER_VU/PERF_DURATION: closed-loop cells need one of them > 0")
	case len(c.Rates) > 0 && c.Requests == 0 && c.Duration == 0:
		return errors.New("sweep: PERF_REQUESTS/PERF_DURATION: open-loop cells need one of them > 0")
	case c.Timeout == 0:
		return errors.New("sweep: PERF_TIMEOUT: must be > 0")
	case c.ReadyTimeout == 0:
		return errors.New("sweep: PERF_READY_TIMEOUT: must be > 0")
	case c.ReportDir == "":
		return errors.New("sweep: PERF_REPORT_DIR: must be set")
	case c.GPUInterval < gpu.MinInterval:
		return fmt.Errorf("sweep: PERF_GPU_INTERVAL: %v: must be at least %v", c.GPUInterval, gpu.MinInterval)
	}
	if c.Iterations > 0 {
		for _, v := range c.Concurrency {
			if v > c.Iterations {
				return fmt.Errorf("sweep: ITERATIONS: %d is fewer than %s: every VU needs at least one request", c.Iterations, load.VUs(v))
			}
		}
	}
	if _, err := c.TLS(); err != nil {
		return fmt.Errorf("sweep: PERF_CA_FILE: %w", err)
	}
	if c.Search != "" {
		switch {
		case c.SLOTTFT == 0 && c.SLOE2E == 0 && c.MinGoodRatio == 0:
			return errors.New("sweep: PERF_SEARCH: a search needs an SLO to search against: set PERF_SLO_TTFT_MS, PERF_SLO_E2E_MS or " +
				"PERF_MIN_GOOD_RATIO (PERF_MAX_ERROR_RATE always applies, but alone it is no capacity target)")
		case c.Repeats > 1:
			return errors.New("sweep: PERF_REPEATS: a search decides each probe's repeats itself (up to PERF_SEARCH_MAX_REPEATS); unset PERF_REPEATS")
		case c.Search == capacity.Concurrency && (c.SearchMax != math.Trunc(c.SearchMax) || c.SearchStart != math.Trunc(c.SearchStart)):
			return fmt.Errorf("sweep: PERF_SEARCH_START/PERF_SEARCH_MAX: %v, %v: a concurrency search needs whole numbers of VUs", c.SearchStart, c.SearchMax)
		case c.SearchStart > c.SearchMax:
			return fmt.Errorf("sweep: PERF_SEARCH_START: %v is above PERF_SEARCH_MAX (%v)", c.SearchStart, c.SearchMax)
		case c.Baseline != "":
			return errors.New("sweep: PERF_BASELINE: a search's probes are not a baseline's cells; gate a sweep, not a search")
		case c.Search == capacity.Concurrency && c.Iterations > 0 && float64(c.Iterations) < c.SearchMax:
			return fmt.Errorf("sweep: ITERATIONS: %d is fewer than PERF_SEARCH_MAX (%v VUs): every VU needs at least one request", c.Iterations, c.SearchMax)
		}
	}
	if c.Baseline != "" {
		if _, err := results.Load(c.Baseline); err != nil {
			return fmt.Errorf("sweep: PERF_BASELINE: %w", err)
		}
	}
	if c.Compare != "" {
		if _, err := results.Load(c.Compare); err != nil {
			return fmt.Errorf("sweep: PERF_COMPARE: %w", err)
		}
	}
	return nil
}

// TLS is the https target's trust (PERF_CA_FILE, PERF_INSECURE_SKIP_VERIFY).
func (c Config) TLS() (*tls.Config, error) { return openai.TLSConfig(c.CAFile, c.InsecureSkipVerify) }

// PayloadSet is the loaded payloads.
func (c Config) PayloadSet() payload.Set { return c.payloads }
