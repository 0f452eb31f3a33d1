package labnode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// cgroupBase is where the host mounts its cgroups.
const cgroupBase = "/sys/fs/cgroup"

// cgroupHierarchies are the v1 hierarchies the lab makes its root in.
var cgroupHierarchies = []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "hugetlb", "net_cls", "net_prio", "perf_event"}

// unifiedControllers are the controllers the kubelet checks its cgroup root
// for on cgroup v2 (hugetlb where the kernel has it), and io for the pods'
// block I/O limits.
var unifiedControllers = []string{"cpu", "cpuset", "memory", "pids", "hugetlb", "io"}

// unified reports whether base is a cgroup v2 mount only (its root lists
// its controllers); a v1 or hybrid host mounts a tmpfs of hierarchies
// there.
func unified(base string) bool {
	_, err := os.Stat(filepath.Join(base, "cgroup.controllers"))
	return err == nil
}

// makeCgroupRoot makes the lab's cgroup root, which the kubelet requires to
// exist and does not make.
func makeCgroupRoot(c Config) error { return makeCgroupRootIn(cgroupBase, c) }

// makeCgroupRootIn makes the root under base. v1 (the measured
// combination): the root in each mounted hierarchy, cpuset's with its CPUs
// and memory nodes copied from the parent before any task joins. v2: the
// root, with unifiedControllers enabled for it in base's subtree_control
// and for its children (the kubelet's kubepods) in its own.
func makeCgroupRootIn(base string, c Config) error {
	if unified(base) {
		return makeUnifiedRoot(base, c)
	}
	for _, h := range cgroupHierarchies {
		hier := filepath.Join(base, h)
		if _, err := os.Stat(hier); err != nil {
			continue
		}
		d := filepath.Join(hier, c.CgroupRoot())
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("labnode: cgroup %s: %w", d, err)
		}
		if h == "cpuset" {
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				b, err := os.ReadFile(filepath.Join(hier, f))
				if err != nil {
					return fmt.Errorf("labnode: %w", err)
				}
				if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
					return fmt.Errorf("labnode: %w", err)
				}
			}
		}
	}
	return nil
}

func makeUnifiedRoot(base string, c Config) error {
	b, err := os.ReadFile(filepath.Join(base, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	var enable []string
	for _, ctl := range unifiedControllers {
		if slices.Contains(strings.Fields(string(b)), ctl) {
			enable = append(enable, "+"+ctl)
		}
	}
	if err := enableControllers(filepath.Join(base, "cgroup.subtree_control"), enable); err != nil {
		return err
	}
	d := filepath.Join(base, c.CgroupRoot())
	if err := os.MkdirAll(d, 0o755); err != nil {
		return fmt.Errorf("labnode: cgroup %s: %w", d, err)
	}
	return enableControllers(filepath.Join(d, "cgroup.subtree_control"), enable)
}

// enableControllers writes each "+controller" to a subtree_control file,
// one write each (the kernel takes a write whole or refuses it), appending
// as `echo +cpu >> cgroup.subtree_control` does.
func enableControllers(file string, enable []string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	defer f.Close()
	var errs []error
	for _, e := range enable {
		if _, err := f.WriteString(e); err != nil {
			errs = append(errs, fmt.Errorf("labnode: %s %s: %w", file, e, err))
		}
	}
	return errors.Join(errs...)
}

// cgroupDirs are the lab's cgroup folders, children before parents.
func cgroupDirs(c Config) []string { return cgroupDirsIn(cgroupBase, c) }

// cgroupDirsIn: in every v1 hierarchy under base, or under base itself on
// v2.
func cgroupDirsIn(base string, c Config) []string {
	roots := []string{filepath.Join(base, c.CgroupRoot())}
	if !unified(base) {
		roots = nil
		hs, _ := os.ReadDir(base)
		for _, h := range hs {
			roots = append(roots, filepath.Join(base, h.Name(), c.CgroupRoot()))
		}
	}
	var out []string
	for _, root := range roots {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return out
}
