package sweep

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

func config(t *testing.T, env map[string]string) Config {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := Register(fs)
	_ = fs.Parse(nil)
	base := map[string]string{"PERF_REPORT_DIR": t.TempDir(), "PERF_PAYLOADS": "short", "PERF_CONCURRENCY": "2",
		"PERF_ITERATIONS_PER_VU": "2", "PERF_SIM_PRESET": "fast"}
	for k, v := range env {
		base[k] = v
	}
	c, err := f.Config(func(k string) string { return base[k] }, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRunnerAgainstSimulator(t *testing.T) {
	url := simtest.Start(t, sim.Config{TTFT: 5 * time.Millisecond, ITL: time.Millisecond, Faults: map[sim.Fault]float64{sim.Fault503: 0.5}, Seed: 2})
	cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_WARMUP": "1", "PERF_SLO_TTFT_MS": "0.001"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Model() != sim.DefaultModel || r.Target() != url {
		t.Errorf("model %q target %q", r.Model(), r.Target())
	}
	c, err := r.RunCell(context.Background(), cfg.Cells()[0])
	if err != nil {
		t.Fatal(err)
	}
	reasons := strings.Join(c.Reasons, "\n")
	if c.Verdict != report.Fail || !strings.Contains(reasons, "error rate") || !strings.Contains(reasons, "http_5xx") || !strings.Contains(reasons, "p95 TTFT") {
		t.Errorf("verdict %s, reasons %v", c.Verdict, c.Reasons)
	}
	// The server's counters cover the measured requests only (the warm-up ran before the scrape).
	if c.Server == nil || c.Server.Requests != float64(c.Successes) {
		t.Errorf("server delta %+v for %d successes", c.Server, c.Successes)
	}
	res, err := report.Load(filepath.Join(cfg.ReportDir, report.FileResults))
	if err != nil || len(res.Cells) != 1 || res.Model != sim.DefaultModel {
		t.Fatalf("reports after one cell: %v %+v", err, res)
	}
}

func TestRunnerStartErrors(t *testing.T) {
	url := simtest.Start(t, sim.Config{Model: "other"})
	cfg := config(t, map[string]string{"PERF_TARGET": url, "PERF_MODEL": "tiny"})
	if _, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), `PERF_MODEL: "tiny" is not served; the target lists other`) {
		t.Errorf("wrong model: %v", err)
	}
	cfg = config(t, map[string]string{"PERF_TARGET": "http://127.0.0.1:1", "PERF_READY_TIMEOUT": "300ms"})
	if _, err := Start(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "PERF_READY_TIMEOUT") {
		t.Errorf("unreachable target: %v", err)
	}
}

func TestRunnerInterruptedCell(t *testing.T) {
	cfg := config(t, map[string]string{"PERF_ITERATIONS_PER_VU": "1000"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	c, err := r.RunCell(ctx, cfg.Cells()[0])
	if err != nil {
		t.Fatal(err)
	}
	res := r.Results()
	if c.Verdict != report.Interrupted || !res.Interrupted || c.Requests == 0 || c.ErrorRate() != 0 {
		t.Errorf("verdict %s, interrupted %v, %d requests, error rate %v", c.Verdict, res.Interrupted, c.Requests, c.ErrorRate())
	}
}

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
	p.stop()
	if !strings.Contains(line, "short, 4 VUs: 4/8 requests") || !strings.Contains(line, "1 errors") || !strings.HasPrefix(line, "\r\033[K") {
		t.Errorf("line %q", line)
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

// TestRunnerWithoutMetrics: a target whose /metrics is absent still runs;
// the cell's server figures are null.
func TestRunnerWithoutMetrics(t *testing.T) {
	s, err := sim.New(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.NotFound(w, r)
			return
		}
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	cfg := config(t, map[string]string{"PERF_TARGET": srv.URL, "PERF_WARMUP": "0"})
	r, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c, err := r.RunCell(context.Background(), cfg.Cells()[0])
	if err != nil || c.Verdict != report.Pass || c.Server != nil {
		t.Fatalf("verdict %s, server %+v, err %v", c.Verdict, c.Server, err)
	}
}
