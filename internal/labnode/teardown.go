package labnode

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Teardown removes everything the node made, whatever state it was left
// in (a SIGKILL included): its processes and their containers, mounts, the
// namespaces (the network one with its veths and iptables chains; the
// mount one with every mount made inside it), the cgroup root, and the
// mount points it made on the host; then the node's folder. It returns
// what it could not remove.
func Teardown(ctx context.Context, c Config) error {
	var errs []error
	// Processes first: the daemons, then the shims and every task in the
	// lab's cgroups, until none is left (a shim may start a task as it dies).
	if err := waitFor(ctx, "the node's processes gone", 30*time.Second, func() error {
		pids := processes(c)
		for _, p := range pids {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		if len(pids) > 0 {
			return fmt.Errorf("%d left: %v", len(pids), pids)
		}
		return nil
	}); err != nil {
		errs = append(errs, err)
	}
	made := madeMountpoints(c) // listed in the node's folder, before it goes
	for _, m := range mounts(c) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("labnode: unmount %s: %w", m, err))
		}
	}
	if err := os.Remove(c.NetnsPath()); err != nil && !os.IsNotExist(err) {
		errs = append(errs, fmt.Errorf("labnode: %w", err))
	}
	// `ip netns add` bound /run/netns onto itself; the last namespace out
	// takes that mount with it, as `ip netns delete` does not.
	if entries, err := os.ReadDir(filepath.Dir(c.NetnsPath())); err == nil && len(entries) == 0 {
		_ = syscall.Unmount(filepath.Dir(c.NetnsPath()), syscall.MNT_DETACH)
	}
	if err := removeMountns(c); err != nil {
		errs = append(errs, err)
	}
	for _, d := range cgroupDirs(c) {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("labnode: cgroup %s: %w", d, err))
		}
	}
	for _, d := range made {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("labnode: mount point %s: %w", d, err))
		}
	}
	if err := os.RemoveAll(c.node()); err != nil {
		errs = append(errs, fmt.Errorf("labnode: %w", err))
	}
	_ = os.Remove(c.Dir) // the lab's folder, when nothing else is in it
	return errors.Join(errs...)
}

// Leftovers lists what of the node still exists: processes, mounts, the
// namespace, cgroups and files outside the lab's folder. Empty after a
// successful Teardown.
func Leftovers(c Config) []string {
	var out []string
	for _, p := range processes(c) {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		out = append(out, fmt.Sprintf("process %d: %s", p, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")))
	}
	for _, m := range mounts(c) {
		out = append(out, "mount "+m)
	}
	if _, err := os.Stat(c.NetnsPath()); err == nil {
		out = append(out, "network namespace "+c.Netns())
	}
	if _, err := os.Stat(c.MountnsPath()); err == nil {
		out = append(out, "mount namespace "+c.MountnsPath())
	}
	for _, d := range madeMountpoints(c) {
		if _, err := os.Stat(d); err == nil {
			out = append(out, "mount point "+d)
		}
	}
	for _, d := range cgroupDirs(c) {
		out = append(out, "cgroup "+d)
	}
	return out
}

// processes are the lab's: those in its network or mount namespace (the
// control plane and the node's daemons, started in both or the first; the
// shims, which containerd starts in both) or in its cgroup root (the
// containers, each in namespaces of its own). This process and its
// ancestors are never among them: a `make lab-down` run from inside the
// namespace must not kill itself.
func processes(c Config) []int {
	entries, _ := os.ReadDir("/proc")
	spare := ancestors(os.Getpid())
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || spare[pid] {
			continue
		}
		ns := filepath.Join("/proc", e.Name(), "ns")
		if sameNamespace(filepath.Join(ns, "net"), c.NetnsPath()) || sameNamespace(filepath.Join(ns, "mnt"), c.MountnsPath()) || inCgroup(pid, c.CgroupRoot()) {
			out = append(out, pid)
		}
	}
	return out
}

// ancestors are pid and its parents up to init.
func ancestors(pid int) map[int]bool {
	out := map[int]bool{}
	for pid > 1 && !out[pid] {
		out[pid] = true
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			break
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 2 {
			break
		}
		pid, _ = strconv.Atoi(f[1])
	}
	return out
}

// sameNamespace reports whether two namespace files are one namespace.
func sameNamespace(a, b string) bool {
	var x, y syscall.Stat_t
	return syscall.Stat(a, &x) == nil && syscall.Stat(b, &y) == nil && x.Dev == y.Dev && x.Ino == y.Ino
}

func inCgroup(pid int, root string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && (parts[2] == root || strings.HasPrefix(parts[2], root+"/")) {
			return true
		}
	}
	return false
}

// mounts under the node's folder and the namespace's bind mount, deepest
// first.
func mounts(c Config) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := strings.ReplaceAll(fields[4], `\040`, " ")
		if mp == c.NetnsPath() || mp == c.MountnsPath() || strings.HasPrefix(mp, c.node()+"/") || mp == c.node() {
			out = append(out, mp)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return slices.Compact(out)
}
