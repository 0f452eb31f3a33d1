// Command history reads and writes a perf run history (PERF_HISTORY):
//
//	history trend  -history DIR [-out DIR]           write trend.md and its charts
//	history accept -history DIR -run FILE -reason R  accept the level FILE shows
//
// make trend and make accept run it. A run history is a folder of
// results.json files, one per run, and of acceptances (docs/perf-sweep.md,
// "Run history").
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/llm-platform/harness/internal/changepoint"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/report"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, time.Now); err != nil {
		fmt.Fprintln(os.Stderr, "history:", err)
		os.Exit(2)
	}
}

const usage = "usage: history trend -history DIR [-out DIR] | history accept -history DIR -run FILE -reason TEXT"

func run(args []string, out io.Writer, now func() time.Time) error {
	if len(args) == 0 {
		return fmt.Errorf("%s", usage)
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("history", "", "the history folder (HISTORY)")
	outDir := fs.String("out", "", "where trend.md goes (default: the history folder)")
	runFile := fs.String("run", "", "accept: the run whose level is accepted (RUN)")
	reason := fs.String("reason", "", "accept: why (REASON)")
	minSeg := fs.Int("min-segment", changepoint.DefaultMinSize, "change points: the fewest runs a level holds (PERF_CHANGEPOINT_MIN_SEGMENT)")
	alpha := fs.Float64("alpha", changepoint.DefaultAlpha, "change points: the permutation test's significance (PERF_CHANGEPOINT_ALPHA)")
	tolerance := fs.Float64("tolerance", gate.DefaultTolerance, "a change point beyond this is a regression (PERF_TOLERANCE)")
	minRuns := fs.Int("min-runs", gate.DefaultMinRuns, "the fewest runs a new level needs to be the pool (PERF_HISTORY_MIN_RUNS)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%s: %w (%s)", args[0], err, usage)
	}
	if *dir == "" {
		return fmt.Errorf("%s: HISTORY: empty; name the history folder", args[0])
	}
	if st, err := os.Stat(*dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%s: HISTORY: %s is not a folder", args[0], *dir)
	}
	h, err := history.Load(*dir)
	if err != nil {
		return err
	}
	switch args[0] {
	case "trend":
		if len(h.Entries) == 0 {
			return fmt.Errorf("trend: HISTORY: %s holds no run", *dir)
		}
		dest := *outDir
		if dest == "" {
			dest = *dir
		}
		if err := report.WriteTrend(h, history.NewLevels(*minSeg, *alpha, *tolerance, *minRuns), dest); err != nil {
			return err
		}
		fmt.Fprintf(out, "trend of %d runs: %s/%s\n", len(h.Entries), dest, report.FileTrend)
	case "accept":
		a, err := h.Accept(*runFile, *reason, now())
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "accepted the level of %s: %s (%s/%s)\n", a.Run, a.Reason, *dir, a.File)
	default:
		return fmt.Errorf("%q: %s", args[0], usage)
	}
	return nil
}
