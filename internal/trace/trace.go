// Package trace reads a request trace so that a sweep can replay recorded
// traffic: its arrival times, its prompt and output lengths, and, where
// the format has them, the prefix sharing its prompts had. Three formats:
// Mooncake's JSONL (timestamp in milliseconds, input_length and
// output_length in tokens, and hash_ids, the prompt's blocks), the Azure
// LLM inference traces' CSV (2023 and 2024 releases) and BurstGPT's CSV.
// Fit makes a trace taken on a large-context model fit a small model's
// window.
package trace

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// DefaultBlockTokens is the tokens of one hash_ids block, as Mooncake
// defines them.
const DefaultBlockTokens = 512

// Request is one line of a trace.
type Request struct {
	Timestamp    int64 `json:"timestamp"` // ms
	InputLength  int   `json:"input_length"`
	OutputLength int   `json:"output_length"`
	HashIDs      []int `json:"hash_ids"`
}

// Trace is a trace's requests, in timestamp order.
type Trace []Request

// The formats Read takes (PERF_TRACE_FORMAT).
const (
	Mooncake = "mooncake"
	Azure    = "azure"
	BurstGPT = "burstgpt"
)

// Formats lists them, for messages.
var Formats = []string{Mooncake, Azure, BurstGPT}

// Notes say what reading a trace found: its format, and the rows it left
// out and why.
type Notes struct {
	Format string
	// Skipped counts rows left out: BurstGPT's failed requests (0
	// response tokens).
	Skipped int
}

// Read parses a trace in format ("" detects it from the first line: a JSON
// object is Mooncake's JSONL, the header TIMESTAMP,ContextTokens,
// GeneratedTokens the Azure LLM inference traces' CSV, a header with
// Timestamp and "Request tokens" BurstGPT's CSV), naming the line of the
// first bad request. Timestamps become milliseconds; requests must run
// forward in time.
func Read(r io.Reader, format string) (Trace, Notes, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if format == "" {
		head, _ := br.Peek(512)
		if format = detect(string(head)); format == "" {
			return nil, Notes{}, fmt.Errorf("trace: the format is not one of %s (from the first line: a JSON object, or the CSV header of the Azure or BurstGPT traces); name it with PERF_TRACE_FORMAT", strings.Join(Formats, ", "))
		}
	}
	var (
		t     Trace
		notes Notes
		err   error
	)
	switch format {
	case Mooncake:
		t, err = readMooncake(br)
	case Azure, BurstGPT:
		t, notes, err = readCSV(br, format)
	default:
		return nil, Notes{}, fmt.Errorf("trace: format %q: want one of %s", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, notes, err
	}
	if len(t) == 0 {
		return nil, notes, errors.New("trace: no request in it")
	}
	notes.Format = format
	return t, notes, nil
}

// Skips is the report's line on the rows left out, "" for none.
func (n Notes) Skips() string {
	if n.Skipped == 0 {
		return ""
	}
	return fmt.Sprintf("%d rows with 0 response tokens (failed requests) left out", n.Skipped)
}

func detect(head string) string {
	first, _, _ := strings.Cut(strings.TrimLeft(head, "\ufeff \t\r\n"), "\n")
	first = strings.TrimSpace(first)
	switch {
	case strings.HasPrefix(first, "{"):
		return Mooncake
	case strings.HasPrefix(first, "TIMESTAMP,ContextTokens,GeneratedTokens"):
		return Azure
	case strings.HasPrefix(first, "Timestamp,") && strings.Contains(first, "Request tokens"):
		return BurstGPT
	}
	return ""
}

// check is the rules every format's request follows.
func check(t Trace, q Request, line int) error {
	switch {
	case q.InputLength < 1 || q.OutputLength < 1:
		return fmt.Errorf("trace: line %d: input length %d, output length %d: both must be >= 1", line, q.InputLength, q.OutputLength)
	case len(t) > 0 && q.Timestamp < t[len(t)-1].Timestamp:
		return fmt.Errorf("trace: line %d: timestamp %d ms is before the line above's %d: a trace runs forward", line, q.Timestamp, t[len(t)-1].Timestamp)
	}
	return nil
}

// readMooncake reads Mooncake's JSONL: one object a line.
func readMooncake(r io.Reader) (Trace, error) {
	var t Trace
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		var q Request
		if err := dec.Decode(&q); err != nil {
			return nil, fmt.Errorf("trace: line %d: %w", line, err)
		}
		if err := check(t, q, line); err != nil {
			return nil, err
		}
		t = append(t, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	return t, nil
}

// Load reads the trace file at path in format ("" detects it).
func Load(path, format string) (Trace, Notes, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Notes{}, fmt.Errorf("trace: %w", err)
	}
	defer f.Close()
	return Read(f, format)
}

// Window is the part of t from start after its first request, for
// duration (0: to the end), timestamps kept: so an hour-long production
// trace can be replayed in part.
func (t Trace) Window(start, duration time.Duration) Trace {
	if len(t) == 0 {
		return t
	}
	from := t[0].Timestamp + start.Milliseconds()
	var out Trace
	for _, q := range t {
		if q.Timestamp < from || duration > 0 && q.Timestamp >= from+duration.Milliseconds() {
			continue
		}
		out = append(out, q)
	}
	return out
}

// Schedule is each request's offset from the first, divided by speedup.
func (t Trace) Schedule(speedup float64) []time.Duration {
	out := make([]time.Duration, len(t))
	for i, q := range t {
		out[i] = time.Duration(float64(q.Timestamp-t[0].Timestamp) * float64(time.Millisecond) / speedup)
	}
	return out
}

// Rate is the trace's own average arrival rate (requests/s) at speedup:
// (n-1) over the span between its first and last timestamps.
func (t Trace) Rate(speedup float64) float64 {
	span := float64(t[len(t)-1].Timestamp-t[0].Timestamp) / 1000 / speedup
	if len(t) < 2 || span <= 0 {
		return 1
	}
	return float64(len(t)-1) / span
}

// MaxOutput is the longest output_length.
func (t Trace) MaxOutput() int {
	m := 0
	for _, q := range t {
		m = max(m, q.OutputLength)
	}
	return m
}
