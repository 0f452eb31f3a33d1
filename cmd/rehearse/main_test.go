package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The rehearsal reads the workflow itself: every step it would run, with
// the job's env evaluated for a scheduled run; an expression it does not
// know stops it rather than run a step with a wrong value.
func TestReadWorkflow(t *testing.T) {
	wf, err := readWorkflow(filepath.Join("..", "..", ".github", "workflows", "gpu-perf.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if wf.env["ROUTE"] != "ingress" || wf.env["BASELINE"] != "fixtures/baselines/gpu.json" {
		t.Errorf("job env for a scheduled run: ROUTE %q, BASELINE %q", wf.env["ROUTE"], wf.env["BASELINE"])
	}
	var runs []string
	for _, s := range wf.steps {
		if s.run != "" {
			runs = append(runs, s.run)
		}
	}
	if len(runs) < 8 || runs[0] != "make preflight" || !slices.Contains(runs, ".github/scripts/gpu-perf/e2e.sh") || !slices.Contains(runs, ".github/scripts/gpu-perf/perf.sh") {
		t.Errorf("steps: %q", runs)
	}
	for _, s := range wf.steps {
		if s.run == ".github/scripts/gpu-perf/summary.sh" && !s.always {
			t.Error("the summary step lost its if: always()")
		}
	}

	bad := filepath.Join(t.TempDir(), "w.yml")
	if err := os.WriteFile(bad, []byte("jobs:\n  gpu-perf:\n    env:\n      X: ${{ inputs.other }}\n    steps: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readWorkflow(bad); err == nil || !strings.Contains(err.Error(), "${{ inputs.other }}") {
		t.Errorf("an unknown expression: %v", err)
	}
}

func TestSetArgs(t *testing.T) {
	got := setArgs([]string{"--model", "m", "--inter-token-latency", "8ms"}, map[string]string{"--inter-token-latency": "9600us", "--seed": "1"})
	want := []string{"--model", "m", "--inter-token-latency", "9600us", "--seed", "1"}
	if !slices.Equal(got, want) {
		t.Errorf("setArgs: %q, want %q", got, want)
	}
}

func TestReadGitHubEnv(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(p, []byte("ROUTE_URL=http://10.250.0.1\nPERF_BASELINE=/tmp/b.json\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readGitHubEnv(p)
	if err != nil || got["ROUTE_URL"] != "http://10.250.0.1" || got["PERF_BASELINE"] != "/tmp/b.json" || len(got) != 2 {
		t.Errorf("%v %v", got, err)
	}
}

// A night is judged by its first failed step, its summary, skipped
// lessons and specs the JUnit glob would report twice.
func TestJudge(t *testing.T) {
	dir := t.TempDir()
	junit := `<testsuites><testsuite><testcase name="routes host and path"></testcase></testsuite></testsuites>`
	for _, f := range []string{"e2e/e2e-junit.xml", "e2e/ginkgo-junit.xml"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(junit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := nights[2] // the vLLM change: perf.sh must fail, naming ITL
	good := "### e2e through the ingress: passed (13 passed, 0 failed, 0 skipped)\n### perf: failed (2 of 2 cells failed; 2 regressed against the baseline)\n- **short, 1 VU**: baseline: itl_p50_ms 8.4 -> 9.4 (+11.1%, tolerance 7%, p = 0.004 < 0.05)\n"
	if p := judge(n, ".github/scripts/gpu-perf/perf.sh", good, t.TempDir()); len(p) != 0 {
		t.Errorf("a night as it must be: %v", p)
	}
	p := judge(n, ".github/scripts/gpu-perf/e2e.sh", "### perf: passed\n- **x**: a lesson, skipped: no log", dir)
	for _, want := range []string{"first failed step", "lacks", "a lesson spec skipped", "reports specs twice: [routes host and path]"} {
		if !strings.Contains(strings.Join(p, "\n"), want) {
			t.Errorf("judge missed %q: %v", want, p)
		}
	}
}
