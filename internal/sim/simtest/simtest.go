// Package simtest serves the simulator to tests, as net/http/httptest serves
// handlers: in the test's process (Start), or in a child process that
// re-executes the test binary (StartProcess), so that a test or benchmark
// that measures time talks to a server that does not share its heap, its GC
// pauses or its scheduler, as a real server never does. Use it only from
// tests.
package simtest

import (
	"testing"

	"github.com/llm-platform/harness/internal/sim"
)

// Start serves a simulator for cfg on a loopback port for tb's lifetime and
// returns its URL. Closing it is part of the test: an error fails it.
func Start(tb testing.TB, cfg sim.Config) string {
	tb.Helper()
	in, err := sim.Start(cfg, "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := in.Close(); err != nil {
			tb.Error(err)
		}
	})
	return in.URL
}
