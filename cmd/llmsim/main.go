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
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/llm-platform/harness/internal/gctune"
	"github.com/llm-platform/harness/internal/sim"
)

func main() {
	gctune.Apply(os.Getenv) // the simulator's token schedule is a measurement too
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "llmsim:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("llmsim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "listen address (host:port; port 0 picks one)")
	watchStdin := fs.Bool("stdin", false, "also stop when standard input closes")
	config := sim.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	in, err := sim.Start(cfg, *addr)
	if err != nil {
		return err
	}
	c := in.Server.Config()
	fmt.Fprintln(stdout, in.URL)
	fmt.Fprintf(stdout, "llmsim: serving %s (ttft %v + %v/prompt token, itl %v, max_num_seqs %d, batch slowdown %.3g, jitter %.3g)\n",
		c.Model, c.TTFT, c.PrefillPerToken, c.ITL, c.MaxNumSeqs, c.BatchSlowdown, c.Jitter)
	if *watchStdin {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		go func() { _, _ = io.Copy(io.Discard, stdin); cancel() }()
	}
	<-ctx.Done()
	return in.Close()
}
