// Command llmload drives a vLLM-compatible server with streamed chat
// completions over a payload x concurrency (or x rate) grid and prints each
// cell's figures: the load engine of the perf suite, usable on its own like
// hey or k6. With no -target it starts the embedded simulator.
//
//	llmload -payload short,long -vus 1,4,16 -iterations-per-vu 48
//	llmload -target http://192.168.49.2 -host llm.local -payload long -rate 2,4 -requests 100
//
// `llmload worker` is one load generator of the perf suite's distributed
// sweep (PERF_WORKERS): the harness runs it as the pods of an Indexed Job
// and hands it the cells (package worker).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/sim"
)

// modelLookupTimeout bounds the /v1/models call that resolves the model.
const modelLookupTimeout = 30 * time.Second

func main() {
	clock.TuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmload:", err)
		os.Exit(1)
	}
}

// options are the parsed flags.
type options struct {
	target, host, apiKey, model string
	preset, simFaults           string
	payloadsFile                string
	payloads                    []string
	vus                         []int
	rates                       []float64
	iterations, perVU           int
	requests, maxInFlight       int
	duration, rampUp            time.Duration
	arrival                     string
	warmup                      int
	timeout, idle               time.Duration
	noStream                    bool
	caFile                      string
	insecure                    bool
	records                     string
	slo                         aggregate.SLO
	jsonOut                     bool
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("llmload", flag.ContinueOnError)
	fs.StringVar(&o.target, "target", "", "base URL of the server (default: start the embedded simulator)")
	fs.StringVar(&o.host, "host", "", "Host header override, e.g. llm.local through an ingress address")
	fs.StringVar(&o.apiKey, "api-key", "", "bearer token")
	fs.StringVar(&o.model, "model", "", "model name (default: the first from /v1/models)")
	fs.StringVar(&o.preset, "sim-preset", "fast", "embedded simulator preset: fast or rtx3060-tinyllama")
	fs.StringVar(&o.simFaults, "sim-faults", "", "embedded simulator fault rates, e.g. 429=0.01,stall=0.001")
	fs.StringVar(&o.payloadsFile, "payloads-file", "", "payloads YAML (default: fixtures/payloads.yaml, built in)")
	payloads := fs.String("payload", "short", "payload names, comma-separated")
	vus := fs.String("vus", "", "closed-loop concurrencies, comma-separated (e.g. 1,2,4,8,16)")
	rates := fs.String("rate", "", "open-loop arrival rates in requests/s, comma-separated")
	fs.IntVar(&o.iterations, "iterations", 0, "closed loop: total requests per cell, shared by the VUs")
	fs.IntVar(&o.perVU, "iterations-per-vu", 0, "closed loop: requests per VU per cell (default 48 when no bound is set)")
	fs.IntVar(&o.requests, "requests", 0, "open loop: requests per cell")
	fs.DurationVar(&o.duration, "duration", 0, "stop releasing requests after this long per cell")
	fs.DurationVar(&o.rampUp, "ramp-up", 0, "closed loop: spread the VUs' first requests over this long")
	fs.StringVar(&o.arrival, "arrival", "constant", "open-loop arrivals: constant or poisson")
	fs.IntVar(&o.maxInFlight, "max-in-flight", 0, "open loop: cap on requests in flight (default 1024)")
	fs.IntVar(&o.warmup, "warmup", 0, "warm-up requests per cell, not recorded")
	fs.DurationVar(&o.timeout, "timeout", openai.DefaultTimeout, "per-request deadline (past it the request is client_abort)")
	fs.DurationVar(&o.idle, "idle-timeout", openai.DefaultIdleTimeout, "longest server silence (past it: timeout)")
	fs.BoolVar(&o.noStream, "no-stream", false, "send stream: false (TTFT then equals E2E)")
	fs.StringVar(&o.caFile, "ca-file", "", "PEM bundle of the CA that signed an https target's certificate")
	fs.BoolVar(&o.insecure, "insecure-skip-verify", false, "do not verify an https target's certificate")
	fs.StringVar(&o.records, "records", "", "write every request's record to this JSONL file")
	fs.DurationVar(&o.slo.TTFT, "slo-ttft", 0, "goodput SLO on TTFT (0: unset)")
	fs.DurationVar(&o.slo.TPOT, "slo-tpot", 0, "goodput SLO on TPOT (0: unset)")
	fs.DurationVar(&o.slo.E2E, "slo-e2e", 0, "goodput SLO on E2E (0: unset)")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object per cell instead of a table")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.payloads = splitList(*payloads)
	var err error
	if o.vus, err = parseList("vus", *vus, strconv.Atoi); err != nil {
		return o, err
	}
	if o.rates, err = parseList("rate", *rates, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) }); err != nil {
		return o, err
	}
	if len(o.vus) == 0 && len(o.rates) == 0 {
		return o, errors.New("vus/rate: neither is set: give -vus (closed loop) or -rate (open loop)")
	}
	if o.iterations > 0 && o.perVU > 0 {
		return o, errors.New("iterations/iterations-per-vu: both are set: give one")
	}
	if len(o.vus) > 0 && o.iterations == 0 && o.perVU == 0 && o.duration == 0 {
		o.perVU = 48 // the team's 192 iterations at 4 VUs
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseList[T any](field, s string, conv func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range splitList(s) {
		v, err := conv(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: not a number", field, f)
		}
		out = append(out, v)
	}
	return out, nil
}

// specs expands the grid into cells, validating each before anything runs.
func (o options) specs(t measurement.Requests, set payload.Set) ([]measurement.Spec, error) {
	var out []measurement.Spec
	for _, name := range o.payloads {
		add := func(p load.Plan) error {
			p.Warmup, p.Duration = o.warmup, o.duration
			s := measurement.Spec{Target: t, Payload: name, Plan: p, SLO: o.slo}
			if err := s.Validate(set); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		}
		for _, v := range o.vus {
			it := o.iterations
			if o.perVU > 0 {
				it = o.perVU * v
			}
			if err := add(load.Plan{VUs: v, Iterations: it, RampUp: o.rampUp}); err != nil {
				return nil, err
			}
		}
		for _, r := range o.rates {
			p := load.Plan{Rate: r, Requests: o.requests, Arrival: load.Arrival(o.arrival), MaxInFlight: o.maxInFlight}
			if err := add(p); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// resolveTarget starts the embedded simulator when no target is named and
// asks the target for its model when none is; stop stops the simulator.
func (o options) resolveTarget(ctx context.Context, t *measurement.Requests, out io.Writer) (stop func(), err error) {
	stop = func() {}
	if o.target == "" {
		cfg, err := sim.Preset(o.preset)
		if err != nil {
			return stop, err
		}
		if cfg.Faults, err = sim.ParseFaults(o.simFaults); err != nil {
			return stop, err
		}
		in, err := sim.Start(cfg, "")
		if err != nil {
			return stop, err
		}
		stop = func() { _ = in.Close() }
		t.BaseURL = in.URL
		fmt.Fprintf(out, "target: embedded simulator (preset %s) at %s\n", o.preset, in.URL)
	} else {
		fmt.Fprintf(out, "target: %s (host %q)\n", o.target, o.host)
	}
	if t.Model == "" {
		lctx, cancel := context.WithTimeout(ctx, modelLookupTimeout)
		hc := t.HTTPClient(modelLookupTimeout)
		models, err := openai.ListModels(lctx, hc, t.Endpoint)
		hc.CloseIdleConnections()
		cancel()
		if err != nil {
			stop()
			return func() {}, openai.ExplainTLS(err, "set -ca-file to its CA's PEM bundle, or -insecure-skip-verify")
		}
		t.Model = models[0]
	}
	fmt.Fprintf(out, "model: %s\n\n", t.Model)
	return stop, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) > 0 && args[0] == "worker" {
		return serveWorker(ctx, args[1:], out)
	}
	o, err := parse(args)
	if err != nil {
		return err
	}
	set, err := payload.Load(o.payloadsFile)
	if err != nil {
		return err
	}
	trust, err := openai.TLSConfig(o.caFile, o.insecure)
	if err != nil {
		return fmt.Errorf("-ca-file: %w", err)
	}
	t := measurement.Requests{
		Endpoint: openai.Endpoint{BaseURL: o.target, Host: o.host, APIKey: o.apiKey, TLS: trust},
		Model:    o.model, Timeout: o.timeout, IdleTimeout: o.idle, NoStream: o.noStream,
	}
	if t.BaseURL == "" {
		t.BaseURL = "http://placeholder.invalid" // validated now, replaced once the simulator is up
	}
	specs, err := o.specs(t, set)
	if err != nil {
		return err
	}
	stop, err := o.resolveTarget(ctx, &t, out)
	if err != nil {
		return err
	}
	defer stop()

	var rec *os.File
	if o.records != "" {
		if rec, err = os.Create(o.records); err != nil {
			return err
		}
		defer rec.Close()
	}
	var results []measurement.Measured
	for _, s := range specs {
		s.Target.BaseURL, s.Target.Model = t.BaseURL, t.Model
		if rec != nil {
			s.Records = rec
		}
		r, err := measurement.Run(ctx, s, set)
		if err != nil {
			return err
		}
		results = append(results, r)
		if o.jsonOut {
			if err := json.NewEncoder(out).Encode(r); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			break // interrupted: report what finished
		}
	}
	if !o.jsonOut {
		writeTable(out, results)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted in cell %d of %d; the table shows the requests that finished", len(results), len(specs))
	}
	return nil
}
