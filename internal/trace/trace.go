// Package trace reads a request trace in the Mooncake format (one JSON
// object a line: timestamp in milliseconds, input_length and output_length
// in tokens, and hash_ids, the shared prompt blocks each request starts
// with), so that a sweep can replay recorded traffic: its arrival times,
// its prompt and output lengths, and, through the hash_ids, the prefix
// sharing its prompts had.
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

// Read parses a trace, naming the line of the first bad request.
func Read(r io.Reader) (Trace, error) {
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
		switch {
		case q.InputLength < 1 || q.OutputLength < 1:
			return nil, fmt.Errorf("trace: line %d: input_length %d, output_length %d: both must be >= 1", line, q.InputLength, q.OutputLength)
		case len(t) > 0 && q.Timestamp < t[len(t)-1].Timestamp:
			return nil, fmt.Errorf("trace: line %d: timestamp %d is before the line above's %d: a trace runs forward", line, q.Timestamp, t[len(t)-1].Timestamp)
		}
		t = append(t, q)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if len(t) == 0 {
		return nil, errors.New("trace: no request in it")
	}
	return t, nil
}

// Load reads the trace file at path.
func Load(path string) (Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	defer f.Close()
	return Read(f)
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
