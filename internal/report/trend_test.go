package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llm-platform/harness/internal/changepoint"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/history"
	"github.com/llm-platform/harness/internal/results"
)

// TestTrendOfExample renders the committed example history (12 nights,
// vLLM 0.11.1 and a 15% slower decode step from night 9): the decode
// metrics' charts mark one change point, at run 9, naming the commit and
// the server version that changed; TTFT has none; every chart is written.
func TestTrendOfExample(t *testing.T) {
	h, err := history.Load("../../fixtures/history/example")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteTrend(h, history.NewLevels(changepoint.DefaultMinSize, changepoint.DefaultAlpha, gate.DefaultTolerance, gate.DefaultMinRuns), dir); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, FileTrend))
	if err != nil {
		t.Fatal(err)
	}
	text := string(md)
	sections := strings.Split(text, "\n![")
	if len(sections) != 8 { // the preamble and 7 gated metrics of one cell
		t.Fatalf("%d charts in trend.md, want 7:\n%s", len(sections)-1, text)
	}
	for _, s := range sections[1:] {
		name := s[:strings.Index(s, "]")]
		decode := !strings.Contains(name, "ttft")
		changed := strings.Contains(s, "Change point at run 9 (`run-20261210T031700Z-c0ffee12ab34.json`): **worse by") &&
			strings.Contains(s, "commit 77d0e4f1c3a9 -> c0ffee12ab34; server_version: 0.11.0 -> 0.11.1")
		if decode != changed || strings.Count(s, "Change point") > 1 {
			t.Errorf("%s: want a change point at run 9 only for decode metrics:\n%s", name, s)
		}
		file := s[strings.Index(s, "(")+1 : strings.Index(s, ")")]
		if b, err := os.ReadFile(filepath.Join(dir, file)); err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "change") == decode {
			t.Errorf("%s: chart %s: %v", name, file, err)
		}
	}
}

// TestHistorySections: a run gated against its history says so in
// report.md (the mode, what each metric pooled, both tests, what it could
// detect) and in the job summary, which names a change point nobody
// accepted and how to accept it.
func TestHistorySections(t *testing.T) {
	r, err := results.Load("../../fixtures/history/example/run-20261213T031700Z-d15ea5e0b0b1.json")
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r, nil); err != nil {
		t.Fatal(err)
	}
	text := md.String()
	for _, want := range []string{"## History gate", "run history `perf-history`", "| short, 4 VUs | itl_p50_ms | ", " since the first run |", "**regressed**", "(within "} {
		if !strings.Contains(text, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	r.Cells[0].History.Metrics[4].Pool.Unaccepted = "run-20261210T031700Z-c0ffee12ab34.json"
	var sum bytes.Buffer
	if err := WriteSummary(&sum, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"### perf: failed (1 of 1 cells failed)", "Gated against the run history `perf-history` (1 cells regressed; 0 with no history gate yet; pools of",
		"**A change point nobody accepted** begins at `run-20261210T031700Z-c0ffee12ab34.json`", "make accept"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, sum.String())
		}
	}
}

// TestHistorySummaryNotYet: a night with no history gate yet says so, not
// that it was gated.
func TestHistorySummaryNotYet(t *testing.T) {
	r, err := results.Load("../../fixtures/history/example/run-20261204T031700Z-a41e0c9b2d55.json")
	if err != nil {
		t.Fatal(err)
	}
	var sum bytes.Buffer
	if err := WriteSummary(&sum, r); err != nil {
		t.Fatal(err)
	}
	if s := sum.String(); !strings.Contains(s, "Run history `perf-history`: no history gate yet (pools of 2 runs; it gates from 5)") || strings.Contains(s, "Gated against the run history") {
		t.Errorf("summary of night 3:\n%s", s)
	}
}
