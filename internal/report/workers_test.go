package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/results"
)

// A sweep driven by worker pods: the load section names the workers, each
// cell's shares, their clocks, and a lost share with its cell incomplete.
func TestWorkersSection(t *testing.T) {
	r := sampleRun()
	r.Settings.Workers, r.Settings.WorkerImage = 2, "llm-harness.local/llmload:dev"
	c := &r.Cells[1]
	c.LoadCheck = &results.LoadCheck{Verdict: results.LoadIncomplete, ClockOffsetMs: 1.25, ClockBoundMs: 0.5,
		Reason: "incomplete: worker 1 (pod w-1) lost its share (2 of 4 VUs): pod deleted",
		Workers: []results.WorkerLoad{
			{Index: 0, Pod: "w-0", Node: "lab-node-0", VUs: 2, Requests: 16, CPUS: 0.1, CPULimit: 0.25, CPUShare: 0.2, Verdict: results.LoadOK, ClockOffsetMs: -1.25, ClockBoundMs: 0.5},
			{Index: 1, Pod: "w-1", Node: "lab-node-0", VUs: 2, Requests: 7, Verdict: results.LoadOK, ClockOffsetMs: 0.4, ClockBoundMs: 0.6, Lost: "pod deleted"},
		}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r, nil); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"### Load from worker pods",
		"2 worker pods (image `llm-harness.local/llmload:dev`) drove 1 cells",
		"the largest was 1.25 ms ± 0.50 ms",
		"| short, 4 VUs | 0 | w-0 | lab-node-0 | 2 VUs | 16 | — | — | 20% of 0.25 | -1.25 ± 0.50 | ok |",
		"| short, 4 VUs | 1 | w-1 | lab-node-0 | 2 VUs | 7 | — | — | 0% | +0.40 ± 0.60 | **lost**: pod deleted |",
		"incomplete: worker 1 (pod w-1) lost its share (2 of 4 VUs): pod deleted",
		"the CPU use of the worker pods together",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	b.Reset()
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`name="workers" value="2"`, `name="clock_offset_ms" value="1.25"`, `name="load_check" value="incomplete"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("junit.xml lacks %s", want)
		}
	}
	// Without workers there is no such section.
	b.Reset()
	if err := WriteMarkdown(&b, sampleRun(), nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "worker pods") {
		t.Error("a sweep this process drove has a workers section")
	}
}
