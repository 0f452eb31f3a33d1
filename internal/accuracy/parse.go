package accuracy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// parse reads a finished response: the status, the body (de-chunked, each
// body byte mapped back to the raw byte it came in), and the SSE events,
// each stamped with the Read that delivered its last byte. It reports
// whether the connection may carry another request.
func parse(raw []byte, reads []read) (Timing, bool, error) {
	var t Timing
	i := bytes.Index(raw, []byte("\r\n\r\n"))
	if i < 0 {
		return t, false, fmt.Errorf("%w: no complete header in %d bytes", ErrResponse, len(raw))
	}
	head, rest := raw[:i+4], i+4
	status, _, _ := bytes.Cut(head, []byte("\r\n"))
	if f := bytes.Fields(status); len(f) < 2 || string(f[1]) != "200" {
		return t, false, fmt.Errorf("%w: status line %q", ErrResponse, status)
	}
	reusable := !headerHas(head, "connection", "close")
	var body []byte
	var rawAt []int // rawAt[k]: the raw offset just past body byte k
	if headerHas(head, "transfer-encoding", "chunked") {
		p := rest
		for {
			eol := bytes.Index(raw[p:], []byte("\r\n"))
			if eol < 0 {
				return t, false, fmt.Errorf("%w: truncated chunk size at byte %d", ErrResponse, p)
			}
			sizeField, _, _ := bytes.Cut(raw[p:p+eol], []byte(";"))
			size, err := strconv.ParseUint(string(bytes.TrimSpace(sizeField)), 16, 32)
			if err != nil {
				return t, false, fmt.Errorf("%w: chunk size %q", ErrResponse, raw[p:p+eol])
			}
			p += eol + 2
			if size == 0 {
				break
			}
			if p+int(size)+2 > len(raw) {
				return t, false, fmt.Errorf("%w: truncated chunk at byte %d", ErrResponse, p)
			}
			for k := range int(size) {
				rawAt = append(rawAt, p+k+1)
			}
			body = append(body, raw[p:p+int(size)]...)
			p += int(size) + 2
		}
	} else {
		body = raw[rest:]
		for k := range body {
			rawAt = append(rawAt, rest+k+1)
		}
		reusable = reusable && bytes.Contains(bytes.ToLower(head), []byte("content-length"))
	}
	arrival := func(rawEnd int) time.Time {
		k := sort.Search(len(reads), func(j int) bool { return reads[j].end >= rawEnd })
		return reads[min(k, len(reads)-1)].at
	}
	// Events end at a blank line; a line ends in "\n" or "\r\n" (SSE
	// allows both).
	var lines [][]byte
	for off := 0; off < len(body); {
		nl := bytes.IndexByte(body[off:], '\n')
		if nl < 0 {
			break
		}
		line, end := bytes.TrimSuffix(body[off:off+nl], []byte("\r")), off+nl+1
		off = end
		if len(line) > 0 {
			lines = append(lines, line)
			continue
		}
		if len(lines) > 0 {
			if err := t.event(lines, arrival(rawAt[end-1])); err != nil {
				return t, false, err
			}
			lines = lines[:0]
		}
	}
	if !t.Done {
		return t, false, fmt.Errorf("%w: stream ended without [DONE] after %d choices events", ErrResponse, len(t.Chunks))
	}
	return t, reusable, nil
}

// event takes one SSE event's lines: a data line with a non-empty choices
// array is a chunk; [DONE] ends the stream; comments and other fields are
// ignored.
func (t *Timing) event(lines [][]byte, at time.Time) error {
	var data []byte
	for _, line := range lines {
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			if data != nil {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(v, []byte(" "))...)
		}
	}
	if len(data) == 0 {
		return nil
	}
	if bytes.Equal(data, []byte("[DONE]")) {
		t.Done = true
		return nil
	}
	var chunk struct {
		Choices []json.RawMessage `json:"choices"`
	}
	if err := json.Unmarshal(data, &chunk); err != nil {
		return fmt.Errorf("%w: event %d: %v", ErrResponse, len(t.Chunks)+1, err)
	}
	if len(chunk.Choices) > 0 {
		t.Chunks = append(t.Chunks, at)
	}
	return nil
}
