package labnode

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	podresources "k8s.io/kubelet/pkg/apis/podresources/v1"
)

// PodResourcesSocket is the kubelet's pod-resources socket, as the host
// sees it: /var/lib/kubelet/pod-resources/kubelet.sock in the node's mount
// namespace. A unix socket is a file, so a client in any network namespace
// reaches it.
func (c Config) PodResourcesSocket() string {
	return filepath.Join(c.bindSource("/var/lib/kubelet"), "pod-resources", "kubelet.sock")
}

// Allocated asks the kubelet which devices it allocated to a pod's
// containers, through its pod-resources API (what NVIDIA's DCGM exporter
// reads): resource name to device IDs, over all the pod's containers. A
// pod the kubelet does not run is an error.
func Allocated(ctx context.Context, c Config, namespace, pod string) (map[string][]string, error) {
	sock := c.PodResourcesSocket()
	conn, err := grpc.NewClient("passthrough:///pod-resources", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return DialUnix(ctx, sock) }))
	if err != nil {
		return nil, fmt.Errorf("labnode: pod resources: %w", err)
	}
	defer conn.Close()
	// List, not Get: Get sits behind the kubelet's KubeletPodResourcesGet
	// feature gate on the Kubernetes versions teams run (off before 1.34);
	// List has been on since 1.15.
	resp, err := podresources.NewPodResourcesListerClient(conn).List(ctx, &podresources.ListPodResourcesRequest{})
	if err != nil {
		return nil, fmt.Errorf("labnode: pod resources of %s/%s: %w", namespace, pod, err)
	}
	for _, p := range resp.GetPodResources() {
		if p.GetNamespace() != namespace || p.GetName() != pod {
			continue
		}
		out := map[string][]string{}
		for _, ct := range p.GetContainers() {
			for _, d := range ct.GetDevices() {
				out[d.GetResourceName()] = append(out[d.GetResourceName()], d.GetDeviceIds()...)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("labnode: pod resources: the kubelet lists no pod %s/%s", namespace, pod)
}

// DialUnix connects to a unix socket at any path length. A socket's path
// holds at most 107 bytes, and one under a deep checkout's lab folder may
// be longer; the socket is then reached through /proc/self/fd/N/NAME, N
// an open descriptor of its folder (the kernel resolves the folder from
// the descriptor, so the path passed is short).
func DialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	if len(path) < maxSocketPath {
		return d.DialContext(ctx, "unix", path)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return d.DialContext(ctx, "unix", fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), filepath.Base(path)))
}

// maxSocketPath is the size of sockaddr_un's sun_path on Linux, the
// terminating NUL included.
const maxSocketPath = 108
