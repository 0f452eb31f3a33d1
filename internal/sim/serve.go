package sim

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// Serve is the llmsim command: it parses llmsim's flags (-addr, -stdin and
// those of Flags), serves the simulator, prints its URL as the first line
// of stdout, and stops when ctx ends or, with -stdin, when stdin closes (so
// a parent process can own it). Test processes that serve a simulator
// child run it too.
func Serve(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("llmsim", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8000", "listen address (host:port; port 0 picks one)")
	watchStdin := fs.Bool("stdin", false, "also stop when standard input closes")
	config := Flags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	in, err := Start(cfg, *addr)
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
