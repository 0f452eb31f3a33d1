//go:build !linux

package clock

import "time"

// New returns a Clock backed by runtime timers (millisecond slack).
func New() *Clock { return &Clock{done: make(chan struct{})} }

// Precise reports whether the Clock has sub-millisecond wake-ups.
func (c *Clock) Precise() bool { return false }

// timerfd is absent elsewhere than Linux.
type timerfd struct {
	f interface{ SetReadDeadline(time.Time) error }
}

func newTimerfd() *timerfd         { return nil }
func (*timerfd) arm(time.Duration) {}
func (*timerfd) wait() error       { return nil }
func (*timerfd) close() error      { return nil }
