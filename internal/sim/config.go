// Package sim is an embedded vLLM-compatible server: the OpenAI endpoints
// vLLM serves (/v1/models, /v1/chat/completions, /v1/completions, streamed or
// not, with the usage chunk and [DONE]), /health, and /metrics under vLLM's
// metric names. Its latency model is exact and configurable, so it is the
// ground truth the load engine is checked against, and its fault injection
// produces every failure the harness must classify.
//
// Use it when no GPU or cluster is at hand, in tests, and as `llmsim` to point
// any tool at. Do not use it to predict a real GPU's figures: the presets are
// plausible, not measured.
package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Config is the simulator's model of a served LLM. Zero durations mean
// "instant"; see Presets for realistic values.
type Config struct {
	// Model is the name served by /v1/models and echoed in responses.
	Model string
	// TTFT is the base time from admission to the first token.
	TTFT time.Duration
	// PrefillPerToken is added to TTFT per prompt token.
	PrefillPerToken time.Duration
	// ITL is the gap between tokens of one sequence when it runs alone.
	ITL time.Duration
	// MaxNumSeqs is how many sequences run at once (vLLM's --max-num-seqs);
	// more wait in a queue, visible as vllm:num_requests_waiting.
	MaxNumSeqs int
	// BatchSlowdown stretches the ITL by this fraction for every other
	// running sequence: ITL * (1 + BatchSlowdown*(running-1)).
	BatchSlowdown float64
	// KVCacheTokens is the KV cache's size in tokens (zero: unlimited).
	// Running sequences hold their prompt and output tokens in it; one that
	// needs a token the cache lacks is preempted and recomputed, as vLLM
	// does. vllm:kv_cache_usage_perc, vllm:num_preemptions_total and
	// vllm:request_queue_time_seconds report it.
	KVCacheTokens int
	// PrefixCaching models vLLM's automatic prefix caching (on by default
	// in vLLM V1): a prompt's leading blocks already seen skip their
	// prefill, and vllm:prefix_cache_queries_total and
	// vllm:prefix_cache_hits_total count the tokens.
	PrefixCaching bool
	// Jitter, in [0, 1), scales each TTFT and ITL by a uniform factor in
	// [1-Jitter, 1+Jitter]. Zero makes every latency exact.
	Jitter float64
	// RunCV is run-to-run noise: Server.NewRun (called by the sweep before
	// every measured repeat) draws a speed factor 1 + RunCV*N(0,1) that
	// scales every TTFT and ITL until the next NewRun, as a real GPU
	// target differs from one run to the next (thermals, placement, other
	// tenants). Zero: every run is alike. Repeats of one cell never share
	// a draw, so the repeats sample the noise.
	RunCV float64
	// Slowdown scales every TTFT and ITL (1.15: a 15% slower target), to
	// measure what the regression gate detects. Zero means 1.
	Slowdown float64
	// PrefillSlowdown scales the prefill alone (TTFT) and DecodeSlowdown
	// the decode step alone (ITL), on top of Slowdown: a slower prefill
	// kernel and a slower decode step are different regressions, gated
	// on different metrics. Zero means 1.
	PrefillSlowdown, DecodeSlowdown float64
	// RestartCV is the spread between server lifetimes: New draws one
	// speed factor 1 + RestartCV*N(0,1) for the server's whole life, as a
	// restarted vLLM lands on other clocks, memory placement and kernels
	// (measured on an H200: lifetime medians of RPS with a CV of 4.5-5.6%).
	// RunCV is the spread between repeats within one lifetime. Zero: every
	// lifetime is alike.
	RestartCV float64
	// RestartSeed seeds the lifetime's draw; zero draws it from the clock,
	// so every start is a new lifetime, as a real restart is.
	RestartSeed uint64
	// Seed seeds jitter, the run factors and rate-based faults, so runs
	// are repeatable.
	Seed uint64
	// DefaultMaxTokens is the output length when a request names none.
	DefaultMaxTokens int
	// MaxModelLen is the context window (vLLM's --max-model-len): a
	// request whose prompt plus max_tokens exceeds it is refused with
	// vLLM's status and message. Zero means DefaultMaxModelLen, TinyLlama's.
	MaxModelLen int
	// Faults injects each mode into this fraction of requests (0..1, the
	// fractions summing to at most 1). The X-Sim-Fault header forces a mode.
	Faults map[Fault]float64
	// HangLimit bounds how long a hang or stall fault holds a request
	// whose client does not give up.
	HangLimit time.Duration
	// Delivered, when set, is called after each streamed response that
	// completed, with when its bytes left the handler: the reference that
	// a timing test compares a client with when the simulator runs in the
	// test's own process (package accuracy). It is called from the
	// request's goroutine and must be safe for concurrent use.
	Delivered func(Delivery)
}

// Delivery is a streamed response as the simulator's handler wrote it, on
// its own clock: when the handler began, and when each event with a
// non-empty choices array had been written and flushed to the connection.
// A client's TTFT minus (Chunks[0] - Received) is its error plus the two
// loopback legs.
type Delivery struct {
	Received time.Time
	Chunks   []time.Time
}

// Version is what the simulator's GET /version answers (vLLM answers its
// own version there).
const Version = "llm-platform-harness-sim"

// Defaults for Config fields left zero.
const (
	DefaultModel      = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
	DefaultMaxNumSeqs = 256 // vLLM's default --max-num-seqs
	DefaultMaxTokens  = 16
	DefaultHangLimit  = 2 * time.Minute
	// DefaultMaxModelLen is TinyLlama-1.1B's context window
	// (max_position_embeddings in its config.json).
	DefaultMaxModelLen = 2048
)

// RTX3060KVCacheTokens is the KV cache an RTX 3060 has for TinyLlama:
// TinyLlama-1.1B keeps 22 layers x 4 KV heads x 64 dims x 2 (K and V) x 2
// bytes = 22 KiB per token; with --gpu-memory-utilization 0.80 of 12 GiB
// less the 2.2 GB of weights and activations, about 8 GiB is left for it:
// roughly 380,000 tokens. The team's 16 users of ~300 tokens use about 1%.
const RTX3060KVCacheTokens = 380_000

// Presets are named configurations.
//
// rtx3060-tinyllama models the team's card and model from first principles,
// not from a measurement: TinyLlama-1.1B in fp16 is about 2.2 GB of weights,
// and a decode step must stream them from the RTX 3060's 360 GB/s memory, a
// floor of about 6 ms; with kernel and scheduling overhead a single stream
// sees about 8 ms per token (≈125 tok/s). Prefill is compute-bound: 2.2 GFLOP
// per prompt token at a sustained ~20 TFLOP/s fp16 is about 0.1 ms per token,
// and a first step with scheduling costs about 15 ms. Decode is memory-bound,
// so batching is cheap: about 4% per extra running sequence. max_num_seqs 256
// is vLLM's default.
//
// fast is for CI: small exact latencies so suites run in seconds, and a
// 5 ms ITL so that 256 concurrent streams (51,200 events/s) stay well inside
// what a 2-core machine running both the simulator and the client handles
// (about 120,000 events/s measured).
var Presets = map[string]Config{
	"rtx3060-tinyllama": {
		Model: DefaultModel, TTFT: 15 * time.Millisecond, PrefillPerToken: 100 * time.Microsecond,
		ITL: 8 * time.Millisecond, MaxNumSeqs: DefaultMaxNumSeqs, BatchSlowdown: 0.04, Jitter: 0.05, Seed: 1,
		KVCacheTokens: RTX3060KVCacheTokens, PrefixCaching: true,
	},
	"fast": {
		Model: DefaultModel, TTFT: 20 * time.Millisecond, ITL: 5 * time.Millisecond, MaxNumSeqs: 1024,
	},
}

// Preset returns the named preset, or an error listing the known names.
func Preset(name string) (Config, error) {
	c, ok := Presets[name]
	if !ok {
		names := make([]string, 0, len(Presets))
		for n := range Presets {
			names = append(names, n)
		}
		sort.Strings(names)
		return Config{}, fmt.Errorf("sim: preset %q: unknown (have %s)", name, strings.Join(names, ", "))
	}
	return c, nil
}

// withDefaults fills zero fields.
func (c Config) withDefaults() Config {
	if c.Model == "" {
		c.Model = DefaultModel
	}
	if c.MaxNumSeqs == 0 {
		c.MaxNumSeqs = DefaultMaxNumSeqs
	}
	if c.DefaultMaxTokens == 0 {
		c.DefaultMaxTokens = DefaultMaxTokens
	}
	if c.MaxModelLen == 0 {
		c.MaxModelLen = DefaultMaxModelLen
	}
	if c.HangLimit == 0 {
		c.HangLimit = DefaultHangLimit
	}
	for _, f := range []*float64{&c.Slowdown, &c.PrefillSlowdown, &c.DecodeSlowdown} {
		if *f == 0 {
			*f = 1
		}
	}
	return c
}

// Validate reports the first invalid field, by name.
func (c Config) Validate() error {
	switch {
	case c.TTFT < 0:
		return fmt.Errorf("sim: config: ttft: %v: must be >= 0", c.TTFT)
	case c.PrefillPerToken < 0:
		return fmt.Errorf("sim: config: prefill_per_token: %v: must be >= 0", c.PrefillPerToken)
	case c.ITL < 0:
		return fmt.Errorf("sim: config: itl: %v: must be >= 0", c.ITL)
	case c.MaxNumSeqs < 0:
		return fmt.Errorf("sim: config: max_num_seqs: %d: must be > 0", c.MaxNumSeqs)
	case c.KVCacheTokens < 0:
		return fmt.Errorf("sim: config: kv_cache_tokens: %d: must be >= 0", c.KVCacheTokens)
	case c.BatchSlowdown < 0:
		return fmt.Errorf("sim: config: batch_slowdown: %v: must be >= 0", c.BatchSlowdown)
	case c.Jitter < 0 || c.Jitter >= 1:
		return fmt.Errorf("sim: config: jitter: %v: must be in [0, 1)", c.Jitter)
	case c.RunCV < 0 || c.RunCV >= 0.5:
		return fmt.Errorf("sim: config: run_cv: %v: must be in [0, 0.5)", c.RunCV)
	case c.Slowdown < 0:
		return fmt.Errorf("sim: config: slowdown: %v: must be >= 0 (0 means 1)", c.Slowdown)
	case c.PrefillSlowdown < 0:
		return fmt.Errorf("sim: config: prefill_slowdown: %v: must be >= 0 (0 means 1)", c.PrefillSlowdown)
	case c.DecodeSlowdown < 0:
		return fmt.Errorf("sim: config: decode_slowdown: %v: must be >= 0 (0 means 1)", c.DecodeSlowdown)
	case c.RestartCV < 0 || c.RestartCV >= 0.5:
		return fmt.Errorf("sim: config: restart_cv: %v: must be in [0, 0.5)", c.RestartCV)
	case c.MaxModelLen < 0:
		return fmt.Errorf("sim: config: max_model_len: %d: must be >= 0 (0 means %d)", c.MaxModelLen, DefaultMaxModelLen)
	case c.DefaultMaxTokens < 0:
		return fmt.Errorf("sim: config: default_max_tokens: %d: must be >= 0", c.DefaultMaxTokens)
	}
	var sum float64
	for f, r := range c.Faults {
		if !f.valid() {
			return fmt.Errorf("sim: config: faults: %q: unknown mode (have %s)", f, faultNames())
		}
		if r < 0 || r > 1 {
			return fmt.Errorf("sim: config: faults: %s: rate %v: must be in [0, 1]", f, r)
		}
		sum += r
	}
	if sum > 1 {
		return fmt.Errorf("sim: config: faults: rates sum to %v: must be at most 1", sum)
	}
	return nil
}

// ParseFaults parses "mode=rate,mode=rate" (e.g. "429=0.01,stall=0.001").
func ParseFaults(s string) (map[Fault]float64, error) {
	out := map[Fault]float64{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		mode, rate, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, fmt.Errorf("sim: faults: %q: want mode=rate", part)
		}
		var r float64
		if _, err := fmt.Sscanf(rate, "%g", &r); err != nil {
			return nil, fmt.Errorf("sim: faults: %q: rate: %w", part, err)
		}
		f := Fault(mode)
		if !f.valid() {
			return nil, fmt.Errorf("sim: faults: %q: unknown mode (have %s)", mode, faultNames())
		}
		out[f] = r
	}
	return out, nil
}
