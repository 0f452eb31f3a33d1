package labnode

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A fake cgroup mount: what the functions read and write there is what
// they would on the kernel's (which takes each write to subtree_control as
// one command). The real v1 path also runs in TestRealNode.
func fakeCgroups(t *testing.T, files map[string]string) string {
	t.Helper()
	base := t.TempDir()
	for f, content := range files {
		p := filepath.Join(base, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return base
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCgroupRootV1(t *testing.T) {
	base := fakeCgroups(t, map[string]string{
		"cpu/cpu.shares": "1024", "memory/memory.limit_in_bytes": "max",
		"cpuset/cpuset.cpus": "0-1\n", "cpuset/cpuset.mems": "0\n",
	})
	c := Config{Name: "lab-x"}
	if err := makeCgroupRootIn(base, c); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"cpu", "memory", "cpuset"} {
		if fi, err := os.Stat(filepath.Join(base, h, "lab-x")); err != nil || !fi.IsDir() {
			t.Errorf("no root in hierarchy %s: %v", h, err)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "pids", "lab-x")); err == nil {
		t.Error("a root made in a hierarchy that is not mounted")
	}
	if got := read(t, filepath.Join(base, "cpuset", "lab-x", "cpuset.cpus")); got != "0-1\n" {
		t.Errorf("cpuset.cpus %q, want the parent's", got)
	}
	if err := os.MkdirAll(filepath.Join(base, "cpu", "lab-x", "kubepods", "pod1"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := cgroupDirsIn(base, c)
	if len(got) != 5 || got[0] != filepath.Join(base, "cpu", "lab-x", "kubepods", "pod1") || !slices.Contains(got, filepath.Join(base, "memory", "lab-x")) {
		t.Errorf("cgroup dirs, children first: %v", got)
	}
}

func TestCgroupRootV2(t *testing.T) {
	base := fakeCgroups(t, map[string]string{
		"cgroup.controllers":              "cpuset cpu io memory pids rdma misc",
		"cgroup.subtree_control":          "",
		"system.slice/cgroup.controllers": "cpu memory",
	})
	c := Config{Name: "lab-y"}
	// The kernel gives a new cgroup its subtree_control; the fake's is
	// made beforehand.
	if err := os.MkdirAll(filepath.Join(base, "lab-y"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "lab-y", "cgroup.subtree_control"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := makeCgroupRootIn(base, c); err != nil {
		t.Fatal(err)
	}
	// The controllers the kubelet needs, those the kernel has (no hugetlb
	// here), enabled for the root and for its children.
	want := "+cpu+cpuset+memory+pids+io"
	for _, f := range []string{"cgroup.subtree_control", "lab-y/cgroup.subtree_control"} {
		if got := read(t, filepath.Join(base, f)); got != want {
			t.Errorf("%s: %q, want %q", f, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "cpu", "lab-y")); err == nil {
		t.Error("a v1 hierarchy's root made on a v2 host")
	}
	if err := os.MkdirAll(filepath.Join(base, "lab-y", "kubepods"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := cgroupDirsIn(base, c)
	if !slices.Equal(got, []string{filepath.Join(base, "lab-y", "kubepods"), filepath.Join(base, "lab-y")}) {
		t.Errorf("cgroup dirs on v2: %v", got)
	}
}
