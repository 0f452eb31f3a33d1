package report

import (
	"fmt"
	"strings"
)

// serverSection is what the target's own /metrics counted beside what the
// harness measured: a proxy's overhead, or requests the client counted and
// the server did not, show here. A metric the target does not expose reads
// "not exposed", never 0.
func (r doc) serverSection() string {
	exposed := false
	for _, c := range r.Cells {
		exposed = exposed || c.Server != nil
	}
	if len(r.Cells) == 0 {
		return ""
	}
	if !exposed {
		return "## The server's view\n\nThe target exposes no vLLM metrics at `/metrics`: the server's own counts are not exposed.\n\n"
	}
	var b strings.Builder
	b.WriteString("## The server's view\n\nWhat the target's `/metrics` counted over each cell's measured requests (of the repeat whose RPS is the median), " +
		"beside the harness's own figures. The server's TTFT leaves out the network and any proxy; a gap between the two is their share.\n\n" +
		"KV cache peak is the highest share of the server's KV cache in use seen during the cell; preemptions are sequences it evicted for want of KV cache; " +
		"queue mean is how long requests waited to be scheduled: the server's side of saturation.\n\n")
	t := newTable(&b, "lrrrrrrrrrrrrr", "cell", "server requests", "client successes", "generation tokens", "prompt tokens", "server TTFT mean ms",
		"client TTFT mean ms", "server E2E mean ms", "client E2E mean ms", "running / waiting after", "KV cache peak %", "preemptions", "queue mean ms", "prefix cache hit %")
	for _, c := range r.Cells {
		s := c.Server
		if s == nil {
			t.row(c.Name(), "not exposed", fmt.Sprint(c.MedianRepeat().Successes), "", "", "", f1(c.TTFT.Mean), "", f1(c.E2E.Mean), "", "", "", "", "")
			continue
		}
		t.row(c.Name(), exposedValue(s.Requests, "%.0f"), fmt.Sprint(c.MedianRepeat().Successes), exposedValue(s.GenerationTokens, "%.0f"),
			exposedValue(s.PromptTokens, "%.0f"), exposedValue(s.TTFTMeanMs, "%.1f"), f1(c.TTFT.Mean), exposedValue(s.E2EMeanMs, "%.1f"), f1(c.E2E.Mean),
			exposedValue(s.RunningAfter, "%.0f")+" / "+exposedValue(s.WaitingAfter, "%.0f"), exposedValue(pct(s.KVCacheUsagePeak), "%.1f"),
			exposedValue(s.Preemptions, "%.0f"), exposedValue(s.QueueMeanMs, "%.1f"), exposedValue(pct(s.PrefixCacheHitRate), "%.1f"))
	}
	b.WriteString("\n")
	return b.String()
}

// exposedValue renders a server metric, or "not exposed" for a metric the
// target lacks.
func exposedValue(v *float64, format string) string {
	if v == nil {
		return "not exposed"
	}
	return fmt.Sprintf(format, *v)
}

// responseSection sets open-loop cells' response time (from the intended
// start, the client's lateness included: the coordinated-omission-corrected
// view) beside their service time (from the actual start).
func (r doc) responseSection() string {
	var b strings.Builder
	var t table
	for _, c := range r.Cells {
		if c.ResponseTTFT == nil || c.ResponseE2E == nil || c.Queue == nil {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("### Open loop: service time and response time\n\n" +
				"Service time runs from when a request was sent; response time from when the schedule meant to send it, so it also holds " +
				"the client's own lateness (queue). A response time well above the service time means the load generator, not the server, " +
				"fell behind.\n\n")
			t = newTable(&b, "lrrrr", "cell", "queue p99", "TTFT p50 service / response", "TTFT p95 service / response", "E2E p95 service / response")
		}
		t.row(c.Name(), marked(*c.Queue, "p99", f1(c.Queue.P99)), f1(c.TTFT.P50)+" / "+f1(c.ResponseTTFT.P50),
			marked(c.TTFT, "p95", f1(c.TTFT.P95))+" / "+marked(*c.ResponseTTFT, "p95", f1(c.ResponseTTFT.P95)),
			marked(c.E2E, "p95", f1(c.E2E.P95))+" / "+marked(*c.ResponseE2E, "p95", f1(c.ResponseE2E.P95)))
	}
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	return b.String()
}
