package openai

import (
	"context"
	"sync/atomic"
	"time"
)

// watchdog enforces a request's two timeouts with one timer: the total
// deadline and the idle limit (the longest silence). Activity is a single
// atomic store per event rather than a timer reset: the timer fires at the
// earliest time either could expire, looks at the last activity, and either
// cancels the request with the cause or re-arms itself.
type watchdog struct {
	t        *time.Timer
	cancel   context.CancelCauseFunc
	start    time.Time
	deadline time.Duration // since start
	idle     time.Duration
	last     atomic.Int64 // activity, in nanoseconds since start
}

func startWatchdog(cancel context.CancelCauseFunc, deadline, idle time.Duration) *watchdog {
	w := &watchdog{cancel: cancel, start: time.Now(), deadline: deadline, idle: idle}
	w.t = time.AfterFunc(min(deadline, idle), w.fire)
	return w
}

// touch records activity at t (an event's arrival time: no clock read).
func (w *watchdog) touch(t time.Time) { w.last.Store(int64(t.Sub(w.start))) }

func (w *watchdog) fire() {
	now := time.Since(w.start)
	if now >= w.deadline {
		w.cancel(errDeadline)
		return
	}
	idleAt := time.Duration(w.last.Load()) + w.idle
	if now >= idleAt {
		w.cancel(errIdle)
		return
	}
	w.t.Reset(min(w.deadline, idleAt) - now)
}

func (w *watchdog) stop() { w.t.Stop() }
