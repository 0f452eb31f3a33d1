package clock

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// New returns a Clock backed by a timerfd. If the kernel refuses one, the
// Clock falls back to runtime timers (and Precise reports false).
func New() *Clock {
	c := &Clock{done: make(chan struct{})}
	if tm := newTimerfd(); tm != nil {
		c.tm = tm
		go c.loop()
	}
	return c
}

// newTimerfd is a monotonic timerfd, or nil when the kernel refuses one.
func newTimerfd() *timerfd {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	// A non-blocking descriptor makes os.File read it through the netpoller.
	return &timerfd{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}
}

// Precise reports whether the Clock has sub-millisecond wake-ups.
func (c *Clock) Precise() bool { return c.tm != nil }

type timerfd struct {
	f   *os.File
	fd  int
	buf [8]byte
}

func (t *timerfd) arm(d time.Duration) {
	d = max(d, time.Microsecond) // a zero value would disarm the timer
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	_ = unix.TimerfdSettime(t.fd, 0, &spec, nil) // cannot fail on a valid fd and spec
}

func (t *timerfd) wait() error {
	if _, err := t.f.Read(t.buf[:]); err != nil {
		return fmt.Errorf("clock: timerfd: %w", err)
	}
	return nil
}

func (t *timerfd) close() error { return t.f.Close() }
