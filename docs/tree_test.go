package docs_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedBytes is the largest file git may hold: sources, fixtures and
// the sample report are all far below it; a build output or a dump is not.
const maxTrackedBytes = 1 << 20

// binaryMagic are the first bytes of the executables a go build writes:
// ELF (Linux), Mach-O (macOS: 32- and 64-bit, either byte order, and the
// universal "fat" header). Scripts with a run bit start with "#!" and pass.
var binaryMagic = [][]byte{
	{0x7f, 'E', 'L', 'F'},
	{0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf},
	{0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe},
	{0xca, 0xfe, 0xba, 0xbe},
}

// trackedFiles lists what git holds, from the repository's root.
func trackedFiles(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", "..", "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout (git ls-files: %v): nothing to check", err)
	}
	return strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
}

// TestNoBuildOutputTracked: no tracked file is a compiled binary or over
// 1 MiB. A committed binary stays in every clone's history for good.
func TestNoBuildOutputTracked(t *testing.T) {
	files := trackedFiles(t)
	if len(files) < 100 {
		t.Fatalf("git ls-files listed %d files: not this repository", len(files))
	}
	for _, f := range files {
		path := filepath.Join("..", f)
		st, err := os.Lstat(path)
		if err != nil || !st.Mode().IsRegular() {
			continue // deleted in the work tree, or a link
		}
		if st.Size() > maxTrackedBytes {
			t.Errorf("%s: %d bytes tracked, over %d: a build output or data for a release asset, not git", f, st.Size(), maxTrackedBytes)
		}
		head := make([]byte, 4)
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := fh.Read(head)
		_ = fh.Close()
		for _, m := range binaryMagic {
			if n == 4 && bytes.Equal(head, m) {
				t.Errorf("%s: a compiled binary is tracked (magic % x); remove it and ignore it", f, m)
			}
		}
	}
}

// TestRootBuildsIgnored: `go build ./cmd/X` at the root writes ./X; each
// such name is ignored, so a stray build cannot be committed.
func TestRootBuildsIgnored(t *testing.T) {
	cmds, err := os.ReadDir(filepath.Join("..", "cmd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if !c.IsDir() {
			continue
		}
		if err := exec.Command("git", "-C", "..", "check-ignore", "-q", "--no-index", c.Name()).Run(); err != nil {
			t.Errorf("./%s (go build ./cmd/%s at the root) is not ignored: add /%s to .gitignore", c.Name(), c.Name(), c.Name())
		}
	}
}
