package clock

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// lateness runs n goroutines that each wait k times for an instant step
// apart, and returns how late every wake was, sorted.
func lateness(c *Clock, n, k int, step time.Duration) []time.Duration {
	var mu sync.Mutex
	var late []time.Duration
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			w := c.NewWaiter()
			due := time.Now()
			mine := make([]time.Duration, 0, k)
			for range k {
				due = due.Add(step)
				w.Until(context.Background(), due)
				mine = append(mine, time.Since(due))
			}
			mu.Lock()
			late = append(late, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(late)
	return late
}

func TestClockPrecision(t *testing.T) {
	c := New()
	defer c.Close()
	if !c.Precise() {
		t.Skip("no timerfd on this OS: the Clock uses runtime timers")
	}
	// A bias check (the median) under the attempt policy; the p99 is
	// logged and measured by make bench (docs/benchmarks.md).
	for _, n := range []int{1, 16, 128} {
		Attempts(t, DefaultAttempts, func(int) []string {
			late := lateness(c, n, 200, time.Millisecond)
			p50, p99 := late[len(late)/2], late[len(late)*99/100]
			t.Logf("%3d waiters: late p50 %v p99 %v max %v", n, p50, p99, late[len(late)-1])
			if p50 > 200*time.Microsecond {
				return []string{fmt.Sprintf("%d waiters: p50 lateness %v, want <= 200µs", n, p50)}
			}
			return nil
		})
	}
}
