package labnode

import (
	"bufio"
	"context"
	"crypto/sha256"
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

// Places outside the lab's folder that the node's programs write to, which
// Teardown cleans of the lab's entries only.
const (
	// containerLogLinks: the kubelet links each container's log here.
	containerLogLinks = "/var/log/containers"
	// cniResults: libcni caches each attachment's result here.
	cniResults = "/var/lib/cni/results"
	// shimSockets: containerd 1.6 puts its shims' sockets here, named by a
	// hash of its own address, the namespace and the task's ID.
	shimSockets = "/run/containerd/s"
)

// Teardown removes everything the node made, whatever state it was left
// in (a SIGKILL included): its processes and their containers, mounts, the
// namespace (with its veths and iptables chains), the cgroup root, and the
// lab's entries in the places listed above; then the node's folder. It
// returns what it could not remove.
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
	// From the task folders, before those go.
	shims := append(shimSocketPaths(c), outsideFiles(c)...)
	for _, m := range mounts(c) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("labnode: unmount %s: %w", m, err))
		}
	}
	if err := os.Remove(c.NetnsPath()); err != nil && !os.IsNotExist(err) {
		errs = append(errs, fmt.Errorf("labnode: %w", err))
	}
	for _, d := range cgroupDirs(c) {
		if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("labnode: cgroup %s: %w", d, err))
		}
	}
	for _, f := range append(outsideFiles(c), shims...) { // links made after the first list too
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			errs = append(errs, fmt.Errorf("labnode: %w", err))
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
	for _, d := range cgroupDirs(c) {
		out = append(out, "cgroup "+d)
	}
	for _, f := range append(outsideFiles(c), shimSocketPaths(c)...) {
		if _, err := os.Lstat(f); err == nil {
			out = append(out, "file "+f)
		}
	}
	return out
}

// processes are the lab's: those whose command line names the lab's
// folder (the node's daemons, nsenter, the shims, whose -address is the
// node's socket, and a control plane kept there) or that live in the lab's
// cgroup root (the containers).
func processes(c Config) []int {
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(cmd), filepath.Clean(c.Dir)+"/") || strings.Contains(string(cmd), c.NetnsPath()) || inCgroup(pid, c.CgroupRoot()) {
			out = append(out, pid)
		}
	}
	return out
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
		if mp == c.NetnsPath() || strings.HasPrefix(mp, c.node()+"/") || mp == c.node() {
			out = append(out, mp)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return slices.Compact(out)
}

// cgroupDirs are the lab's cgroup folders in every hierarchy, children
// before parents.
func cgroupDirs(c Config) []string {
	var out []string
	hs, _ := os.ReadDir("/sys/fs/cgroup")
	for _, h := range hs {
		root := filepath.Join("/sys/fs/cgroup", h.Name(), c.CgroupRoot())
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

// outsideFiles are the lab's entries in the shared folders: container log
// links into the node's folder, and libcni's cached results of its
// attachments (its network's, and the loopback plugin's, named by sandbox).
func outsideFiles(c Config) []string {
	var out []string
	links, _ := filepath.Glob(filepath.Join(containerLogLinks, "*.log"))
	for _, l := range links {
		if t, err := os.Readlink(l); err == nil && strings.HasPrefix(t, c.node()+"/") {
			out = append(out, l)
		}
	}
	results, _ := filepath.Glob(filepath.Join(cniResults, c.CNINetwork()+"-*"))
	out = append(out, results...)
	for _, id := range taskIDs(c) {
		out = append(out, filepath.Join(cniResults, "cni-loopback-"+id+"-lo"))
	}
	return out
}

// taskIDs are the IDs of the node's containerd tasks (pod sandboxes among
// them), from containerd's state folder.
func taskIDs(c Config) []string {
	tasks, _ := os.ReadDir(c.node("containerd", "state", "io.containerd.runtime.v2.task", "k8s.io"))
	var out []string
	for _, t := range tasks {
		out = append(out, t.Name())
	}
	return out
}

// shimSocketPaths are the sockets of the shims of the node's tasks, by
// containerd 1.6's naming: sha256 of address/namespace/ID.
func shimSocketPaths(c Config) []string {
	var out []string
	for _, id := range taskIDs(c) {
		sum := sha256.Sum256([]byte(filepath.Join(c.Socket(), "k8s.io", id)))
		out = append(out, filepath.Join(shimSockets, fmt.Sprintf("%x", sum)))
	}
	return out
}
