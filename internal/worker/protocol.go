// Package worker is one load generator of the distributed sweep
// (PERF_WORKERS): a pod of an Indexed Job, running `llmload worker`, that
// takes the sweep's cells one after another from the harness and measures
// its share of each (load.Share) with the same engine and client as the
// harness itself (package measurement).
//
// The harness may run where no pod can reach it (a CI runner, a laptop), so
// the worker only answers: it serves a small HTTP API on its port, and the
// harness calls it through the Kubernetes API server's pod proxy
// (package fleet). A cell goes in two steps, so that the harness can read
// the server's counters and open its GPU window between the warm-up and the
// measured requests, as it does alone:
//
//	GET    /clock            the worker's time (the harness's clock offsets)
//	PUT    /cells/{id}       an Order: validate, then run the warm-up
//	POST   /cells/{id}/start the instant, on the worker's clock, the
//	                         measured requests start at
//	GET    /cells/{id}       the cell's Status; its Result once done
//	DELETE /cells/{id}       stop the cell (a missed deadline); its Result
//	                         keeps what finished
//
// The Result carries the cell's histograms in HdrHistogram's compressed
// encoding (aggregate.Partial), so the harness merges the workers' figures
// exactly. A worker that hears nothing from the harness for its idle limit
// exits 0 (the harness was killed), which ends its Job.
package worker

import (
	"time"

	"github.com/llm-platform/harness/internal/aggregate"
	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/results"
)

// Port is the port a worker listens on.
const Port = 9090

// Image is the worker image `make worker-image` builds (PERF_WORKER_IMAGE's
// default): llmload alone, reproducibly (package ociimage), named with a
// registry host so that no runtime reads it as Docker Hub's.
const Image = "llm-harness.local/llmload:dev"

// Reach is the server under test as the worker reaches it.
type Reach struct {
	BaseURL string `json:"base_url"`
	Host    string `json:"host,omitempty"`
	APIKey  string `json:"api_key,omitempty"`
	Model   string `json:"model"`
	// InsecureSkipVerify: an https target's certificate is not checked
	// (the worker has no CA file of the harness's machine).
	InsecureSkipVerify bool          `json:"insecure_skip_verify,omitempty"`
	Timeout            time.Duration `json:"timeout"`
	IdleTimeout        time.Duration `json:"idle_timeout,omitempty"`
	NoStream           bool          `json:"no_stream,omitempty"`
}

// Order is one cell's share, as the harness sends it.
type Order struct {
	Target  Reach           `json:"target"`
	Payload payload.Payload `json:"payload"`
	// Prompts are the payload's sized prompts for this share (the requests
	// take them in turn); Schedule a replayed trace's offsets (the whole
	// schedule: the share picks its requests from it).
	Prompts  []openai.Prompt `json:"prompts,omitempty"`
	Plan     load.Plan       `json:"plan"`
	Schedule []time.Duration `json:"schedule,omitempty"`
	SLO      aggregate.SLO   `json:"slo"`
	// StartWithin bounds the wait for the start once warm (0: 30 minutes):
	// a worker the harness gave up on frees itself for the next cell.
	StartWithin time.Duration `json:"start_within,omitempty"`
	// Records asks for every measured record back too (Result.Records):
	// for checking the merge against one histogram fed every sample, or
	// auditing a cell; costly (hundreds of bytes a request).
	Records bool `json:"records,omitempty"`
}

// StartAt is the body of a start: the instant on the worker's clock.
type StartAt struct {
	At time.Time `json:"at"`
}

// Reading is the worker's clock when it answered.
type Reading struct {
	Now time.Time `json:"now"`
}

// The states of a cell.
const (
	Warming = "warming" // the warm-up runs
	Warm    = "warm"    // waiting for its start
	Running = "running" // the measured requests run
	Done    = "done"    // Result is set
	Failed  = "failed"  // Error says why
)

// Status is a cell's state on a worker.
type Status struct {
	State  string  `json:"state"`
	Error  string  `json:"error,omitempty"`
	Result *Result `json:"result,omitempty"`
}

// Result is what a worker measured of its share.
type Result struct {
	Partial aggregate.Partial `json:"partial"`
	Tally   load.Tally        `json:"tally"`
	// Load is the worker's own load self-check of its share; CPULimit its
	// container's CPU limit in cores (0: none).
	Load     results.LoadCheck `json:"load"`
	CPULimit float64           `json:"cpu_limit,omitempty"`
	// Wall is the measured phase, from the start instant to the last
	// request's end.
	Wall time.Duration `json:"wall"`
	// Records is every measured record as a JSON line (record.JSONL),
	// when the Order asked for them.
	Records string `json:"records,omitempty"`
}
