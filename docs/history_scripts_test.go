package docs_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// git runs git in dir, failing the test on an error.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"}, args...)...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, b)
	}
	return string(b)
}

// TestHistorySteps runs the GPU workflow's run-history steps over two
// nights against a real git remote: the first night finds no branch and
// starts it; the second reads the first night's run back, adds its own,
// and pushes only that; a file already on the branch is never
// overwritten; a night with no new run pushes nothing.
func TestHistorySteps(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	root := t.TempDir()
	origin, clone := filepath.Join(root, "origin.git"), filepath.Join(root, "clone")
	git(t, root, "init", "-q", "--bare", origin)
	git(t, root, "clone", "-q", origin, clone)
	_ = os.WriteFile(filepath.Join(clone, "README"), []byte("x\n"), 0o644)
	git(t, clone, "add", "README")
	git(t, clone, "commit", "-q", "-m", "main")
	git(t, clone, "push", "-q", "origin", "HEAD:main")
	script := func(name, runner, reports string, env ...string) (string, string) {
		t.Helper()
		env = append(env, "HISTORY_REPO="+clone, "RUNNER_TEMP="+runner, "PERF_REPORT_DIR="+reports, "PERF_HISTORY="+filepath.Join(runner, "perf-history"))
		out, summary, ok := runScript(t, name, t.TempDir(), env...)
		if !ok {
			t.Fatalf("%s failed:\n%s", name, out)
		}
		return out, summary
	}
	push := func(reports string) string {
		t.Helper()
		cmd := exec.Command("bash", filepath.Join(repoRoot(t), ".github", "scripts", "gpu-perf", "history-push.sh"))
		cmd.Dir = clone
		cmd.Env = append(os.Environ(), "HISTORY_NEW="+filepath.Join(reports, "history-new"), "GITHUB_STEP_SUMMARY=/dev/null", "GITHUB_ENV=/dev/null")
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("history-push.sh: %v\n%s", err, b)
		}
		return string(b)
	}
	for night, name := range []string{"run-20261207T031700Z-aaaa.json", "run-20261208T031700Z-bbbb.json"} {
		runner, reports := t.TempDir(), t.TempDir()
		_, summary := script("history.sh", runner, reports)
		want := []string{"none yet on `perf-history`", "1 runs from `perf-history`"}[night]
		if !strings.Contains(summary, want) {
			t.Errorf("night %d: summary %q lacks %q", night+1, summary, want)
		}
		if night == 1 {
			if _, err := os.Stat(filepath.Join(runner, "perf-history", "run-20261207T031700Z-aaaa.json")); err != nil {
				t.Errorf("night 2 did not read night 1's run: %v", err)
			}
		}
		// The sweep appends this night's run.
		_ = os.WriteFile(filepath.Join(runner, "perf-history", name), []byte(`{"schema": 6}`), 0o644)
		out, _ := script("history-new.sh", runner, reports)
		if !strings.Contains(out, "new in the run history: "+name) || strings.Count(out, "new in the run history") != 1 {
			t.Errorf("night %d: history-new.sh: %s", night+1, out)
		}
		if out := push(reports); !strings.Contains(out, "recorded on perf-history: "+name) {
			t.Errorf("night %d: history-push.sh: %s", night+1, out)
		}
	}
	files := git(t, clone, "ls-tree", "--name-only", "origin/perf-history")
	if files != "run-20261207T031700Z-aaaa.json\nrun-20261208T031700Z-bbbb.json\n" {
		t.Errorf("perf-history holds %q", files)
	}
	// The same file again, changed: kept as it is; an empty night: nothing.
	again := t.TempDir()
	_ = os.MkdirAll(filepath.Join(again, "history-new"), 0o755)
	_ = os.WriteFile(filepath.Join(again, "history-new", "run-20261208T031700Z-bbbb.json"), []byte(`{"schema": 99}`), 0o644)
	if out := push(again); !strings.Contains(out, "already on perf-history: kept") {
		t.Errorf("an existing file: %s", out)
	}
	if got := git(t, clone, "show", "origin/perf-history:run-20261208T031700Z-bbbb.json"); got != `{"schema": 6}` {
		t.Errorf("an existing file was overwritten: %s", got)
	}
	if out := push(t.TempDir()); !strings.Contains(out, "nothing to record") {
		t.Errorf("an empty night: %s", out)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}
