// Package labnode runs a real Kubernetes node for the lab: containerd (with
// runc and the CNI bridge), the kubelet and kube-proxy (iptables mode) as
// processes, inside a network namespace of the lab's own, under a cgroup
// root of its own, with every file in the lab's folder. Pod addresses live
// only in that namespace: nothing in the host's namespace ever sends a
// packet to one, and two labs (make test's and a user's) never share
// iptables chains or cgroups.
//
// The combination (measured on this project's CI machines: cgroup v1,
// kernel 6.18, no systemd, no CAP_SYS_RESOURCE): the kubelet and kube-proxy
// of the control plane's own release (v1.32.9, the box's), Debian bookworm's
// containerd 1.6.20, runc 1.1.5 and CNI plugins 1.1.1. What it takes:
//   - every process enters the namespaces with nsenter: `ip netns exec`
//     also remounts /sys, which hides the cgroup mounts the kubelet and runc
//     need;
//   - a mount namespace of the lab's own, where the kubelet's fixed paths
//     (/var/lib/kubelet/device-plugins among them), the container log links,
//     libcni's cache and containerd's shim sockets are the lab's folders
//     (mountns.go);
//   - failCgroupV1: false and the cgroupfs driver; the lab's cgroup root is
//     made in every v1 hierarchy first (the kubelet does not make it). On a
//     cgroup v2 host it is made in the unified hierarchy with the
//     controllers the kubelet needs enabled (cgroup.go): written for such
//     hosts (GitHub's Ubuntu runners among them), not yet run on one;
//   - containerd's restrict_oom_score_adj: without CAP_SYS_RESOURCE a
//     negative oom_score_adj (the sandbox's -998) is refused;
//   - a default route in the namespace (the API server picks its advertise
//     address from it), over a veth pair whose far end is in the same
//     namespace: nothing leaves it;
//   - netns_mounts_under_state_dir and the CNI IPAM's dataDir, so pod
//     namespaces and address leases stay in the lab's folder.
//
// Teardown removes all of it after any end, a SIGKILL included.
package labnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The node's network, inside the lab's namespace.
const (
	NodeIP  = "10.250.0.1"
	PodCIDR = "10.244.0.0/24"
	// gateway is the default route's next hop: no host answers there, so a
	// packet for the world goes nowhere.
	gateway = "10.250.0.254"
	// NodeName is the real node's name.
	NodeName = "lab-node-0"
	// PauseImage is the sandbox image the lab imports (cmd/labpause).
	PauseImage = "lab.local/pause:v1"
)

// Config names a lab's node.
type Config struct {
	// Name is the lab's name, which its network namespace, cgroup root and
	// CNI network take.
	Name string
	// Dir is the lab's folder; the node keeps everything under Dir/node.
	Dir string
	// Bin holds kubelet and kube-proxy.
	Bin string
	// Kubeconfig is the control plane's (reachable inside the namespace).
	Kubeconfig string
	// Images are image tarballs to import (PauseImage among them).
	Images []string
}

// Validate names the first invalid field.
func (c Config) Validate() error {
	switch {
	case c.Name == "" || strings.ContainsAny(c.Name, "/ "):
		return fmt.Errorf("labnode: name %q: want a plain name", c.Name)
	case !filepath.IsAbs(c.Dir):
		return fmt.Errorf("labnode: dir %q: want an absolute path", c.Dir)
	case c.Bin == "":
		return errors.New("labnode: bin: must name the folder holding kubelet and kube-proxy")
	case c.Kubeconfig == "":
		return errors.New("labnode: kubeconfig: must be set")
	}
	return nil
}

// Netns is the name of the lab's network namespace.
func (c Config) Netns() string { return c.Name }

// NetnsPath is its bind mount, which nsenter enters.
func (c Config) NetnsPath() string { return filepath.Join("/run/netns", c.Netns()) }

// CgroupRoot is the lab's cgroup root, in every hierarchy.
func (c Config) CgroupRoot() string { return "/" + c.Name }

func (c Config) node(p ...string) string {
	return filepath.Join(append([]string{c.Dir, "node"}, p...)...)
}

// ContainerdSocket is containerd's socket in the node's mount namespace,
// where /run/containerd is the lab's own folder. The path is fixed and
// short: a unix socket's path holds at most 107 bytes, which a socket
// under a deep checkout's lab folder would pass. Only processes in the
// mount namespace reach it (the node's daemons, Ctr).
const ContainerdSocket = "/run/containerd/containerd.sock"

// CNINetwork names the lab's CNI network (and its cached results).
func (c Config) CNINetwork() string { return c.Name }

// Preflight says, at once, why this machine cannot run a node.
func Preflight() error {
	if os.Geteuid() != 0 {
		return errors.New("labnode: real pods need root (containerd, runc, network namespaces, cgroups); run as root")
	}
	var missing []string
	for _, p := range []string{"nsenter", "unshare", "mount", "ip", "iptables", "containerd", "containerd-shim-runc-v2", "runc", "ctr"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join(CNIBinDir, p)); err != nil {
			missing = append(missing, CNIBinDir+"/"+p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("labnode: missing %s (Debian: apt-get install -y containerd runc containernetworking-plugins iptables; make test-deps installs them as root)", strings.Join(missing, ", "))
	}
	return nil
}

// CNIBinDir is where Debian's containernetworking-plugins puts them.
const CNIBinDir = "/usr/lib/cni"

// Ctr runs containerd's ctr against the node's containerd, in the node's
// mount namespace and containerd's k8s.io namespace (the kubelet's), and
// returns its output.
func Ctr(ctx context.Context, c Config, args ...string) ([]byte, error) {
	args = append([]string{"--mount=" + c.MountnsPath(), "--", "ctr", "--address", ContainerdSocket, "--namespace", "k8s.io"}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("labnode: %s: %w: %s", strings.Join(args[2:], " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("labnode: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// CreateNetns makes the lab's namespaces. The network namespace: loopback
// up, and a veth pair lab0/lab0p, both ends inside, lab0 holding NodeIP
// with a default route through it. The mount namespace: see mountns.go.
// Either is left as it is when it exists.
func CreateNetns(ctx context.Context, c Config) error {
	if c.Dir != "" {
		if err := createMountns(ctx, c); err != nil {
			return err
		}
	}
	if _, err := os.Stat(c.NetnsPath()); err == nil {
		return nil
	}
	in := func(args ...string) error { return run(ctx, "ip", append([]string{"-n", c.Netns()}, args...)...) }
	steps := []func() error{
		func() error { return run(ctx, "ip", "netns", "add", c.Netns()) },
		func() error { return in("link", "set", "lo", "up") },
		func() error { return in("link", "add", "lab0", "type", "veth", "peer", "name", "lab0p") },
		func() error { return in("addr", "add", NodeIP+"/24", "dev", "lab0") },
		func() error { return in("link", "set", "lab0", "up") },
		func() error { return in("link", "set", "lab0p", "up") },
		func() error { return in("route", "add", "default", "via", gateway, "dev", "lab0") },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// process is one of the node's daemons.
type process struct {
	name string
	args []string
}

// start runs p inside the namespace, detached (its own session, so it
// outlives the command that started it), logging to the node's folder and
// writing its pid file there.
func start(c Config, p process) error {
	log, err := os.OpenFile(c.node("logs", p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	defer log.Close()
	cmd := exec.Command("nsenter", append([]string{"--net=" + c.NetnsPath(), "--mount=" + c.MountnsPath(), "--"}, p.args...)...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("labnode: start %s: %w", p.name, err)
	}
	go func() { _ = cmd.Wait() }() // reaped here while this process lives
	return os.WriteFile(c.node("pids", p.name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
}

// waitFor polls check until it succeeds or the deadline passes.
func waitFor(ctx context.Context, what string, d time.Duration, check func() error) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("labnode: %s within %v: %w", what, d, err)
		case <-time.After(100 * time.Millisecond): // polling a daemon that is starting
		}
	}
}

// InNetns reports whether this process runs in the lab's namespace, where
// everything that talks to the control plane or to pods must run.
func InNetns(c Config) bool { return sameNamespace("/proc/self/ns/net", c.NetnsPath()) }

// Running reports whether the node's daemons run (a lab brought up before).
func Running(c Config) bool {
	for _, name := range []string{"containerd", "kubelet", "kube-proxy"} {
		b, err := os.ReadFile(c.node("pids", name))
		if err != nil {
			return false
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(pid, 0) != nil {
			return false
		}
	}
	return true
}

// Start brings the node up in the lab's namespace (CreateNetns first):
// cgroup root, containerd, the images, the kubelet and kube-proxy. It
// returns once containerd answers and the images are in; the Node's
// readiness is the API's to report. The kubeconfig is copied into the
// node's folder, as the kubelet reads it for as long as it runs.
func Start(ctx context.Context, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := Preflight(); err != nil {
		return err
	}
	for _, ns := range []string{c.NetnsPath(), c.MountnsPath()} {
		if _, err := os.Stat(ns); err != nil {
			return fmt.Errorf("labnode: no namespace %s (CreateNetns first, with the lab's folder set): %w", ns, err)
		}
	}
	for _, d := range []string{"containerd", "cni", "ipam", "kubelet", "pod-logs", "logs", "pids"} {
		if err := os.MkdirAll(c.node(d), 0o755); err != nil {
			return fmt.Errorf("labnode: %w", err)
		}
	}
	if err := makeCgroupRoot(c); err != nil {
		return err
	}
	kubeconfig, err := os.ReadFile(c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	c.Kubeconfig = c.node("kubelet", "kubeconfig.yaml")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("labnode: %w", err)
	}
	files := map[string]string{
		c.node("containerd", "config.toml"):  containerdConfig(c),
		c.node("cni", "10-lab.conflist"):     cniConfig(c),
		c.node("kubelet", "config.yaml"):     kubeletConfig(c),
		c.node("kubelet", "kube-proxy.yaml"): kubeProxyConfig(c),
		c.node("kubelet", "resolv.conf"):     "nameserver 127.0.0.1\n",
	}
	for f, content := range files {
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			return fmt.Errorf("labnode: %w", err)
		}
	}
	if err := start(c, process{"containerd", []string{"containerd", "--config", c.node("containerd", "config.toml")}}); err != nil {
		return err
	}
	ctr := func(args ...string) error {
		_, err := Ctr(ctx, c, args...)
		return err
	}
	if err := waitFor(ctx, "containerd answering", time.Minute, func() error { return ctr("version") }); err != nil {
		return err
	}
	for _, img := range c.Images {
		if err := ctr("images", "import", img); err != nil {
			return err
		}
	}
	if err := start(c, process{"kubelet", []string{filepath.Join(c.Bin, "kubelet"), "--config", c.node("kubelet", "config.yaml"),
		"--kubeconfig", c.Kubeconfig, "--hostname-override", NodeName,
		"--node-ip", NodeIP, "--v=1"}}); err != nil {
		return err
	}
	return start(c, process{"kube-proxy", []string{filepath.Join(c.Bin, "kube-proxy"), "--config", c.node("kubelet", "kube-proxy.yaml"), "--v=1"}})
}
