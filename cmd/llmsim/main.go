// Command llmsim serves the embedded vLLM-compatible simulator on a port, so
// any tool (hey, k6, curl, the perf suite) can be pointed at it.
//
//	llmsim -addr 127.0.0.1:8000 -preset rtx3060-tinyllama
//	llmsim -preset fast -faults 429=0.01,stall=0.001
//
// Flags after -preset override the preset's fields. It prints the URL it
// serves on its first line, and stops on SIGINT, SIGTERM, or (with -stdin)
// when its standard input closes, so a parent process can own it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/sim"
)

func main() {
	clock.TuneGC(os.Getenv) // the simulator's token schedule is a measurement too
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := sim.Serve(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "llmsim:", err)
		os.Exit(2)
	}
}
