package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"

	"github.com/llm-platform/harness/internal/worker"
)

// serveWorker is `llmload worker`: serve the worker API until the harness
// has been silent for -idle-exit (then exit 0, ending the Job's pod).
func serveWorker(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("llmload worker", flag.ContinueOnError)
	listen := fs.String("listen", fmt.Sprintf(":%d", worker.Port), "address to serve the worker API on")
	idle := fs.Duration("idle-exit", 2*time.Minute, "exit when the harness has not called for this long and no cell runs")
	name := fs.String("name", "", "the worker's name in its reports (its pod; default the host name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *idle <= 0 {
		return fmt.Errorf("-idle-exit %v: must be > 0", *idle)
	}
	if *name == "" {
		*name, _ = os.Hostname()
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	limit := worker.CPULimit()
	if limit > 0 && limit < 1 && os.Getenv("GOMAXPROCS") == "" {
		// Under a CPU limit below one core, Go's default GOMAXPROCS (at
		// least 2) lets two threads spend the CFS quota in half the period
		// and then stall for the rest of it, which the open loop sees as
		// lag; one P spends it evenly (docs/distributed.md has the figures).
		runtime.GOMAXPROCS(1)
	}
	fmt.Fprintf(out, "llmload worker %s on %s (CPU limit %.3g cores, 0 is none; GOMAXPROCS %d), exiting after %v without a call\n", *name, ln.Addr(), limit, runtime.GOMAXPROCS(0), *idle)
	return worker.NewAPI(*name, limit).Serve(ctx, ln, *idle)
}
