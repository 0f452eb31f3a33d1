package clock

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHeapOrder(t *testing.T) {
	var h wakeHeap
	base := time.Now()
	rng := rand.New(rand.NewPCG(1, 2))
	var want []time.Time
	for range 500 {
		at := base.Add(time.Duration(rng.IntN(1e6)))
		want = append(want, at)
		h.push(wake{at: at})
	}
	slices.SortFunc(want, time.Time.Compare)
	for i, w := range want {
		if got := h.pop().at; !got.Equal(w) {
			t.Fatalf("pop %d = %v, want %v", i, got, w)
		}
	}
	if len(h) != 0 {
		t.Fatal("heap not empty")
	}
}

func TestUntil(t *testing.T) {
	c := New()
	defer c.Close()
	w := c.NewWaiter()
	if !w.Until(context.Background(), time.Now().Add(-time.Second)) {
		t.Error("a past instant must return true at once")
	}
	due := time.Now().Add(20 * time.Millisecond)
	if !w.Until(context.Background(), due) || time.Now().Before(due) {
		t.Error("woke before its instant")
	}

	// A cancelled wait returns false promptly, and its stale wake-up does
	// not end the next wait early.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if w.Until(ctx, time.Now().Add(30*time.Millisecond)) {
		t.Error("cancelled wait reported its instant")
	}
	next := time.Now().Add(60 * time.Millisecond)
	if !w.Until(context.Background(), next) || time.Now().Before(next) {
		t.Error("a stale wake-up ended the next wait early")
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if w.Until(ctx, time.Now()) {
		t.Error("a done context must report false even for a past instant")
	}
}

// TestTimer: a goroutine's own precise timer wakes at its instant, never
// before; a past instant returns at once; Stop ends a blocked wait and
// every later one.
func TestTimer(t *testing.T) {
	tm := NewTimer()
	defer tm.Close()
	if !tm.Precise() {
		t.Log("no timerfd here: the fallback runtime timer is tested")
	}
	if !tm.Until(time.Now().Add(-time.Second)) {
		t.Error("a past instant must return true at once")
	}
	for range 3 {
		due := time.Now().Add(2 * time.Millisecond)
		if !tm.Until(due) || time.Now().Before(due) {
			t.Fatal("woke before its instant")
		}
	}
	// Stop ends a wait an hour away whether it lands before the wait
	// blocks or during it (the contract covers both; waiting on the clock
	// to pick one would only make the test slower, not stronger).
	done, waiting := make(chan bool), make(chan struct{})
	go func() { close(waiting); done <- tm.Until(time.Now().Add(time.Hour)) }()
	<-waiting
	tm.Stop()
	select {
	case ok := <-done:
		if ok {
			t.Error("a stopped wait reported its instant")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not end the blocked wait")
	}
	if tm.Until(time.Now().Add(-time.Second)) || tm.Until(time.Now().Add(time.Millisecond)) {
		t.Error("waits after Stop must report false")
	}
	tm.Stop() // twice is fine
}

// TestEarlierWaiterRearms: a later-registered, earlier instant is not held
// up behind the armed one.
func TestEarlierWaiterRearms(t *testing.T) {
	c := New()
	defer c.Close()
	far, near := c.NewWaiter(), c.NewWaiter()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { far.Until(ctx, time.Now().Add(time.Hour)); close(done) }()
	due := time.Now().Add(10 * time.Millisecond)
	near.Until(context.Background(), due)
	if late := time.Since(due); late > 50*time.Millisecond {
		t.Errorf("near waiter %v late", late)
	}
	cancel()
	<-done
}

func TestFallbackWithoutTimer(t *testing.T) {
	c := &Clock{done: make(chan struct{})} // what New returns where there is no timerfd
	w := c.NewWaiter()
	due := time.Now().Add(5 * time.Millisecond)
	if !w.Until(context.Background(), due) || time.Now().Before(due) {
		t.Error("fallback woke early")
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
}

// BenchmarkWait is the cost of one precise wait, including the wake.
func BenchmarkWait(b *testing.B) {
	c := New()
	defer c.Close()
	w := c.NewWaiter()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		w.Until(ctx, time.Now().Add(10*time.Microsecond))
	}
}
