// Package sse decodes a Server-Sent Events stream (the WHATWG "event stream"
// format) into events, each stamped with the time the read that completed it
// returned.
//
// Why our own decoder rather than a library: we measured
// github.com/tmaxmax/go-sse v0.11.0, a maintained spec-following decoder, on
// the same vLLM chunk stream (BenchmarkDecoder and BenchmarkGoSSE here, one
// core): it decodes about 3.2 million events/s with 2 allocations (452 B)
// per event; this decoder about 30 million events/s with none. Both agree on
// every edge case we test (TestAgreesWithGoSSE): LF, CRLF and lone-CR line
// ends, multi-line data, comment/keep-alive lines, incomplete trailing
// events. What decided it: the decoder runs once per token of every stream
// in a load test, an allocation per event is garbage the load generator
// would make while it measures, and we need each event stamped with the
// time the read that completed it returned (TTFT and ITL are measured from
// it), which an iterator API stamps only later, after parsing. It also bounds
// line length, so a server that never sends a newline cannot grow memory.
//
// Only the data field matters to an OpenAI-compatible stream; event, id and
// retry fields are parsed and ignored.
package sse

import (
	"bytes"
	"errors"
	"io"
	"time"
)

// DefaultMaxLine is the longest line the decoder accepts before failing with
// ErrLineTooLong: far above any chat-completion chunk (a few hundred bytes),
// low enough that a server that never sends a newline cannot exhaust memory.
const DefaultMaxLine = 1 << 20

// initialBuffer is the read buffer's starting size; it grows up to the
// longest line seen.
const initialBuffer = 8 << 10

// ErrLineTooLong means a line exceeded the decoder's maximum length.
var ErrLineTooLong = errors.New("sse: line too long")

// Event is one dispatched event.
type Event struct {
	// Data is the event's data field (data lines joined by "\n"). It is only
	// valid until the next call to Next.
	Data []byte
	// Time is when the read that completed the event returned.
	Time time.Time
}

// Decoder reads events from a stream. It is not safe for concurrent use.
type Decoder struct {
	r       io.Reader
	buf     []byte
	start   int // first unconsumed byte in buf
	end     int // one past the last read byte in buf
	readAt  time.Time
	err     error // sticky read error, reported once buffered lines are used
	data    []byte
	hasData bool
	maxLine int
	now     func() time.Time
}

// Option configures a Decoder.
type Option func(*Decoder)

// WithMaxLine sets the longest accepted line (default DefaultMaxLine).
func WithMaxLine(n int) Option { return func(d *Decoder) { d.maxLine = n } }

// WithClock replaces time.Now for stamping events (tests use it).
func WithClock(now func() time.Time) Option { return func(d *Decoder) { d.now = now } }

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader, opts ...Option) *Decoder {
	d := &Decoder{maxLine: DefaultMaxLine, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	d.Reset(r)
	return d
}

// Reset makes d read from r, keeping its buffers.
func (d *Decoder) Reset(r io.Reader) {
	if d.buf == nil {
		d.buf = make([]byte, min(initialBuffer, d.maxLine))
	}
	d.r, d.start, d.end, d.err, d.hasData = r, 0, 0, nil, false
	d.data = d.data[:0]
}

// Next returns the next event. At the end of the stream it returns io.EOF; an
// event left incomplete by the end is discarded, as the SSE specification
// says. Any other error is the underlying reader's, or ErrLineTooLong.
func (d *Decoder) Next() (Event, error) {
	for {
		line, ok, err := d.line()
		if err != nil {
			return Event{}, err
		}
		if !ok {
			continue
		}
		if len(line) == 0 {
			if !d.hasData {
				continue
			}
			d.hasData = false
			return Event{Data: d.data, Time: d.readAt}, nil
		}
		if line[0] == ':' {
			continue // comment or keep-alive ping
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if string(field) != "data" {
			continue
		}
		if d.hasData {
			d.data = append(d.data, '\n')
			d.data = append(d.data, value...)
		} else {
			d.data = append(d.data[:0], value...)
			d.hasData = true
		}
	}
}

// line returns the next complete line without its terminator. ok is false
// when the buffer needed refilling and the caller should ask again.
func (d *Decoder) line() (line []byte, ok bool, err error) {
	w := d.buf[d.start:d.end]
	if i := bytes.IndexByte(w, '\n'); i >= 0 {
		// A CR before the LF is either its pair (CRLF) or a line end of its own.
		if j := bytes.IndexByte(w[:i], '\r'); j >= 0 && j < i-1 {
			d.start += j + 1
			return w[:j], true, nil
		} else if j >= 0 && j == i-1 {
			d.start += i + 1
			return w[:j], true, nil
		}
		d.start += i + 1
		return w[:i], true, nil
	}
	if j := bytes.IndexByte(w, '\r'); j >= 0 && (j < len(w)-1 || d.err != nil) {
		d.start += j + 1
		return w[:j], true, nil
	}
	if d.err != nil {
		// Bytes without a line end at the end of the stream are an
		// incomplete line: discarded with the event they belonged to.
		return nil, false, d.err
	}
	return nil, false, d.fill()
}

// fill reads once into the buffer, compacting or growing it first.
func (d *Decoder) fill() error {
	if d.start > 0 {
		n := copy(d.buf, d.buf[d.start:d.end])
		d.start, d.end = 0, n
	}
	if d.end >= d.maxLine { // a whole buffer of one unfinished line
		return ErrLineTooLong
	}
	if d.end == len(d.buf) {
		grown := make([]byte, min(2*len(d.buf), d.maxLine))
		copy(grown, d.buf[:d.end])
		d.buf = grown
	}
	n, err := d.r.Read(d.buf[d.end:])
	if n > 0 {
		d.end += n
		d.readAt = d.now()
	}
	if err != nil {
		d.err = err
	}
	return nil
}
