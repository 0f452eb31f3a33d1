// Package measurement runs one measurement of a load test: a payload
// against a target on one load plan, folded into aggregate.Figures. It is
// the glue that the perf suite and the llmload command share: it validates
// everything before any request is sent, builds the client, runs the
// engine, and folds the records (Run). For the perf suite, Repeat measures
// one repeat of a cell with what watches it: the server's /metrics delta,
// the GPU window, the live progress line, early stop and the load
// self-check, into the cell's results.
package measurement

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/record"
)

// Requests is the server under test.
type Requests struct {
	openai.Endpoint
	// Model is sent in every request; resolve it with ResolveModel first
	// when the user named none.
	Model string
	// Timeout and IdleTimeout: see openai.Config.
	Timeout     time.Duration
	IdleTimeout time.Duration
	// NoStream sends non-streamed requests.
	NoStream bool
}

// Spec is one cell.
type Spec struct {
	Target  Requests
	Payload string
	Plan    load.Plan
	SLO     aggregate.SLO
	// Records, when set, receives every measured record as a JSON line.
	Records io.Writer
	// Observe, when set, also sees every measured record (a live progress
	// line, say); it must be cheap and safe for concurrent use.
	Observe load.Sink
	// AfterWarmup, when set, is called between the warm-up and the
	// measured requests (with no warm-up: before them), on the same
	// connections: the place to read the server's counters or open a GPU
	// sampling window that must cover the measured requests only.
	AfterWarmup func(context.Context)
	// Begin, when set, is called after AfterWarmup and returns the instant
	// the measured requests start at (zero: at once): a distributed
	// sweep's worker waits there for the harness's common start.
	Begin func(context.Context) time.Time
	// Export keeps the figures' mergeable form in Measured.Partial (a
	// worker ships it to the harness).
	Export bool
	// Wrap, when set, wraps the client the engine drives, for the warm-up
	// and the measured requests alike: the accuracy checks interleave a
	// reference client with it (package accuracy).
	Wrap func(load.Doer) load.Doer
}

// Measured is a finished cell.
type Measured struct {
	Payload payload.Payload   `json:"payload"`
	Plan    load.Plan         `json:"plan"`
	Summary load.Tally        `json:"summary"`
	Stats   aggregate.Figures `json:"stats"`
	// Partial is the figures' mergeable form (Spec.Export).
	Partial *aggregate.Partial `json:"-"`
}

// ErrInvalid is wrapped by every validation error of a Spec.
var ErrInvalid = errors.New("cell: invalid spec")

// Validate checks the whole spec against the payload set, naming the first
// invalid field, so nothing is sent on a bad configuration.
func (s Spec) Validate(payloads payload.Set) error {
	if err := s.Target.Endpoint.Validate(); err != nil {
		return fmt.Errorf("%w: target: %w", ErrInvalid, err)
	}
	if _, err := payloads.Get(s.Payload); err != nil {
		return fmt.Errorf("%w: payload: %w", ErrInvalid, err)
	}
	if err := s.Plan.Validate(); err != nil {
		return fmt.Errorf("%w: plan: %w", ErrInvalid, err)
	}
	if s.SLO.TTFT < 0 || s.SLO.TPOT < 0 || s.SLO.E2E < 0 {
		return fmt.Errorf("%w: slo: thresholds must be >= 0", ErrInvalid)
	}
	return nil
}

// Run runs the cell. Only an invalid spec, or a records writer that failed,
// is an error: failed requests are in the result.
func Run(ctx context.Context, s Spec, payloads payload.Set) (Measured, error) {
	if err := s.Validate(payloads); err != nil {
		return Measured{}, err
	}
	p, _ := payloads.Get(s.Payload)
	cl, err := openai.New(openai.Config{
		Endpoint:  s.Target.Endpoint,
		Model:     s.Target.Model,
		Messages:  p.Messages,
		MaxTokens: p.MaxTokens,
		NoStream:  s.Target.NoStream,
		// Sized prompts (input_tokens) go in turn, each checked against the usage.
		Prompts:     p.Prompts,
		Timeout:     s.Target.Timeout,
		IdleTimeout: s.Target.IdleTimeout,
		MaxConns:    s.Plan.Concurrency(),
	})
	if err != nil {
		return Measured{}, fmt.Errorf("%w: target: %w", ErrInvalid, err)
	}
	defer cl.Close()
	var doer load.Doer = cl
	if s.Wrap != nil {
		doer = s.Wrap(cl)
	}

	agg := aggregate.New(s.SLO)
	sinks := []load.Sink{agg}
	var jl *record.JSONL
	if s.Records != nil {
		jl = record.NewJSONL(s.Records)
		sinks = append(sinks, jl)
	}
	if s.Observe != nil {
		sinks = append(sinks, s.Observe)
	}
	sink := sinks[0]
	if len(sinks) > 1 {
		sink = load.Tee(sinks...)
	}
	plan := s.Plan
	var warmed int64
	if w, ok := plan.WarmupPlan(); ok {
		ws, err := load.Run(ctx, w, doer, load.Discard)
		if err != nil {
			return Measured{}, fmt.Errorf("%w: plan: %w", ErrInvalid, err)
		}
		warmed, plan.Warmup = ws.Dispatched, 0
	}
	if s.AfterWarmup != nil {
		s.AfterWarmup(ctx)
	}
	if s.Begin != nil {
		plan.StartAt = s.Begin(ctx)
	}
	sum, err := load.Run(ctx, plan, doer, sink)
	if err != nil {
		return Measured{}, fmt.Errorf("%w: plan: %w", ErrInvalid, err)
	}
	sum.Warmup = warmed
	res := Measured{Payload: p, Plan: s.Plan, Summary: sum, Stats: agg.Result()}
	if s.Export {
		part, err := agg.Export()
		if err != nil {
			return res, fmt.Errorf("cell: %w", err)
		}
		res.Partial = &part
	}
	if jl != nil {
		if err := jl.Flush(); err != nil {
			return res, fmt.Errorf("cell: %w", err)
		}
	}
	return res, nil
}
