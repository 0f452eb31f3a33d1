package labnode

import (
	"context"
	"fmt"
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
	conn, err := grpc.NewClient("unix://"+c.PodResourcesSocket(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("labnode: pod resources: %w", err)
	}
	defer conn.Close()
	resp, err := podresources.NewPodResourcesListerClient(conn).Get(ctx, &podresources.GetPodResourcesRequest{PodName: pod, PodNamespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("labnode: pod resources of %s/%s: %w", namespace, pod, err)
	}
	out := map[string][]string{}
	for _, ct := range resp.GetPodResources().GetContainers() {
		for _, d := range ct.GetDevices() {
			out[d.GetResourceName()] = append(out[d.GetResourceName()], d.GetDeviceIds()...)
		}
	}
	return out, nil
}
