// Package target is the server a sweep measures, resolved and ready: the
// URL it was given, or the embedded simulator started in its place; its
// /v1/models answered and the model picked; whether it exposes vLLM's
// metrics; the GPU that serves it sampled (NVML, or the cluster's DCGM
// exporter) into the report folder's
// GPU timeline; and its software stack recorded. It also sizes prompts as
// the target counts them (its /tokenize) and times its pace.
//
// Open either returns a Target that Close releases, or an error with
// nothing left open.
package target

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/scrape"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/trace"
)

// RequestTimeout bounds one side request to the target: a /metrics scrape,
// a /tokenize, a /version.
const RequestTimeout = 10 * time.Second

// Options say which target to open and how.
type Options struct {
	// URL is the target's base URL; "" starts the embedded simulator.
	URL, Host, Model, APIKey string
	TLS                      *tls.Config
	// Sim is the embedded simulator's configuration, used when URL is "";
	// SimPreset names it in the report.
	Sim       sim.Config
	SimPreset string
	// ReadyTimeout bounds the wait for /v1/models.
	ReadyTimeout time.Duration
	// GPU selects the GPUs to sample ("" all), every GPUInterval, into
	// the CSV file GPUTimeline; RequireGPU makes a missing GPU an error.
	GPU         string
	GPUInterval time.Duration
	GPUTimeline string
	RequireGPU  bool
	// GPUSource is nvml, dcgm or auto (NVML when a local GPU answers,
	// else DCGM); DCGM opens the DCGM exporter's source, nil when none is
	// configured.
	GPUSource string
	DCGM      func(context.Context) (gpu.Source, error)
	// NVML opens the local GPUs GPU selects; nil is the NVIDIA library
	// (nvml.Open). A test sets it to stand in for a machine with a GPU.
	NVML func(selection string) (gpu.Source, error)
}

// Target is an opened target.
type Target struct {
	// Endpoint is where requests go (the simulator's URL when it runs).
	Endpoint openai.Endpoint
	// Model is the model requests are sent for.
	Model string
	// HTTP is a client for side requests (RequestTimeout each).
	HTTP *http.Client
	// Simulator names the embedded simulator's preset; "" for a real target.
	Simulator string
	// Metrics says the target serves vLLM's /metrics.
	Metrics bool
	// GPUs are the sampled GPUs; GPUReason says why there are none.
	GPUs      []results.GPU
	GPUReason string
	// Payloads are the run's payloads with their prompts sized for this
	// target (Prepare).
	Payloads payload.Set
	// Replay is the replayed trace as fitted to the model's window
	// (Prepare): the requests and schedule sent.
	Replay trace.Trace

	sim     *sim.Instance
	sampler *gpu.Sampler
	gpuFile *os.File
}

// Open resolves the target (starting the embedded simulator when no URL
// is given), waits for it to serve /v1/models, picks the model, opens the
// GPUs and checks for vLLM's metrics.
func Open(ctx context.Context, o Options) (t *Target, err error) {
	t = &Target{Endpoint: openai.Endpoint{BaseURL: o.URL, Host: o.Host, APIKey: o.APIKey, TLS: o.TLS}}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	t.HTTP = t.Endpoint.HTTPClient(RequestTimeout)
	if o.URL == "" {
		if t.sim, err = sim.Start(o.Sim, ""); err != nil {
			return t, err
		}
		t.Endpoint.BaseURL, t.Simulator = t.sim.URL, o.SimPreset
	}
	models, err := t.waitReady(ctx, o.ReadyTimeout)
	if err != nil {
		return t, err
	}
	t.Model = o.Model
	if t.Model == "" {
		t.Model = models[0]
	} else if !slices.Contains(models, t.Model) {
		return t, fmt.Errorf("target: PERF_MODEL: %q is not served; the target lists %s", t.Model, strings.Join(models, ", "))
	}
	if err := t.openGPU(ctx, o); err != nil {
		return t, err
	}
	_, serr := t.Scrape(ctx)
	t.Metrics = serr == nil
	return t, nil
}

// waitReady polls /v1/models until it answers or timeout passes.
func (t *Target) waitReady(ctx context.Context, timeout time.Duration) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		models, err := openai.ListModels(ctx, t.HTTP, t.Endpoint)
		if err == nil {
			return models, nil
		}
		if openai.IsCertificateError(err) { // waiting cannot fix it
			return nil, fmt.Errorf("target %s: %w", t.Endpoint.BaseURL, openai.ExplainTLS(err, "set PERF_CA_FILE to its CA's PEM bundle, or PERF_INSECURE_SKIP_VERIFY=1 to skip verification"))
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("target %s not ready within %v (PERF_READY_TIMEOUT): last error: %w", t.Endpoint.BaseURL, timeout, err)
		case <-tick.C:
		}
	}
}

// Scrape reads the target's /metrics once.
func (t *Target) Scrape(ctx context.Context) (scrape.Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	return scrape.Take(ctx, t.HTTP, t.Endpoint)
}

// NewRun draws the embedded simulator's run-to-run noise for the next
// repeat, when it is configured; a real target is left alone.
func (t *Target) NewRun() {
	if t.sim != nil {
		t.sim.Server.NewRun()
	}
}

// Close stops GPU sampling and the embedded simulator and closes the side
// requests' connections. It may be called again.
func (t *Target) Close() {
	if t.HTTP != nil {
		t.HTTP.CloseIdleConnections()
	}
	if t.sampler != nil {
		_ = t.sampler.Stop()
		_ = t.gpuFile.Close()
		t.sampler = nil
	}
	if t.sim != nil {
		_ = t.sim.Close()
		t.sim = nil
	}
}
