package clock

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Timer is a precise one-shot timer owned by one goroutine: the open loop's
// pacer, the only goroutine that waits on the schedule. A Clock serves many
// waiters through a heap and a loop goroutine, so each of its wakes is a
// hand-off from that loop to the waiter; a Timer's OS timer is read by the
// netpoller straight into the goroutine that waits, and Stop interrupts the
// wait from any goroutine. Each Timer holds one timerfd; where none can be
// had it falls back to a runtime timer.
type Timer struct {
	tm *timerfd    // nil: the fallback
	rt *time.Timer // the fallback, and the interrupt of a fallback wait
	// stopped ends every wait, now and later (Stop); stopOnce closes stop.
	stopped  atomic.Bool
	stopOnce sync.Once
	stop     chan struct{}
}

// NewTimer returns a Timer; Close releases it.
func NewTimer() *Timer {
	t := &Timer{stop: make(chan struct{})}
	t.tm = newTimerfd()
	if t.tm == nil {
		t.rt = time.NewTimer(time.Hour)
		t.rt.Stop()
	}
	return t
}

// Precise reports whether the Timer has sub-millisecond wake-ups.
func (t *Timer) Precise() bool { return t.tm != nil }

// Until blocks until at, and reports whether at came before Stop. An at in
// the past returns at once.
func (t *Timer) Until(at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return !t.isStopped()
	}
	if t.tm == nil {
		t.rt.Reset(d)
		select {
		case <-t.rt.C:
			return true
		case <-t.stop:
			t.rt.Stop()
			return false
		}
	}
	t.tm.arm(d)
	if err := t.tm.wait(); err != nil {
		return false // Stop set a read deadline in the past
	}
	return !t.isStopped()
}

// Stop ends the wait in progress and every later one: each returns false.
// It is safe to call from any goroutine, more than once.
func (t *Timer) Stop() {
	t.stopOnce.Do(func() {
		t.stopped.Store(true)
		close(t.stop)
		if t.tm != nil {
			_ = t.tm.f.SetReadDeadline(time.Unix(1, 0)) // wakes a blocked read with ErrDeadlineExceeded
		}
	})
}

// isStopped is read on every wait: an atomic, not a lock.
func (t *Timer) isStopped() bool { return t.stopped.Load() }

// Close releases the Timer's OS timer.
func (t *Timer) Close() error {
	t.Stop()
	if t.tm == nil {
		return nil
	}
	if err := t.tm.close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return err
	}
	return nil
}
