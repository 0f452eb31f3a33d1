// Command llmsim serves the embedded vLLM-compatible simulator on a port, so
// any tool (hey, k6, curl, the perf suite) can be pointed at it.
//
//	llmsim -addr 127.0.0.1:8000 -preset rtx3060-tinyllama
//	llmsim -preset fast -faults 429=0.01,stall=0.001
//
// Flags after -preset override the preset's fields.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llm-platform/harness/internal/sim"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "llmsim:", err)
		os.Exit(2)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("llmsim", flag.ContinueOnError)
	var (
		addr    = fs.String("addr", "127.0.0.1:8000", "listen address (host:port; port 0 picks one)")
		preset  = fs.String("preset", "rtx3060-tinyllama", "latency preset: rtx3060-tinyllama or fast")
		model   = fs.String("model", "", "served model name (default: the preset's)")
		ttft    = fs.Duration("ttft", -1, "base time to first token (default: the preset's)")
		prefill = fs.Duration("prefill-per-token", -1, "TTFT added per prompt token (default: the preset's)")
		itl     = fs.Duration("itl", -1, "inter-token latency of a lone sequence (default: the preset's)")
		seqs    = fs.Int("max-num-seqs", 0, "sequences running at once; more wait (default: the preset's)")
		slow    = fs.Float64("batch-slowdown", -1, "ITL stretch per extra running sequence (default: the preset's)")
		jitter  = fs.Float64("jitter", -1, "latency jitter fraction in [0,1) (default: the preset's)")
		seed    = fs.Uint64("seed", 0, "seed for jitter and faults (default: the preset's)")
		faults  = fs.String("faults", "", "fault rates, e.g. 429=0.01,stall=0.001; modes: 429 500 503 disconnect hang stall malformed no-done")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := sim.Preset(*preset)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *model != "" {
		cfg.Model = *model
	}
	durs := map[string]struct {
		v   *time.Duration
		dst *time.Duration
	}{"ttft": {ttft, &cfg.TTFT}, "prefill-per-token": {prefill, &cfg.PrefillPerToken}, "itl": {itl, &cfg.ITL}}
	for name, d := range durs {
		if set[name] {
			*d.dst = *d.v
		}
	}
	if set["max-num-seqs"] {
		cfg.MaxNumSeqs = *seqs
	}
	if set["batch-slowdown"] {
		cfg.BatchSlowdown = *slow
	}
	if set["jitter"] {
		cfg.Jitter = *jitter
	}
	if set["seed"] {
		cfg.Seed = *seed
	}
	if cfg.Faults, err = sim.ParseFaults(*faults); err != nil {
		return err
	}
	in, err := sim.Start(cfg, *addr)
	if err != nil {
		return err
	}
	c := in.Server.Config()
	fmt.Printf("llmsim: serving %s at %s (ttft %v + %v/prompt token, itl %v, max_num_seqs %d, batch slowdown %.3g, jitter %.3g)\n",
		c.Model, in.URL, c.TTFT, c.PrefillPerToken, c.ITL, c.MaxNumSeqs, c.BatchSlowdown, c.Jitter)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return in.Close()
}
