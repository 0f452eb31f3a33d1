package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/record"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// writeTable prints one row per cell; latencies in milliseconds.
func writeTable(w io.Writer, rs []measurement.Measured) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "payload\tload\treqs\tok\terrors\tRPS\ttok/s\tTTFT p50\tTTFT p95\tITL p50\tITL p95\tE2E p50\tE2E p95\tE2E p99\tgoodput\t")
	for _, r := range rs {
		c := r.Stats
		loadCol := load.VUs(r.Plan.VUs)
		if r.Plan.Mode() == load.Open {
			loadCol = fmt.Sprintf("%g/s", r.Plan.Rate)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%.2f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t\n",
			r.Payload.Name, loadCol, c.Requests, c.Successes, errorList(c.Errors), c.RPS, c.OutputTokensPerS,
			ms(c.TTFT.P50), ms(c.TTFT.P95), ms(c.ITL.P50), ms(c.ITL.P95), ms(c.E2E.P50), ms(c.E2E.P95), ms(c.E2E.P99), c.GoodputRPS)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\nlatencies in ms; RPS and tok/s over each cell's first start to last end; goodput = requests meeting every SLO per second")
}

func errorList(m map[record.Class]int64) string {
	if len(m) == 0 {
		return "0"
	}
	parts := make([]string, 0, len(m))
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
