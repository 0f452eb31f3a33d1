package docs_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/llm-platform/harness/internal/report"
	"github.com/llm-platform/harness/internal/results"
)

var update = flag.Bool("update", false, "rewrite load_test_report.md from load-test-report/results.json (make docs-report)")

// reportDir holds the sample run's results.json and charts.
const reportDir = "load-test-report"

// chartLink points report.md's chart links into reportDir.
var chartLink = regexp.MustCompile(`\]\(([a-z0-9-]+\.svg)\)`)

// TestLoadTestReportIsCurrent: docs/load_test_report.md and its charts are
// what `make docs-report` writes. Rendered again from the sample run's
// results.json by this commit's report code, they must match byte for byte:
// a change to the report's shape fails here until `make docs-report` runs
// in the same change. With -update (what make docs-report runs after the
// sweep) it writes them instead.
func TestLoadTestReportIsCurrent(t *testing.T) {
	r, err := results.Load(filepath.Join(reportDir, report.FileResults))
	if err != nil {
		t.Fatalf("%v (make docs-report writes it)", err)
	}
	if r.Target.Simulator == "" {
		t.Fatalf("the sample report must come from the embedded simulator (make docs-report), not %s", r.Target.URL)
	}
	// The default sweep on the team's card's model: the KV cache is about
	// 1% used (16 x ~353 tokens of 380,000), and the report says it is not
	// the limit.
	peak := 0.0
	for _, c := range r.Cells {
		if c.Server != nil && c.Server.KVCacheUsagePeak != nil {
			peak = max(peak, *c.Server.KVCacheUsagePeak)
		}
	}
	if peak < 0.005 || peak > 0.03 {
		t.Errorf("the sample run's KV cache peaked at %.2f%%, want about 1%%", peak*100)
	}
	charts := report.Charts(r)
	var b bytes.Buffer
	if err := report.WriteMarkdown(&b, r, charts); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"load_test_report.md": chartLink.ReplaceAll(b.Bytes(), []byte("]("+reportDir+"/$1)"))}
	for name, svg := range charts {
		files[filepath.Join(reportDir, name)] = svg
	}
	if !bytes.Contains(files["load_test_report.md"], []byte("**KV cache is not the limit**")) {
		t.Error("the sample report does not say the KV cache is not the limit")
	}
	for path, want := range files {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("docs/%s is stale: it is not what this commit's report code renders from docs/%s/results.json; run make docs-report (err %v)", path, reportDir, err)
		}
	}
}
