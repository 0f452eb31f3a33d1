// Package accuracy checks the harness's timing against a reference
// measured in the same run on the same machine: a raw-socket client
// (Reference) for any server, or a server's own write times where the
// server is ours. It exists because a server's configured latency is not
// what it delivers: llm-d-inference-sim set to a 50 ms TTFT delivered its
// first byte at 58-61 ms on some of our machines (curl agreed) while its
// own /metrics said 50, so a test that held the harness to 50 failed on a
// correct measurement. The check bounds the harness's error (its figure
// minus the reference's) at the median, with a tolerance derived from the
// reference's own spread in that run (Compare).
//
// Use it from tests and benchmarks; it is not a load generator. Its
// client does the least it can between the socket and the clock: it writes
// the request on a plain net.Conn, stamps every Read as it returns, and
// parses the bytes only after the response has ended.
package accuracy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ReferenceRequest is the streamed chat completion the reference sends: the same
// shape as the harness's (vLLM's ignore_eos, usage in the last chunk), so
// both ask the server for the same work.
type ReferenceRequest struct {
	// URL is the server's base URL (http only), e.g. http://127.0.0.1:8000.
	URL string
	// Host, when set, is sent as the Host header (a proxy's virtual host).
	Host      string
	Model     string
	Prompt    string
	MaxTokens int
}

// Timing is one reference request as its socket saw it.
type Timing struct {
	// Start is read just before the request's first byte is written.
	Start time.Time
	// Chunks are the arrivals of the events whose choices array is not
	// empty: the Read that delivered each event's last byte.
	Chunks []time.Time
	// Done reports that the stream ended with [DONE].
	Done bool
}

// TTFT is the first choices event's arrival minus Start; 0 when none came.
func (t Timing) TTFT() time.Duration {
	if len(t.Chunks) == 0 {
		return 0
	}
	return t.Chunks[0].Sub(t.Start)
}

// E2E is the last choices event's arrival minus Start; 0 when none came.
func (t Timing) E2E() time.Duration {
	if len(t.Chunks) == 0 {
		return 0
	}
	return t.Chunks[len(t.Chunks)-1].Sub(t.Start)
}

// Gaps are the times between consecutive choices events (the ITLs).
func (t Timing) Gaps() []time.Duration {
	var g []time.Duration
	for i := 1; i < len(t.Chunks); i++ {
		g = append(g, t.Chunks[i].Sub(t.Chunks[i-1]))
	}
	return g
}

// ErrResponse is wrapped by every error about what the server answered.
var ErrResponse = errors.New("accuracy: reference response")

// Reference is the raw-socket reference client. It keeps its connections
// alive between requests, as the harness does, so neither pays a TCP
// handshake inside its TTFT. It is safe for concurrent use.
type Reference struct {
	addr string
	head []byte // request line and headers, up to the blank line
	body []byte

	mu   sync.Mutex
	idle []net.Conn
}

// NewReference encodes r once and returns a client for it.
func NewReference(r ReferenceRequest) (*Reference, error) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("accuracy: url %q: want http://host:port", r.URL)
	}
	if r.MaxTokens < 1 {
		return nil, fmt.Errorf("accuracy: max_tokens %d: want at least 1", r.MaxTokens)
	}
	body, err := json.Marshal(map[string]any{
		"model":          r.Model,
		"messages":       []map[string]string{{"role": "user", "content": r.Prompt}},
		"max_tokens":     r.MaxTokens,
		"stream":         true,
		"stream_options": map[string]bool{"include_usage": true},
		"ignore_eos":     true,
	})
	if err != nil {
		return nil, fmt.Errorf("accuracy: encode request: %w", err)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	host := r.Host
	if host == "" {
		host = u.Host
	}
	path := strings.TrimRight(u.Path, "/") + "/v1/chat/completions"
	head := fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: %d\r\n\r\n", path, host, len(body))
	return &Reference{addr: addr, head: head, body: body}, nil
}

// Close closes the idle connections.
func (c *Reference) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.idle {
		_ = conn.Close()
	}
	c.idle = nil
}

// DefaultTimeout bounds one reference request when ctx has no deadline.
const DefaultTimeout = time.Minute

// Do sends one request and times its events. A response that is not a
// complete 200 stream is an error wrapping ErrResponse.
func (c *Reference) Do(ctx context.Context) (Timing, error) {
	conn, err := c.conn(ctx)
	if err != nil {
		return Timing{}, fmt.Errorf("accuracy: dial %s: %w", c.addr, err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultTimeout)
	}
	_ = conn.SetDeadline(deadline)
	raw, reads, start, err := exchange(conn, c.head, c.body)
	if err != nil {
		_ = conn.Close()
		return Timing{}, fmt.Errorf("accuracy: %s: %w", c.addr, err)
	}
	t, reusable, err := parse(raw, reads)
	t.Start = start
	if err != nil || !reusable {
		_ = conn.Close()
	} else {
		c.put(conn)
	}
	return t, err
}

func (c *Reference) conn(ctx context.Context) (net.Conn, error) {
	c.mu.Lock()
	if n := len(c.idle); n > 0 {
		conn := c.idle[n-1]
		c.idle = c.idle[:n-1]
		c.mu.Unlock()
		return conn, nil
	}
	c.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, "tcp", c.addr)
}

func (c *Reference) put(conn net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = append(c.idle, conn)
}

// read is one Read's arrival: the stream's length after it, and when.
type read struct {
	end int
	at  time.Time
}

// exchange writes the request and reads until the response is complete
// (the terminal chunk of a chunked body, a Content-Length's worth, or
// EOF), stamping each Read. Nothing is parsed here beyond what finding
// the end needs.
func exchange(conn net.Conn, head, body []byte) (raw []byte, reads []read, start time.Time, err error) {
	req := append(append(make([]byte, 0, len(head)+len(body)), head...), body...)
	start = time.Now()
	if _, err := conn.Write(req); err != nil {
		return nil, nil, start, err
	}
	buf := make([]byte, 64<<10)
	bodyAt, length, chunked := -1, -1, false // where the body starts; its Content-Length
	for {
		n, rerr := conn.Read(buf)
		at := time.Now()
		if n > 0 {
			raw = append(raw, buf[:n]...)
			reads = append(reads, read{end: len(raw), at: at})
		}
		if bodyAt < 0 {
			if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
				bodyAt = i + 4
				chunked = headerHas(raw[:bodyAt], "transfer-encoding", "chunked")
				if v, ok := header(raw[:bodyAt], "content-length"); ok && !chunked {
					if l, err := strconv.Atoi(string(v)); err == nil {
						length = l
					}
				}
			}
		}
		switch {
		case chunked && (bytes.HasSuffix(raw, []byte("\r\n0\r\n\r\n")) || bytes.Equal(raw[bodyAt:], []byte("0\r\n\r\n"))):
			return raw, reads, start, nil // the terminal chunk
		case length >= 0 && len(raw) >= bodyAt+length:
			return raw, reads, start, nil
		case rerr != nil:
			if errors.Is(rerr, io.EOF) {
				return raw, reads, start, nil // a body delimited by the close
			}
			return raw, reads, start, rerr
		}
	}
}

// header returns the value of the first header line named name
// (case-insensitive) in the response head h.
func header(h []byte, name string) ([]byte, bool) {
	for _, line := range bytes.Split(h, []byte("\r\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(bytes.TrimSpace(k), []byte(name)) {
			return bytes.TrimSpace(v), true
		}
	}
	return nil, false
}

func headerHas(h []byte, name, token string) bool {
	v, ok := header(h, name)
	return ok && bytes.Contains(bytes.ToLower(v), []byte(token))
}
