package measurement

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/record"
)

// syncBuf is a bytes.Buffer safe for the progress goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestProgressLine(t *testing.T) {
	var out syncBuf
	p := newProgress(&out, "short, 4 VUs", load.Plan{VUs: 4, Iterations: 8})
	p.start()
	var rec record.Record
	for range 3 {
		p.Add(0, &rec)
	}
	rec.Class = record.Timeout
	p.Add(1, &rec)
	line := p.line()
	p.left = func(time.Duration) time.Duration { return 754 * time.Second }
	eta := p.line()
	p.stop()
	if !strings.Contains(line, "short, 4 VUs: 4/8 requests") || !strings.Contains(line, "1 errors") || !strings.HasPrefix(line, "\r\033[K") || strings.Contains(line, "left") {
		t.Errorf("line %q", line)
	}
	if !strings.HasSuffix(eta, ", sweep about 12m34s left") {
		t.Errorf("with an estimate: line %q", eta)
	}
	if !strings.HasSuffix(out.String(), "\r\033[K") {
		t.Errorf("the line was not erased at the end: %q", out.String())
	}
	quiet := newProgress(nil, "x", load.Plan{Rate: 1, Requests: 5})
	quiet.start()
	quiet.Add(0, &rec)
	quiet.stop()
	if quiet.total != 5 || quiet.done.Load() != 1 {
		t.Error("a quiet progress still counts")
	}
}
