package settings

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/gpu/dcgm"
	"github.com/llm-platform/harness/internal/trace"
	"github.com/llm-platform/harness/internal/worker"
)

// Setting is one configuration knob: its environment variable, its flag,
// its default and what it means. Settings is the single list
// docs/configuration.md's table is checked against.
type Setting struct {
	Env, Flag string
	// Default is the value taken when the setting is not given, written as
	// a user would write it; "" leaves the field zero (unset).
	Default string
	// SimDefault, when not empty, replaces Default when the target is the
	// embedded simulator (so that `make perf` on a fresh clone is quick).
	SimDefault string
	Help       string
	set        func(c *Config, v string) error
}

// DefaultDoc is the default as docs/configuration.md writes it.
func (s Setting) DefaultDoc() string {
	switch {
	case s.Default == "":
		return "(empty)"
	case s.SimDefault != "":
		return "`" + s.Default + "` (`" + s.SimDefault + "` against the embedded simulator)"
	}
	return "`" + s.Default + "`"
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

// ref takes a NAMESPACE/NAME (or nothing) into dst.
func ref(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if _, err := dcgm.ParseRef(v); v != "" && err != nil {
			return err
		}
		*dst(c) = v
		return nil
	}
}

// oneOf takes one of values into dst (an empty value is no setting).
func oneOf(values []string, dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if v != "" && !slices.Contains(values, v) {
			return fmt.Errorf("%q: want one of %s", v, strings.Join(values, ", "))
		}
		*dst(c) = v
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

// Settings lists every knob, in docs/configuration.md's order.
var Settings = []Setting{
	{Env: "PERF_TARGET", Flag: "perf.target", Default: "", Help: "base URL of the vLLM server or ingress; empty starts the embedded simulator",
		set: func(c *Config, v string) error { c.Target = v; return nil }},
	{Env: "PERF_HOST", Flag: "perf.host", Default: "", Help: "Host header, e.g. llm.local when PERF_TARGET is the ingress address",
		set: func(c *Config, v string) error { c.Host = v; return nil }},
	{Env: "PERF_MODEL", Flag: "perf.model", Default: "", Help: "model name; empty takes the first from /v1/models",
		set: func(c *Config, v string) error { c.Model = v; return nil }},
	{Env: "PERF_API_KEY", Flag: "perf.api-key", Default: "", Help: "bearer token sent with every request",
		set: func(c *Config, v string) error { c.APIKey = v; return nil }},
	{Env: "PERF_SIM_PRESET", Flag: "perf.sim-preset", Default: "rtx3060-tinyllama", Help: "embedded simulator preset when PERF_TARGET is empty: rtx3060-tinyllama or fast",
		set: func(c *Config, v string) error { c.SimPreset = v; return nil }},
	{Env: "PERF_SIM_RUN_CV", Flag: "perf.sim-run-cv", Default: "0", Help: "embedded simulator: run-to-run noise, the coefficient of variation of a speed factor drawn for every measured repeat (0.05 is 5%)",
		set: number(func(f float64) bool { return f >= 0 && f < 0.5 }, "a fraction in [0, 0.5)", func(c *Config) *float64 { return &c.SimRunCV })},
	{Env: "PERF_SIM_SLOWDOWN", Flag: "perf.sim-slowdown", Default: "1", Help: "embedded simulator: scale every latency by this factor (1.15 is a 15% slower target)",
		set: number(func(f float64) bool { return f > 0 }, "a factor > 0", func(c *Config) *float64 { return &c.SimSlowdown })},
	{Env: "PERF_SIM_PREFILL_SLOWDOWN", Flag: "perf.sim-prefill-slowdown", Default: "1", Help: "embedded simulator: scale the prefill alone (TTFT) by this factor, on top of PERF_SIM_SLOWDOWN",
		set: number(func(f float64) bool { return f > 0 }, "a factor > 0", func(c *Config) *float64 { return &c.SimPrefillSlowdown })},
	{Env: "PERF_SIM_DECODE_SLOWDOWN", Flag: "perf.sim-decode-slowdown", Default: "1", Help: "embedded simulator: scale the decode step alone (ITL, TPOT) by this factor, on top of PERF_SIM_SLOWDOWN",
		set: number(func(f float64) bool { return f > 0 }, "a factor > 0", func(c *Config) *float64 { return &c.SimDecodeSlowdown })},
	{Env: "PERF_SIM_RESTART_CV", Flag: "perf.sim-restart-cv", Default: "0", Help: "embedded simulator: the spread between server lifetimes, the CV of one speed factor drawn when the simulator starts (a restarted vLLM; 0.05 is 5%); PERF_SIM_RUN_CV is the spread between repeats",
		set: number(func(f float64) bool { return f >= 0 && f < 0.5 }, "a fraction in [0, 0.5)", func(c *Config) *float64 { return &c.SimRestartCV })},
	{Env: "PERF_SIM_RESTART_SEED", Flag: "perf.sim-restart-seed", Default: "", Help: "embedded simulator: seed of the lifetime's draw; empty draws from the clock, so each run is a new lifetime",
		set: func(c *Config, v string) error {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil || n == 0 {
				return fmt.Errorf("%q: want a whole number >= 1", v)
			}
			c.SimRestartSeed = n
			return nil
		}},
	{Env: "PERF_SIM_MAX_NUM_SEQS", Flag: "perf.sim-max-num-seqs", Default: "", Help: "embedded simulator: how many sequences run at once (vLLM's --max-num-seqs; the preset's when empty); more wait, so this is its capacity under a TTFT SLO",
		set: wholeAtLeast(1, func(c *Config) *int { return &c.SimMaxNumSeqs })},
	{Env: "PERF_SIM_KV_CACHE_TOKENS", Flag: "perf.sim-kv-cache-tokens", Default: "", Help: "embedded simulator: its KV cache in tokens (the preset's when empty; rtx3060-tinyllama has 380000); a tight one shows KV-cache pressure and preemptions",
		set: wholeAtLeast(1, func(c *Config) *int { return &c.SimKVCacheTokens })},
	{Env: "PERF_PAYLOADS_FILE", Flag: "perf.payloads-file", Default: "", Help: "payloads YAML; empty uses fixtures/payloads.yaml",
		set: func(c *Config, v string) error { c.PayloadsFile = v; return nil }},
	{Env: "PERF_PAYLOADS", Flag: "perf.payloads", Default: "short,long", Help: "payload names, comma-separated",
		set: func(c *Config, v string) error {
			c.Payloads = nil
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					c.Payloads = append(c.Payloads, p)
				}
			}
			return nil
		}},
	{Env: "PERF_CONCURRENCY", Flag: "perf.concurrency", Default: "1,2,4,8,16", Help: "closed-loop VUs per cell, comma-separated; none for no closed-loop cells",
		set: func(c *Config, v string) (err error) {
			c.Concurrency, err = list(strconv.Atoi, positive[int])(v)
			return
		}},
	{Env: "PERF_ITERATIONS_PER_VU", Flag: "perf.iterations-per-vu", Default: "48", SimDefault: "2", Help: "closed loop: requests per VU per cell",
		set: nonNegInt(func(c *Config) *int { return &c.IterationsPerVU })},
	{Env: "PERF_DURATION", Flag: "perf.duration", Default: "", Help: "per cell: stop releasing requests after this long (with iterations: whichever ends first)",
		set: dur(func(c *Config) *time.Duration { return &c.Duration })},
	{Env: "PERF_RATES", Flag: "perf.rates", Default: "", Help: "open-loop arrival rates in requests/s, comma-separated",
		set: func(c *Config, v string) (err error) { c.Rates, err = list(atof, positive[float64])(v); return }},
	{Env: "PERF_REQUESTS", Flag: "perf.requests", Default: "100", Help: "open loop: requests per cell",
		set: nonNegInt(func(c *Config) *int { return &c.Requests })},
	{Env: "PERF_WARMUP", Flag: "perf.warmup", Default: "1", SimDefault: "0", Help: "warm-up requests per VU (open loop: per request/s of rate), not recorded",
		set: nonNegInt(func(c *Config) *int { return &c.Warmup })},
	{Env: "PERF_RAMP_UP", Flag: "perf.ramp-up", Default: "", Help: "closed loop: spread the VUs' first requests over this long",
		set: dur(func(c *Config) *time.Duration { return &c.RampUp })},
	{Env: "PERF_TIMEOUT", Flag: "perf.timeout", Default: "2m", Help: "per-request deadline; past it the request counts as client_abort (NGINX: 499)",
		set: dur(func(c *Config) *time.Duration { return &c.Timeout })},
	{Env: "PERF_READY_TIMEOUT", Flag: "perf.ready-timeout", Default: "2m", Help: "how long to wait for the target's /v1/models before failing",
		set: dur(func(c *Config) *time.Duration { return &c.ReadyTimeout })},
	{Env: "PERF_REPORT_DIR", Flag: "perf.report-dir", Default: "reports", Help: "folder for results.json, report.md, charts and junit.xml",
		set: func(c *Config, v string) error { c.ReportDir = v; return nil }},
	{Env: "PERF_BASELINE", Flag: "perf.baseline", Default: "", Help: "results.json of an earlier run to gate against",
		set: func(c *Config, v string) error { c.Baseline = v; return nil }},
	{Env: "PERF_COMPARE", Flag: "perf.compare", Default: "", Help: "results.json of a run to show side by side, e.g. the same cells direct to the backend (the ingress overhead)",
		set: func(c *Config, v string) error { c.Compare = v; return nil }},
	{Env: "PERF_REPEATS", Flag: "perf.repeats", Default: "1", Help: "measure each cell this many times, interleaved across the sweep; the gate needs 4 or more on both sides",
		set: wholeAtLeast(1, func(c *Config) *int { return &c.Repeats })},
	{Env: "PERF_TOLERANCE", Flag: "perf.tolerance", Default: "0.07", Help: "baseline gate: the smallest relative change of a median worth failing for",
		set: fraction(func(c *Config) *float64 { return &c.Tolerance })},
	{Env: "PERF_ALPHA", Flag: "perf.alpha", Default: "0.05", Help: "baseline gate: significance level of the one-sided Mann-Whitney test over the repeats",
		set: number(func(f float64) bool { return f > 0 && f < 1 }, "a level between 0 and 1, e.g. 0.05", func(c *Config) *float64 { return &c.Alpha })},
	{Env: "PERF_MAX_CV", Flag: "perf.max-cv", Default: "0.10", Help: "a metric whose repeats vary more than this (coefficient of variation) is too noisy to gate on; 0 gates every metric",
		set: fraction(func(c *Config) *float64 { return &c.MaxCV })},
	{Env: "PERF_STRICT_LOAD", Flag: "perf.strict-load", Default: "0", Help: "1 fails a cell whose load did not match its plan (client- or server-limited, see the load self-check); 0 warns",
		set: boolean(func(c *Config) *bool { return &c.StrictLoad })},
	{Env: "PERF_HISTORY", Flag: "perf.history", Default: "", Help: "run history folder: the run is gated against the runs since the last change point or acceptance, appended to it, and trend.md written; empty: no history",
		set: func(c *Config, v string) error { c.History = v; return nil }},
	{Env: "PERF_HISTORY_MIN_RUNS", Flag: "perf.history-min-runs", Default: "5", Help: "history gate: the fewest runs since the last change point it gates with; fewer say \"no history gate yet\"",
		set: wholeAtLeast(3, func(c *Config) *int { return &c.HistoryMinRuns })},
	{Env: "PERF_CHANGEPOINT_MIN_SEGMENT", Flag: "perf.changepoint-min-segment", Default: "4", Help: "change points: the fewest runs a level must hold on each side of one (E-divisive's minimum segment)",
		set: wholeAtLeast(2, func(c *Config) *int { return &c.ChangepointMinSegment })},
	{Env: "PERF_CHANGEPOINT_ALPHA", Flag: "perf.changepoint-alpha", Default: "0.05", Help: "change points: significance of E-divisive's permutation test",
		set: number(func(f float64) bool { return f > 0 && f < 1 }, "a level between 0 and 1, e.g. 0.05", func(c *Config) *float64 { return &c.ChangepointAlpha })},
	{Env: "PERF_ROUTE_KIND", Flag: "perf.route-kind", Default: "", Help: "what carries requests to the server: ingress, gateway, or empty for straight to it; recorded in results.json, and each kind is a history series of its own",
		set: oneOf([]string{"ingress", "gateway"}, func(c *Config) *string { return &c.RouteKind })},
	{Env: "PERF_WORKERS", Flag: "perf.workers", Default: "0", Help: "drive every cell from this many worker pods (an Indexed Job the harness creates and deletes; docs/distributed.md); 0: this process drives it",
		set: nonNegInt(func(c *Config) *int { return &c.Workers.N })},
	{Env: "PERF_KUBECONFIG", Flag: "perf.kubeconfig", Default: "", Help: "the cluster of the workers and of the DCGM exporter; empty: KUBECONFIG, else ~/.kube/config",
		set: func(c *Config, v string) error { c.Workers.Kubeconfig = v; return nil }},
	{Env: "PERF_WORKER_NAMESPACE", Flag: "perf.worker-namespace", Default: "default", Help: "namespace of the workers' Job",
		set: func(c *Config, v string) error { c.Workers.Namespace = v; return nil }},
	{Env: "PERF_WORKER_IMAGE", Flag: "perf.worker-image", Default: worker.Image, Help: "the workers' image (llmload; make worker-image builds and loads it into Minikube or the lab)",
		set: func(c *Config, v string) error { c.Workers.Image = v; return nil }},
	{Env: "PERF_WORKER_NODE_SELECTOR", Flag: "perf.worker-node-selector", Default: "", Help: "the workers' node selector, key=value pairs separated by commas",
		set: selector(func(c *Config) *map[string]string { return &c.Workers.NodeSelector })},
	{Env: "PERF_WORKER_CPU", Flag: "perf.worker-cpu", Default: "", Help: "each worker's CPU: LIMIT (requested too) or REQUEST:LIMIT, e.g. 2 or 10m:250m; empty: none set",
		set: cpu},
	{Env: "PERF_WORKER_TARGET", Flag: "perf.worker-target", Default: "", Help: "the server's base URL as the worker pods reach it (a Service's address); empty: PERF_TARGET",
		set: func(c *Config, v string) error { c.Workers.Target = v; return nil }},
	{Env: "PERF_WORKER_START_TIMEOUT", Flag: "perf.worker-start-timeout", Default: "3m", Help: "how long to wait for the worker pods to be ready; those not ready by then are lost to every cell (at least one must be)",
		set: dur(func(c *Config) *time.Duration { return &c.Workers.StartTimeout })},
	{Env: "PERF_WORKER_MAX_CLOCK_BOUND", Flag: "perf.worker-max-clock-bound", Default: "25ms", Help: "flag a worker whose clock offset is bounded more loosely than this (half the round trip through the API server)",
		set: dur(func(c *Config) *time.Duration { return &c.Workers.MaxClockBound })},
	{Env: "PERF_PROMETHEUS_RW_URL", Flag: "perf.prometheus-rw-url", Default: "", Help: "send each finished cell's figures to this Prometheus remote-write URL (remote write 1.0, e.g. http://prometheus:9090/api/v1/write; docs/metrics.md); a failed push is retried and reported, never fails the sweep; empty: none",
		set: func(c *Config, v string) error {
			if v != "" {
				if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%q: want an http(s) URL such as http://prometheus:9090/api/v1/write", v)
				}
			}
			c.PrometheusRW = v
			return nil
		}},
	{Env: "PERF_GATE_REQUIRED", Flag: "perf.gate-required", Default: "0", Help: "1 fails a cell whose gate is inconclusive (too few repeats on either side), for CI that must gate",
		set: boolean(func(c *Config) *bool { return &c.GateRequired })},
	{Env: "PERF_SLO_TTFT_MS", Flag: "perf.slo-ttft-ms", Default: "", Help: "SLO on p95 TTFT in ms; also the per-request goodput threshold",
		set: millis(func(c *Config) *time.Duration { return &c.SLOTTFT })},
	{Env: "PERF_SLO_E2E_MS", Flag: "perf.slo-e2e-ms", Default: "", Help: "SLO on p95 E2E latency in ms; also the per-request goodput threshold",
		set: millis(func(c *Config) *time.Duration { return &c.SLOE2E })},
	{Env: "PERF_MAX_ERROR_RATE", Flag: "perf.max-error-rate", Default: "0", Help: "the failed fraction of a cell's requests allowed",
		set: fraction(func(c *Config) *float64 { return &c.MaxErrorRate })},
	{Env: "PERF_GPU", Flag: "perf.gpu", Default: "", Help: "NVML: GPUs to sample, indexes or UUIDs, comma-separated; empty samples all (with DCGM see PERF_GPU_POD, PERF_GPU_UUID)",
		set: func(c *Config, v string) error { c.GPU = v; return nil }},
	{Env: "PERF_GPU_INTERVAL", Flag: "perf.gpu-interval", Default: "500ms", Help: "GPU sampling interval, at least 100ms",
		set: dur(func(c *Config) *time.Duration { return &c.GPUInterval })},
	{Env: "PERF_REQUIRE_GPU", Flag: "perf.require-gpu", Default: "0", Help: "1 fails the suite when no GPU can be sampled (for GPU runners)",
		set: boolean(func(c *Config) *bool { return &c.RequireGPU })},
	{Env: "PERF_GPU_SOURCE", Flag: "perf.gpu-source", Default: "auto", Help: "where GPU figures come from: nvml (this machine's GPU), dcgm (the cluster's DCGM exporter) or auto (NVML when a local GPU answers, else a DCGM exporter when one is found)",
		set: oneOf([]string{"nvml", "dcgm", "auto"}, func(c *Config) *string { return &c.GPUSource })},
	{Env: "PERF_DCGM_URL", Flag: "perf.dcgm-url", Default: "", Help: "a DCGM exporter's /metrics URL, read directly (no kubeconfig needed); empty: the Service PERF_DCGM_SERVICE through the kubeconfig's API server",
		set: func(c *Config, v string) error {
			if v != "" {
				if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%q: want an http(s) URL such as http://gpu-node:9400/metrics", v)
				}
			}
			c.DCGM.URL = v
			return nil
		}},
	{Env: "PERF_DCGM_SERVICE", Flag: "perf.dcgm-service", Default: "gpu-operator/nvidia-dcgm-exporter", Help: "NAMESPACE/NAME of the DCGM exporter's Service (the GPU Operator's by default), read through the API server's proxy",
		set: ref(func(c *Config) *string { return &c.DCGM.Service })},
	{Env: "PERF_GPU_POD", Flag: "perf.gpu-pod", Default: "llm/vllm", Help: "NAMESPACE/NAME-PREFIX of the model server's pod, whose GPU the DCGM exporter's pod labels (or its node) identify",
		set: ref(func(c *Config) *string { return &c.DCGM.Pod })},
	{Env: "PERF_GPU_UUID", Flag: "perf.gpu-uuid", Default: "", Help: "with DCGM, the UUID of the GPU serving the model, when neither the exporter's pod labels nor a one-GPU node tell",
		set: func(c *Config, v string) error { c.DCGM.UUID = v; return nil }},
	{Env: "PERF_PROGRESS", Flag: "perf.progress", Default: "1", Help: "a live line per running cell on a terminal; 0 turns it off",
		set: boolean(func(c *Config) *bool { return &c.Progress })},
	{Env: "PERF_STREAM", Flag: "perf.stream", Default: "1", Help: "0 sends non-streamed requests, as hey does: TTFT then equals E2E and ITL is not measured",
		set: boolean(func(c *Config) *bool { return &c.Stream })},
	{Env: "PERF_CA_FILE", Flag: "perf.ca-file", Default: "", Help: "PEM bundle of the CA that signed an https target's certificate (added to the system's roots)",
		set: func(c *Config, v string) error { c.CAFile = v; return nil }},
	{Env: "PERF_INSECURE_SKIP_VERIFY", Flag: "perf.insecure-skip-verify", Default: "0", Help: "1 skips verification of an https target's certificate; the report warns",
		set: boolean(func(c *Config) *bool { return &c.InsecureSkipVerify })},
	{Env: "PERF_SEARCH", Flag: "perf.search", Default: "", Help: "concurrency or rate: instead of the matrix, search each payload's capacity, the highest load meeting the SLOs (needs PERF_SLO_TTFT_MS, PERF_SLO_E2E_MS or PERF_MIN_GOOD_RATIO)",
		set: oneOf([]string{capacity.Concurrency, capacity.Rate}, func(c *Config) *string { return &c.Search })},
	{Env: "PERF_SEARCH_START", Flag: "perf.search-start", Default: "1", Help: "the first load a search tries (it doubles from there): near a sweep's knee saves probes, above all for a rate",
		set: number(func(f float64) bool { return f >= 1 }, "a load >= 1", func(c *Config) *float64 { return &c.SearchStart })},
	{Env: "PERF_SEARCH_MAX", Flag: "perf.search-max", Default: "256", Help: "the largest load a search tries: VUs, or requests/s",
		set: number(func(f float64) bool { return f >= 1 }, "a load >= 1", func(c *Config) *float64 { return &c.SearchMax })},
	{Env: "PERF_SEARCH_RESOLUTION", Flag: "perf.search-resolution", Default: "0.05", Help: "a rate search stops when its bracket is this narrow, relative to its low end",
		set: number(func(f float64) bool { return f > 0 && f < 1 }, "a fraction between 0 and 1", func(c *Config) *float64 { return &c.SearchResolution })},
	{Env: "PERF_SEARCH_MAX_REPEATS", Flag: "perf.search-max-repeats", Default: "10", Help: "repeats a search probe may take before it counts as failed, undecided",
		set: wholeAtLeast(4, func(c *Config) *int { return &c.SearchMaxRepeats })},
	{Env: "PERF_SEARCH_BUDGET", Flag: "perf.search-budget", Default: "", Help: "wall time a search may take per payload; when it ends, the bracket reached is reported",
		set: dur(func(c *Config) *time.Duration { return &c.SearchBudget })},
	{Env: "PERF_STOP_EARLY", Flag: "perf.stop-early", Default: "auto", Help: "stop a cell that can only fail (over-saturated, or an SLO broken with confidence): auto for search probes and open-loop cells, 1 for every cell, 0 never",
		set: oneOf([]string{"auto", "1", "0"}, func(c *Config) *string { return &c.StopEarly })},
	{Env: "PERF_TRACE", Flag: "perf.trace", Default: "", Help: "a request trace (Mooncake's JSONL, the Azure LLM inference traces' CSV or BurstGPT's CSV: PERF_TRACE_FORMAT) replayed as one open-loop cell instead of the matrix, e.g. fixtures/traces/sample.jsonl",
		set: func(c *Config, v string) error { c.Trace = v; return nil }},
	{Env: "PERF_TRACE_SPEEDUP", Flag: "perf.trace-speedup", Default: "1", Help: "replay the trace this many times faster (its timestamps divided by it)",
		set: number(func(f float64) bool { return f > 0 }, "a factor > 0", func(c *Config) *float64 { return &c.TraceSpeedup })},
	{Env: "PERF_TRACE_BLOCK_TOKENS", Flag: "perf.trace-block-tokens", Default: "512", Help: "the tokens of one hash_ids block of the trace (Mooncake's are 512)",
		set: wholeAtLeast(1, func(c *Config) *int { return &c.TraceBlockTokens })},
	{Env: "PERF_TRACE_FORMAT", Flag: "perf.trace-format", Default: "", Help: "the trace's format: mooncake (JSONL), azure (the Azure LLM inference traces' CSV, 2023 and 2024) or burstgpt (CSV); empty detects it from the first line",
		set: oneOf(trace.Formats, func(c *Config) *string { return &c.TraceFormat })},
	{Env: "PERF_TRACE_START", Flag: "perf.trace-start", Default: "0s", Help: "replay the trace from this long after its first request (a window of a long production trace)",
		set: dur(func(c *Config) *time.Duration { return &c.TraceStart })},
	{Env: "PERF_TRACE_DURATION", Flag: "perf.trace-duration", Default: "0s", Help: "replay this much of the trace from PERF_TRACE_START, in the trace's own time; 0 is to its end",
		set: dur(func(c *Config) *time.Duration { return &c.TraceDuration })},
	{Env: "PERF_TRACE_FIT", Flag: "perf.trace-fit", Default: "scale", Help: "a trace request over the model's window: scale (every input and block by one factor so the longest fits), clip (cut the over-long inputs), skip (leave them out) or none (send them: context_overflow)",
		set: oneOf(trace.FitModes, func(c *Config) *string { return &c.TraceFit })},
	{Env: "PERF_MAX_MODEL_LEN", Flag: "perf.max-model-len", Default: "", Help: "the model's context window in tokens, prompt and output together; empty takes max_model_len from /v1/models",
		set: wholeAtLeast(1, func(c *Config) *int { return &c.MaxModelLen })},
	{Env: "PERF_MIN_GOOD_RATIO", Flag: "perf.min-good-ratio", Default: "", Help: "SLO on goodput_rps / rps: the share of requests meeting every SLO a cell must reach",
		set: fraction(func(c *Config) *float64 { return &c.MinGoodRatio })},
}
