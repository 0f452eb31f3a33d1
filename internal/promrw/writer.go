package promrw

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/prometheus/prompb"

	"github.com/llm-platform/harness/internal/results"
)

// Writer sends cells in the background: Cell never blocks the sweep, a
// failed push is retried (with backoff, up to Retry) and then counted and
// kept for Close's report; the report files do not depend on it.
type Writer struct {
	api   *remote.API
	url   string
	retry time.Duration
	queue chan []prompb.TimeSeries
	done  chan struct{}
	// ctx ends the pushes still pending when Close stops waiting.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	report Report
}

// Report is what a Writer sent.
type Report struct {
	URL    string
	Sent   int // cells written
	Failed int // cells not written, retries spent (or the queue full)
	Errors []string
}

// String is the report as a line for the suite's output.
func (r Report) String() string {
	s := fmt.Sprintf("remote write to %s: %d cells written, %d failed", r.URL, r.Sent, r.Failed)
	if len(r.Errors) > 0 {
		s += "; last error: " + r.Errors[len(r.Errors)-1]
	}
	return s
}

// queueCells bounds the cells waiting to be sent: far more than a sweep
// finishes while one push is retried.
const queueCells = 256

// New is a Writer to url (Prometheus: http://HOST:9090/api/v1/write, with
// --web.enable-remote-write-receiver). retry bounds the retries of one
// cell's push (0: 30 s).
func New(url string, retry time.Duration) (*Writer, error) {
	if retry <= 0 {
		retry = 30 * time.Second
	}
	base, path := splitURL(url)
	api, err := remote.NewAPI(base, remote.WithAPIHTTPClient(&http.Client{Timeout: 10 * time.Second}), remote.WithAPIPath(path),
		remote.WithAPIBackoff(remote.BackoffConfig{Min: 250 * time.Millisecond, Max: 5 * time.Second, MaxRetries: 8}))
	if err != nil {
		return nil, fmt.Errorf("promrw: PERF_PROMETHEUS_RW_URL %q: %w", url, err)
	}
	w := &Writer{api: api, url: url, retry: retry, queue: make(chan []prompb.TimeSeries, queueCells), done: make(chan struct{}),
		report: Report{URL: url}}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	go w.send()
	return w, nil
}

// splitURL cuts a write URL into the base and the path the remote API
// wants apart.
func splitURL(url string) (base, path string) {
	if i := strings.Index(url, "://"); i >= 0 {
		if j := strings.Index(url[i+3:], "/"); j >= 0 {
			return url[:i+3+j], strings.TrimPrefix(url[i+3+j:], "/")
		}
	}
	return url, "api/v1/write"
}

// Cell queues cell c of run for sending; it returns at once.
func (w *Writer) Cell(run *results.Run, c results.Cell) {
	ts := Series(run, c)
	select {
	case w.queue <- ts:
	default:
		w.fail("the queue of cells to send is full")
	}
}

func (w *Writer) send() {
	defer close(w.done)
	for ts := range w.queue {
		ctx, cancel := context.WithTimeout(w.ctx, w.retry)
		_, err := w.api.Write(ctx, remote.WriteV1MessageType, &prompb.WriteRequest{Timeseries: ts})
		cancel()
		if err != nil {
			w.fail(err.Error())
			continue
		}
		w.mu.Lock()
		w.report.Sent++
		w.mu.Unlock()
	}
}

func (w *Writer) fail(why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.report.Failed++
	if len(w.report.Errors) < 10 {
		w.report.Errors = append(w.report.Errors, why)
	}
}

// Close sends what is queued (waiting at most wait) and reports.
func (w *Writer) Close(wait time.Duration) Report {
	close(w.queue)
	select {
	case <-w.done:
	case <-time.After(wait):
		w.cancel() // the rest fail at once, each counted
		<-w.done
	}
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.report
}
