//go:build !linux

package clock

// New returns a Clock backed by runtime timers (millisecond slack).
func New() *Clock { return &Clock{done: make(chan struct{})} }

// Precise reports whether the Clock has sub-millisecond wake-ups.
func (c *Clock) Precise() bool { return false }
