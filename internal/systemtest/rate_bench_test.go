package systemtest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/load"
	"github.com/llm-platform/harness/internal/measurement"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/payload"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// rateRun is one tool's run at one rate.
type rateRun struct {
	achieved         float64 // requests/s started
	p50, p99         time.Duration
	queueP99         time.Duration // the engine's own lateness against its schedule
	cpuPer1k         time.Duration // the tool's CPU per 1,000 requests
	requests, failed int64
}

// vegetaRun attacks url at rate for d with vegeta and reads its report.
func vegetaRun(b *testing.B, vegeta, url, bodyFile string, rate int, d time.Duration) rateRun {
	dir := b.TempDir()
	targets := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(targets, []byte("POST "+url+"/v1/chat/completions\nContent-Type: application/json\n@"+bodyFile+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(dir, "results.bin")
	attack := exec.Command(vegeta, "attack", "-rate", strconv.Itoa(rate)+"/s", "-duration", d.String(), "-targets", targets, "-output", bin)
	if out, err := attack.CombinedOutput(); err != nil {
		b.Fatalf("vegeta attack: %v\n%s", err, out)
	}
	cpu := attack.ProcessState.UserTime() + attack.ProcessState.SystemTime()
	out, err := exec.Command(vegeta, "report", "-type", "json", bin).Output()
	if err != nil {
		b.Fatalf("vegeta report: %v", err)
	}
	var rep struct {
		Latencies struct {
			P50 int64 `json:"50th"`
			P99 int64 `json:"99th"`
		} `json:"latencies"`
		Requests    int64          `json:"requests"`
		Rate        float64        `json:"rate"`
		Success     float64        `json:"success"`
		StatusCodes map[string]int `json:"status_codes"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		b.Fatalf("vegeta report: %v\n%s", err, out)
	}
	r := rateRun{achieved: rep.Rate, p50: time.Duration(rep.Latencies.P50), p99: time.Duration(rep.Latencies.P99),
		requests: rep.Requests, failed: rep.Requests - int64(rep.StatusCodes["200"])}
	if rep.Requests > 0 {
		r.cpuPer1k = cpu * 1000 / time.Duration(rep.Requests)
	}
	return r
}

// engineRun drives url at rate for d with the engine, as llmload -no-stream does.
func engineRun(b *testing.B, url string, set payload.Set, rate int, d time.Duration) rateRun {
	cpu0 := cpuTime()
	res, err := measurement.Run(context.Background(), measurement.Spec{
		Target:  measurement.Requests{Endpoint: openai.Endpoint{BaseURL: url}, Model: llmdModel, NoStream: true},
		Payload: "n64", Plan: load.Plan{Rate: float64(rate), Duration: d},
	}, set)
	if err != nil {
		b.Fatal(err)
	}
	cpu := cpuTime() - cpu0
	s := res.Stats
	r := rateRun{p50: s.E2E.P50, p99: s.E2E.P99, queueP99: s.Queue.P99, requests: s.Requests, failed: s.Requests - s.Successes}
	if s.Requests > 1 && s.StartSpan > 0 {
		r.achieved = float64(s.Requests-1) / s.StartSpan.Seconds()
	}
	if s.Requests > 0 {
		r.cpuPer1k = cpu * 1000 / time.Duration(s.Requests)
	}
	return r
}

// cpuTime is this process's CPU time, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const llmdModel = "TinyLlama/TinyLlama-1.1B-Chat-v1.0"

// BenchmarkRateVersusVegeta drives llm-d-inference-sim (TTFT 2 ms,
// non-streamed, 64 tokens) at 1,000, 2,000 and 3,000 requests/s with vegeta
// and with the engine, alternating the tools over RATE_ROUNDS rounds (3 by
// default), and prints each tool's median over the rounds: achieved rate,
// p50/p99 latency, CPU per 1,000 requests, and the engine's queue p99.
// It fails when the engine misses the targets in docs/benchmarks.md.
func BenchmarkRateVersusVegeta(b *testing.B) {
	vegeta := os.Getenv("VEGETA")
	if vegeta == "" {
		b.Skip("VEGETA not set: make bench-rate builds vegeta and runs this")
	}
	rounds := 3
	if v, err := strconv.Atoi(os.Getenv("RATE_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	const d = 8 * time.Second
	url := simtest.StartLLMD(b, "--model", llmdModel, "--time-to-first-token", "2ms", "--inter-token-latency", "0s", "--max-num-seqs", "1024")
	set := payload.Set{"n64": {Name: "n64", MaxTokens: 64, Messages: []openai.Message{{Role: "user", Content: "Say sixty-four tokens."}}}}
	body, _ := json.Marshal(map[string]any{"model": llmdModel, "messages": set["n64"].Messages, "max_tokens": 64, "stream": false, "ignore_eos": true})
	bodyFile := filepath.Join(b.TempDir(), "body.json")
	if err := os.WriteFile(bodyFile, body, 0o600); err != nil {
		b.Fatal(err)
	}
	rates := []int{1000, 2000, 3000}
	for range b.N {
		ours, theirs := map[int][]rateRun{}, map[int][]rateRun{}
		for round := range rounds {
			for _, rate := range rates {
				// Alternate which tool goes first, so drift lands on both.
				first, second := func() { theirs[rate] = append(theirs[rate], vegetaRun(b, vegeta, url, bodyFile, rate, d)) },
					func() { ours[rate] = append(ours[rate], engineRun(b, url, set, rate, d)) }
				if round%2 == 1 {
					first, second = second, first
				}
				first()
				second()
			}
		}
		var table strings.Builder
		fmt.Fprintf(&table, "\n%-6s %-7s %10s %9s %9s %10s %12s %7s\n", "rate", "tool", "achieved", "p50 ms", "p99 ms", "queue p99", "CPU s/1k req", "failed")
		var problems []string
		for _, rate := range rates {
			o, t := medianRun(ours[rate]), medianRun(theirs[rate])
			fmt.Fprintf(&table, "%-6d %-7s %10.1f %9.2f %9.2f %10s %12.3f %7d\n", rate, "vegeta", t.achieved, ms(t.p50), ms(t.p99), "—", t.cpuPer1k.Seconds(), t.failed)
			fmt.Fprintf(&table, "%-6d %-7s %10.1f %9.2f %9.2f %10.2f %12.3f %7d\n", rate, "engine", o.achieved, ms(o.p50), ms(o.p99), ms(o.queueP99), o.cpuPer1k.Seconds(), o.failed)
			b.ReportMetric(o.achieved, fmt.Sprintf("engine-rps@%d", rate))
			b.ReportMetric(ms(o.queueP99), fmt.Sprintf("engine-queue-p99-ms@%d", rate))
			b.ReportMetric(ms(o.p99), fmt.Sprintf("engine-p99-ms@%d", rate))
			b.ReportMetric(ms(t.p99), fmt.Sprintf("vegeta-p99-ms@%d", rate))
			b.ReportMetric(o.cpuPer1k.Seconds(), fmt.Sprintf("engine-cpu-s-per-1k@%d", rate))
			b.ReportMetric(t.cpuPer1k.Seconds(), fmt.Sprintf("vegeta-cpu-s-per-1k@%d", rate))
			if o.p99 > t.p99*3/2 {
				problems = append(problems, fmt.Sprintf("%d/s: engine p99 %.2f ms > 1.5 x vegeta's %.2f ms", rate, ms(o.p99), ms(t.p99)))
			}
			if rate == 3000 {
				if o.achieved < 0.99*float64(rate) {
					problems = append(problems, fmt.Sprintf("3000/s: engine achieved %.1f/s, below 99%% of offered", o.achieved))
				}
				if o.queueP99 > 5*time.Millisecond {
					problems = append(problems, fmt.Sprintf("3000/s: engine queue p99 %.2f ms > 5 ms", ms(o.queueP99)))
				}
			}
		}
		b.Log(table.String())
		for _, p := range problems {
			b.Error(p)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// medianRun is the run with the median achieved rate, its other figures the
// medians over the runs figure by figure.
func medianRun(runs []rateRun) rateRun {
	med := func(f func(rateRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[(len(v)-1)/2]
	}
	return rateRun{
		achieved: med(func(r rateRun) float64 { return r.achieved }),
		p50:      time.Duration(med(func(r rateRun) float64 { return float64(r.p50) })),
		p99:      time.Duration(med(func(r rateRun) float64 { return float64(r.p99) })),
		queueP99: time.Duration(med(func(r rateRun) float64 { return float64(r.queueP99) })),
		cpuPer1k: time.Duration(med(func(r rateRun) float64 { return float64(r.cpuPer1k) })),
		failed:   int64(med(func(r rateRun) float64 { return float64(r.failed) })),
	}
}
