// Package record defines the per-request record that every other package
// exchanges: the streaming client fills it, the load engine schedules it, the
// stats aggregator folds it and the JSONL sink writes it.
//
// It is plain data with a few derived getters so that the metric definitions
// (docs/metrics.md) live in exactly one place. It imports nothing of ours.
package record

import "time"

// Class is the error class of a failed request. The empty Class means success.
type Class string

// The error classes (docs/metrics.md). A request gets
// exactly one.
const (
	OK              Class = ""
	Timeout         Class = "timeout"          // the server went silent: no headers, or no bytes for the idle timeout
	ClientAbort     Class = "client_abort"     // our request deadline ended it (NGINX logs 499 if no response header had been sent)
	HTTP4xx         Class = "http_4xx"         // any 4xx but 429 and a context overflow; Record.Status keeps the code
	ContextOverflow Class = "context_overflow" // a 400 saying prompt plus max_tokens exceed the model's context window (vLLM's and llm-d-inference-sim's "maximum context length")
	HTTP429         Class = "http_429"         // rate limited
	HTTP5xx         Class = "http_5xx"         // any 5xx; Record.Status keeps the code
	ConnRefused     Class = "conn_refused"     // nothing listening at the target
	ConnReset       Class = "conn_reset"       // the peer reset or dropped the connection
	StreamTruncated Class = "stream_truncated" // the body ended cleanly without [DONE]
	BadEvent        Class = "bad_event"        // an event that is not decodable JSON, or a 200 with no choices at all
	Other           Class = "other"            // a transport error none of the above describes (kept in Err)
)

// Classes lists every error class in a fixed order, for reports and tests.
var Classes = []Class{Timeout, ClientAbort, HTTP4xx, ContextOverflow, HTTP429, HTTP5xx, ConnRefused, ConnReset, StreamTruncated, BadEvent, Other}

// Record is what one request produced. Times are wall-clock instants carrying
// Go's monotonic reading, so differences between them are exact.
//
// ChunkGaps is owned by whoever passed the Record in: a consumer that keeps a
// Record beyond its call must copy the slice (the engine reuses it).
type Record struct {
	Seq    uint64 `json:"seq"`    // dispatch order within the run, from 0
	Worker int    `json:"worker"` // the virtual user or in-flight slot that ran it

	// IntendedStart is the open-loop schedule's time for this request; zero
	// in closed loop. Queue() = Start - IntendedStart.
	IntendedStart time.Time `json:"intended_start,omitzero"`
	// Start is when the request was written (after the scheduler released it).
	Start time.Time `json:"start"`
	// FirstToken is the arrival of the first event with a non-empty choices array.
	FirstToken time.Time `json:"first_token,omitzero"`
	// LastToken is the arrival of the last such event; the usage-only chunk
	// and [DONE] don't move it.
	LastToken time.Time `json:"last_token,omitzero"`
	// End is when the response was finished with (read to its end, or failed).
	End time.Time `json:"end"`

	// Chunks counts events with a non-empty choices array (vLLM's role
	// chunk and finish chunk included, as vLLM's own benchmark counts them).
	Chunks int `json:"chunks"`
	// ContentChunks counts the chunks that carried generated text.
	ContentChunks int `json:"content_chunks"`
	// ChunkGaps are the gaps between consecutive choices events: the ITLs.
	ChunkGaps []time.Duration `json:"chunk_gaps_ns,omitempty"`

	// OutputTokens is usage.completion_tokens when the server sent usage,
	// otherwise ContentChunks.
	OutputTokens int `json:"output_tokens"`
	// PromptTokens is usage.prompt_tokens, 0 when absent.
	PromptTokens int `json:"prompt_tokens"`
	// UsageMismatch is set when usage.completion_tokens and ContentChunks
	// disagree (a server that puts several tokens in a chunk does this).
	UsageMismatch bool `json:"usage_mismatch,omitempty"`
	// PromptMismatch is set when the request's prompt was sized to an exact
	// token count (a payload's input_tokens) and usage.prompt_tokens says
	// otherwise.
	PromptMismatch bool `json:"prompt_mismatch,omitempty"`

	Status int    `json:"status"`          // HTTP status, 0 when none was received
	Class  Class  `json:"class,omitempty"` // OK on success
	Err    string `json:"err,omitempty"`   // the underlying error text on failure
}

// Reset clears r for reuse, keeping ChunkGaps' storage.
func (r *Record) Reset() {
	gaps := r.ChunkGaps[:0]
	*r = Record{ChunkGaps: gaps}
}

// Succeeded reports whether the request met the success rule: HTTP 200,
// at least one choices event and a clean end.
func (r *Record) Succeeded() bool { return r.Class == OK }

// TTFT is the time to the first choices event; 0 when there was none.
func (r *Record) TTFT() time.Duration {
	if r.FirstToken.IsZero() {
		return 0
	}
	return r.FirstToken.Sub(r.Start)
}

// E2E is the time to the last choices event; 0 when there was none.
func (r *Record) E2E() time.Duration {
	if r.LastToken.IsZero() {
		return 0
	}
	return r.LastToken.Sub(r.Start)
}

// TPOT is (E2E - TTFT) / (N - 1), defined only for N > 1 (ok is false otherwise).
func (r *Record) TPOT() (d time.Duration, ok bool) {
	if r.OutputTokens < 2 || r.FirstToken.IsZero() {
		return 0, false
	}
	return (r.E2E() - r.TTFT()) / time.Duration(r.OutputTokens-1), true
}

// Queue is how late the request started against its schedule (open loop);
// 0 in closed loop.
func (r *Record) Queue() time.Duration {
	if r.IntendedStart.IsZero() {
		return 0
	}
	return r.Start.Sub(r.IntendedStart)
}

// ResponseTTFT is TTFT measured from the intended start: what a user
// arriving on the schedule waited for the first token, the client's own
// lateness (Queue) included, as coordinated-omission-corrected tools report
// it. In closed loop it equals TTFT.
func (r *Record) ResponseTTFT() time.Duration { return r.Queue() + r.TTFT() }

// ResponseE2E is E2E measured from the intended start (see ResponseTTFT).
func (r *Record) ResponseE2E() time.Duration { return r.Queue() + r.E2E() }

// Fail sets the error class, status and message in one step.
func (r *Record) Fail(c Class, status int, err error) {
	r.Class, r.Status = c, status
	if err != nil {
		r.Err = err.Error()
	}
}

// Shift moves the record's instants by d (onto another clock: a
// distributed sweep's worker's records onto the harness's). Durations
// between them are unchanged.
func (r *Record) Shift(d time.Duration) {
	for _, t := range []*time.Time{&r.IntendedStart, &r.Start, &r.FirstToken, &r.LastToken, &r.End} {
		if !t.IsZero() {
			*t = t.Add(d)
		}
	}
}
