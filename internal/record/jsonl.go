package record

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// JSONL writes each record as one JSON line: the optional raw-records file
// for post-hoc analysis. Memory stays bounded because records go straight to
// the writer through a buffer. It is safe for concurrent use.
type JSONL struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

// NewJSONL returns a JSONL writing to w. Call Flush when done.
func NewJSONL(w io.Writer) *JSONL {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &JSONL{w: bw, enc: json.NewEncoder(bw)}
}

// Add writes rec. The first write error is kept and returned by Flush.
func (j *JSONL) Add(_ int, rec *Record) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.enc.Encode(rec)
	}
}

// Flush writes buffered lines and reports the first error of any write.
func (j *JSONL) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.w.Flush()
	}
	if j.err != nil {
		return fmt.Errorf("record: jsonl: %w", j.err)
	}
	return nil
}
