package labnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// mountnsDir holds the labs' mount namespaces, each bound to a file as
// `ip netns` binds network namespaces under /run/netns. A bound namespace
// must sit on a private mount, so the folder is bind-mounted onto itself
// and made private once.
const mountnsDir = "/run/harness-labs"

// MountnsPath is the lab's mount namespace, which nsenter enters.
func (c Config) MountnsPath() string { return filepath.Join(mountnsDir, c.Name+".mnt") }

// privateBinds are the places the node's programs use by fixed paths: the
// kubelet's device-plugin socket (/var/lib/kubelet/device-plugins, where
// the kubelet and every device plugin expect it, whatever --root-dir says)
// and its certificates, the container log links, libcni's cache and
// containerd's shim sockets. In the lab's mount namespace each is the
// lab's own folder, so the node writes nothing outside it and two labs
// share nothing. Mounts made inside (containers' root filesystems,
// volumes, pod network namespaces) stay inside: the host never sees them,
// and they go with the namespace.
var privateBinds = []string{"/var/lib/kubelet", "/var/log/containers", "/var/log/pods", "/var/lib/cni", "/run/containerd"}

// bindSource is where a private bind's content lives, in the node's folder.
func (c Config) bindSource(target string) string {
	return c.node("fs", strings.ReplaceAll(strings.TrimPrefix(target, "/"), "/", "_"))
}

// createMountns makes the lab's mount namespace with its private binds. It
// is a no-op when it exists.
func createMountns(ctx context.Context, c Config) error {
	if _, err := os.Stat(c.MountnsPath()); err == nil {
		return nil
	}
	if err := os.MkdirAll(c.node(), 0o755); err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	if err := os.MkdirAll(mountnsDir, 0o755); err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	if !isMountpoint(mountnsDir) {
		if err := syscall.Mount(mountnsDir, mountnsDir, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("labnode: bind %s: %w", mountnsDir, err)
		}
	}
	if err := syscall.Mount("", mountnsDir, "", syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("labnode: make %s private: %w", mountnsDir, err)
	}
	if err := os.WriteFile(c.MountnsPath(), nil, 0o644); err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	if err := run(ctx, "unshare", "--mount="+c.MountnsPath(), "--propagation", "private", "true"); err != nil {
		return err
	}
	for _, target := range privateBinds {
		src := c.bindSource(target)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return fmt.Errorf("labnode: %w", err)
		}
		// The mount point must exist on the host; one made here is listed, and
		// Teardown removes it again.
		if _, err := os.Stat(target); os.IsNotExist(err) {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("labnode: %w", err)
			}
			if err := appendLine(c.node("made-mountpoints"), target); err != nil {
				return err
			}
		}
		if err := run(ctx, "nsenter", "--mount="+c.MountnsPath(), "--", "mount", "--bind", src, target); err != nil {
			return err
		}
	}
	return nil
}

func isMountpoint(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// removeMountns unbinds the lab's mount namespace (it ends with its last
// process) and removes the empty mount points it may have made.
func removeMountns(c Config) error {
	var errs []error
	if err := syscall.Unmount(c.MountnsPath(), syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
		errs = append(errs, fmt.Errorf("labnode: unmount %s: %w", c.MountnsPath(), err))
	}
	if err := os.Remove(c.MountnsPath()); err != nil && !os.IsNotExist(err) {
		errs = append(errs, fmt.Errorf("labnode: %w", err))
	}
	// The last lab out takes the folder's own mount with it.
	if entries, err := os.ReadDir(mountnsDir); err == nil && len(entries) == 0 {
		_ = syscall.Unmount(mountnsDir, syscall.MNT_DETACH)
		_ = os.Remove(mountnsDir)
	}
	return errors.Join(errs...)
}

func appendLine(file, line string) error {
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, line)
	return err
}

// madeMountpoints are the mount points createMountns made on the host.
func madeMountpoints(c Config) []string {
	b, _ := os.ReadFile(c.node("made-mountpoints"))
	return strings.Fields(string(b))
}
