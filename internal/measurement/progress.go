package measurement

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/record"
)

// progressEvery is how often the live line is redrawn.
const progressEvery = 500 * time.Millisecond

// progress draws one live line for a running cell ("\r" and erase-line, so
// it overwrites itself) and erases it when the cell ends, before Ginkgo
// prints anything: the suite's own output is never interleaved with it. It
// is a load.Sink: each finished request bumps two atomic counters.
type progress struct {
	w     io.Writer // nil: count, draw nothing
	name  string
	total int64 // 0 when the cell is bounded by time only
	// left, when set, is the sweep's estimated time left given how long
	// this cell has run.
	left  func(running time.Duration) time.Duration
	done  atomic.Int64
	errs  atomic.Int64
	began time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
}

func newProgress(w io.Writer, name string, p load.Plan) *progress {
	total := int64(p.Iterations)
	if p.Mode() == load.Open {
		total = int64(p.Requests)
	}
	return &progress{w: w, name: name, total: total, quit: make(chan struct{})}
}

// Add implements load.Sink.
func (p *progress) Add(_ int, rec *record.Record) {
	p.done.Add(1)
	if !rec.Succeeded() {
		p.errs.Add(1)
	}
}

func (p *progress) line() string {
	done, elapsed := p.done.Load(), time.Since(p.began)
	total := "?"
	if p.total > 0 {
		total = fmt.Sprint(p.total)
	}
	rps := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rps = float64(done-p.errs.Load()) / s
	}
	eta := ""
	if p.left != nil {
		eta = fmt.Sprintf(", sweep about %v left", p.left(elapsed).Round(time.Second))
	}
	return fmt.Sprintf("\r\033[K  %s: %d/%s requests, %.1f RPS, %d errors, %s%s", p.name, done, total, rps, p.errs.Load(), elapsed.Round(time.Second), eta)
}

func (p *progress) start() {
	p.began = time.Now()
	if p.w == nil {
		return
	}
	p.wg.Go(func() {
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				fmt.Fprint(p.w, p.line())
			}
		}
	})
}

func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
}
