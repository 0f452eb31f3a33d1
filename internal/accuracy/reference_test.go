package accuracy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/clock"
)

// streamServer streams n choices events, gap apart, then a usage chunk and
// [DONE], and records when each choices event was flushed.
func streamServer(t *testing.T, n int, gap time.Duration) (string, func() [][]time.Time, *atomic.Int64) {
	t.Helper()
	var mu sync.Mutex
	var writes [][]time.Time
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		var mine []time.Time
		for k := range n {
			if k > 0 {
				time.Sleep(gap) // the server's pace: what is measured is when it wrote
			}
			fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"content\":\"t%d \"}}]}\n\n", k)
			fl.Flush()
			mine = append(mine, time.Now())
		}
		fmt.Fprint(w, "data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\ndata: [DONE]\n\n")
		fl.Flush()
		mu.Lock()
		writes = append(writes, mine)
		mu.Unlock()
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, func() [][]time.Time { mu.Lock(); defer mu.Unlock(); return writes }, &conns
}

func newRef(t *testing.T, url string) *Reference {
	t.Helper()
	c, err := NewReference(ReferenceRequest{URL: url, Model: "m", Prompt: "p", MaxTokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestReferenceAgainstServerWrites: the reference's event arrivals follow
// the server's own flush times (same process, same clock) by no more than
// a loopback read at the median, on one kept-alive connection.
func TestReferenceAgainstServerWrites(t *testing.T) {
	url, writes, conns := streamServer(t, 3, 5*time.Millisecond)
	c := newRef(t, url)
	clock.Attempts(t, clock.DefaultAttempts, func(a int) []string {
		var lag []time.Duration
		var timings []Timing
		for range 20 {
			tm, err := c.Do(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(tm.Chunks) != 3 || !tm.Done || tm.TTFT() <= 0 || tm.E2E() < tm.TTFT() || len(tm.Gaps()) != 2 {
				t.Fatalf("timing %+v", tm)
			}
			timings = append(timings, tm)
		}
		w := writes()
		w = w[len(w)-20:]
		for i, tm := range timings {
			for k, at := range tm.Chunks {
				lag = append(lag, at.Sub(w[i][k]))
			}
		}
		// The read can only come after the flush; its median lag is a
		// loopback hop and a goroutine wake-up.
		if m := Median(lag); m < 0 || m > 500*time.Microsecond {
			return []string{fmt.Sprintf("attempt %d: median arrival %v after the server's flush, want within [0, 500µs]", a, m)}
		}
		return nil
	})
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for sequential requests, want 1 kept alive", n)
	}
}

// TestParse: the framings a server may use, split anywhere across reads,
// give the same events; broken responses are errors, never a hang.
func TestParse(t *testing.T) {
	events := "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n" +
		": a comment\n\n" +
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n" +
		"data: {\"choices\":[],\"usage\":{}}\n\n" +
		"data: [DONE]\n\n"
	chunked := func(body string, size int) string {
		var b strings.Builder
		for len(body) > 0 {
			n := min(size, len(body))
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		return b.String() + "0\r\n\r\n"
	}
	for _, tc := range []struct {
		name, raw string
		chunks    int
		reusable  bool
		err       bool
	}{
		{"chunked, one chunk per event", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(events, 1<<20), 2, true, false},
		{"chunked, 7-byte chunks", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(events, 7), 2, true, false},
		{"CRLF events", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(strings.ReplaceAll(events, "\n", "\r\n"), 64), 2, true, false},
		{"content-length", fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(events), events), 2, true, false},
		{"until close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + events, 2, false, false},
		{"HTTP 503", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0, false, true},
		{"no [DONE]", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + strings.TrimSuffix(events, "data: [DONE]\n\n"), 2, false, true},
		{"bad JSON", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\ndata: {\"choices\": [\n\n", 0, false, true},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, false, true},
		{"no header end", "HTTP/1.1 200 OK\r\n", 0, false, true},
	} {
		// One read per byte: each event's arrival is its last byte's read.
		var reads []read
		at := time.Unix(0, 0)
		for i := range tc.raw {
			reads = append(reads, read{end: i + 1, at: at.Add(time.Duration(i))})
		}
		tm, reusable, err := parse([]byte(tc.raw), reads)
		if (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrResponse)) {
			t.Errorf("%s: err %v, want error %v wrapping ErrResponse", tc.name, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		if len(tm.Chunks) != tc.chunks || reusable != tc.reusable || !tm.Done {
			t.Errorf("%s: %d chunks, reusable %v, done %v; want %d, %v, true", tc.name, len(tm.Chunks), reusable, tm.Done, tc.chunks, tc.reusable)
		}
		// Each choices event is stamped at the read of its last byte: the
		// blank line that ends it.
		for k, ch := range tm.Chunks {
			end := int(ch.Sub(at)) + 1
			if !strings.HasSuffix(tc.raw[:end], "\n") {
				t.Errorf("%s: event %d stamped at byte %d, not at its blank line", tc.name, k, end)
			}
		}
	}
}

func TestNewReferenceValidates(t *testing.T) {
	for _, r := range []ReferenceRequest{
		{URL: "https://x:1", MaxTokens: 1},
		{URL: "x:1", MaxTokens: 1},
		{URL: "http://x:1", MaxTokens: 0},
	} {
		if _, err := NewReference(r); err == nil {
			t.Errorf("%+v: accepted", r)
		}
	}
}

// TestDoFailures: a refused connection and a server that stalls past the
// deadline are errors, returned promptly.
func TestDoFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	if _, err := newRef(t, "http://"+addr).Do(context.Background()); err == nil {
		t.Error("a closed port answered")
	}
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := newRef(t, srv.URL).Do(ctx); err == nil {
		t.Error("a stalled server answered")
	}
}
