package sweep

import (
	"strings"
	"testing"
)

// TestCells: the settings' payloads x loads expand to one cell each, every
// closed one with its VUs' requests and a warm-up of PERF_WARMUP requests a
// VU (at least one request each), every open one with its rate's.
func TestCells(t *testing.T) {
	env := map[string]string{
		"PERF_TARGET": "http://10.0.0.1:80", "PERF_CONCURRENCY": "2, 8", "PERF_ITERATIONS_PER_VU": "10",
		"PERF_RATES": "0.5,4", "PERF_DURATION": "30s", "PERF_WARMUP": "2",
	}
	c, err := resolve(t, env, "-perf.concurrency=4", "-perf.payloads=long")
	if err != nil {
		t.Fatal(err)
	}
	cells := c.Cells()
	if len(cells) != 3 || cells[0].Name() != "long, 4 VUs" || cells[0].Plan.Iterations != 40 || cells[0].Plan.Warmup != 8 ||
		cells[1].Name() != "long, 0.5 req/s" || cells[1].Plan.Warmup != 2 || cells[2].Plan.Requests != 100 || cells[2].Plan.Warmup != 8 {
		t.Errorf("cells: %+v", cells)
	}
	if l := strings.Join(cells[0].Labels(), " "); l != "payload:long mode:closed vus:4" {
		t.Errorf("labels %q", l)
	}
	if l := strings.Join(cells[1].Labels(), " "); l != "payload:long mode:open rate:0.5" {
		t.Errorf("labels %q", l)
	}
	c, err = resolve(t, map[string]string{"PERF_CONCURRENCY": "none", "PERF_RATES": "2"})
	if err != nil || len(c.Cells()) != 2 || c.Cells()[0].Plan.Mode() != "open" {
		t.Fatalf("open loop only: %v %+v", err, c.Cells())
	}
}

// TestK6Cells: the team's k6 variables make k6's one cell, ITERATIONS
// shared by the VUs (no divisibility needed).
func TestK6Cells(t *testing.T) {
	c, err := resolve(t, map[string]string{"BASE_URL": "http://llm.local/v1/chat/completions", "PAYLOAD_TYPE": "short", "VUS": "4", "ITERATIONS": "192"})
	if err != nil {
		t.Fatal(err)
	}
	if cells := c.Cells(); len(cells) != 1 || cells[0].Name() != "short, 4 VUs" || cells[0].Plan.Iterations != 192 {
		t.Fatalf("cells %+v", cells)
	}
	c, err = resolve(t, map[string]string{"VUS": "4", "ITERATIONS": "10"})
	if err != nil || c.Cells()[0].Plan.Iterations != 10 || c.Cells()[0].Plan.VUs != 4 {
		t.Errorf("10 iterations at 4 VUs: %v %+v", err, c.Cells())
	}
}
