package docs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// makeCall is `make TARGET` as a command: at the start of a code span or
// line, or after a separator, an environment assignment or sudo.
var makeCall = regexp.MustCompile(`(?:^|[\s;&|(]|=\S*\s)make\s+(?:-[A-Za-z-]+\s+)*([a-z][a-z0-9-]*)`)

// codeSpans returns what a Markdown document shows as code: fenced blocks
// and inline spans, where a `make X` is a command and not prose ("make it").
func codeSpans(md string) []string {
	var out []string
	fenced := regexp.MustCompile("(?s)```[a-z]*\n(.*?)```")
	for _, m := range fenced.FindAllStringSubmatch(md, -1) {
		out = append(out, strings.Split(m[1], "\n")...)
	}
	md = fenced.ReplaceAllString(md, "")
	for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(md, -1) {
		out = append(out, m[1])
	}
	return out
}

// makeTargets are the Makefile's targets.
func makeTargets(t *testing.T) []string {
	t.Helper()
	var targets []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(read(t, filepath.Join("..", "Makefile")), -1) {
		targets = append(targets, m[1])
	}
	return targets
}

// TestNamedMakeTargetsExist: every `make X` that the README, a document
// or a workflow tells someone to run is a target of the Makefile (a
// renamed or removed target once left five instructions pointing at
// nothing).
func TestNamedMakeTargetsExist(t *testing.T) {
	targets := makeTargets(t)
	docs, _ := filepath.Glob("*.md")
	files := append([]string{filepath.Join("..", "README.md")}, docs...)
	workflows, _ := filepath.Glob(filepath.Join("..", ".github", "workflows", "*.yml"))
	scripts, _ := filepath.Glob(filepath.Join("..", ".github", "scripts", "*", "*.sh"))
	workflows = append(workflows, scripts...)
	seen := 0
	check := func(file, line string) {
		for _, m := range makeCall.FindAllStringSubmatch(line, -1) {
			seen++
			if !slices.Contains(targets, m[1]) {
				t.Errorf("%s names `make %s`, which the Makefile does not have", file, m[1])
			}
		}
	}
	for _, f := range files {
		for _, span := range codeSpans(read(t, f)) {
			check(f, span)
		}
	}
	for _, f := range workflows {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			check(f, line)
		}
	}
	if seen < 20 {
		t.Errorf("only %d make commands found: is the pattern still right?", seen)
	}
}

// TestMakeCallPattern: the pattern takes commands and leaves prose.
func TestMakeCallPattern(t *testing.T) {
	for line, want := range map[string]string{
		"make perf": "perf",
		"PERF_REPEATS=5 make perf && make baseline": "perf baseline",
		"sudo -E make test":                         "test",
		"run: make --no-print-directory vet":        "vet",
		"make it":                                   "it",
		"remake the lab":                            "",
	} {
		var got []string
		for _, m := range makeCall.FindAllStringSubmatch(line, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%q: %v, want %q", line, got, want)
		}
	}
}

// TestMakeBaseline: make baseline stores the last run's results.json where
// BASELINE says, and refuses a missing or interrupted run.
func TestMakeBaseline(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on PATH")
	}
	run := func(dir, baseline string) (string, error) {
		cmd := exec.Command("make", "--no-print-directory", "-s", "baseline", "PERF_REPORT_DIR="+dir, "BASELINE="+baseline)
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	dir := t.TempDir()
	if out, err := run(dir, filepath.Join(dir, "b.json")); err == nil || !strings.Contains(out, "run make perf first") {
		t.Errorf("no results.json: err %v, output %q", err, out)
	}
	results := read(t, filepath.Join("load-test-report", "results.json"))
	if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte(results), 0o644); err != nil {
		t.Fatal(err)
	}
	stored := filepath.Join(dir, "baselines", "night.json")
	if out, err := run(dir, stored); err != nil || read(t, stored) != results {
		t.Errorf("a finished run: err %v, output %q, stored a copy: %v", err, out, read(t, stored) == results)
	}
	cut := strings.Replace(results, `"interrupted": false`, `"interrupted": true`, 1)
	if cut == results {
		t.Fatal("the sample results.json has no interrupted field")
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(dir, filepath.Join(dir, "c.json")); err == nil || !strings.Contains(out, "interrupted run") {
		t.Errorf("an interrupted run: err %v, output %q", err, out)
	}
}
