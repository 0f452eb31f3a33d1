package provenance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestResolveOrder(t *testing.T) {
	stamped := []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "aaa"}, {Key: "vcs.modified", Value: "true"}}
	tree := func() Build { return Build{Commit: "ccc", Source: "source tree"} }
	for _, tc := range []struct {
		name           string
		settings       []debug.BuildSetting
		commit, dirty  string
		want           Build
		wantTreeCalled bool
	}{
		{"build info wins", stamped, "bbb", "", Build{Commit: "aaa", Dirty: true, Source: "build info"}, false},
		{"ldflags for a test binary", []debug.BuildSetting{{Key: "-ldflags", Value: "-X ..."}}, "bbb", "true", Build{Commit: "bbb", Dirty: true, Source: "ldflags"}, false},
		{"clean ldflags", nil, "bbb", "false", Build{Commit: "bbb", Source: "ldflags"}, false},
		{"the source tree last", nil, "", "", Build{Commit: "ccc", Source: "source tree"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			got := resolve(tc.settings, tc.commit, tc.dirty, func() Build { called = true; return tree() })
			if got != tc.want || called != tc.wantTreeCalled {
				t.Fatalf("got %+v (tree asked: %v), want %+v (tree asked: %v)", got, called, tc.want, tc.wantTreeCalled)
			}
		})
	}
}

func TestString(t *testing.T) {
	for b, want := range map[Build]string{{}: "unknown", {Commit: "abc"}: "abc", {Commit: "abc", Dirty: true}: "abc (dirty tree)"} {
		if got := b.String(); got != want {
			t.Errorf("%+v: %q, want %q", b, got, want)
		}
	}
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.email=t@example.invalid", "-c", "user.name=t"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// newRepo is a git repository with one commit, and that commit.
func newRepo(t *testing.T) (string, string) {
	dir := t.TempDir()
	git(t, dir, "init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "f")
	git(t, dir, "commit", "-q", "-m", "one")
	return dir, FromTree(context.Background(), dir).Commit
}

func TestFromTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir, commit := newRepo(t)
	if b := FromTree(context.Background(), dir); len(commit) != 40 || b.Dirty || b.Source != "source tree" {
		t.Fatalf("clean repository: %+v", b)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b := FromTree(context.Background(), dir); b.Commit != commit || !b.Dirty {
		t.Fatalf("changed file: %+v, want %s dirty", b, commit)
	}
	if b := FromTree(context.Background(), t.TempDir()); b != (Build{}) {
		t.Fatalf("outside a repository: %+v", b)
	}
}

// The harness's commit is that of the tree its source came from, never the
// repository of the working directory: run from another checkout, a test
// binary (which Go does not stamp) still names this one.
func TestHarnessIgnoresTheWorkingDirectory(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	ours := FromTree(context.Background(), ".")
	if ours.Commit == "" {
		t.Skip("not run from a git checkout of the harness")
	}
	other, otherCommit := newRepo(t)
	t.Chdir(other)
	got := Harness(context.Background())
	if got.Commit == otherCommit || got.Commit != ours.Commit || got.Source != "source tree" {
		t.Fatalf("Harness() = %+v from %s; want this checkout's %s, not the working directory's %s", got, other, ours.Commit, otherCommit)
	}
}
