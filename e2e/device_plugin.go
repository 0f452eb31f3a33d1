package e2e

import (
	"context"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
)

// DevicePluginSpec: the GPU device plugin's pods are Ready, and every node
// one runs on has an allocatable nvidia.com/gpu (which the kubelet
// advertises only once the plugin has registered with it).
func DevicePluginSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	selectors := in.DevicePlugins
	if len(selectors) == 0 {
		selectors = NVIDIADevicePlugins
	}
	// A plugin started with the cluster may still be registering.
	var seen []string
	Eventually(func(g Gomega) {
		seen = nil
		var pods corev1.PodList
		for _, sel := range selectors {
			g.Expect(in.Cluster.Client.Resources().List(ctx, &pods, resources.WithLabelSelector(sel))).To(Succeed())
			if len(pods.Items) > 0 {
				break
			}
		}
		g.Expect(pods.Items).NotTo(BeEmpty(), "no device plugin pod found (labels %s)", strings.Join(selectors, " or "))
		for _, p := range pods.Items {
			g.Expect(podReady(&p)).To(BeTrue(), "device plugin pod %s/%s is not ready", p.Namespace, p.Name)
			var n corev1.Node
			g.Expect(in.Cluster.Client.Resources().Get(ctx, p.Spec.NodeName, "", &n)).To(Succeed())
			q := n.Status.Allocatable[GPUResource]
			g.Expect(q.Value()).To(BeNumerically(">=", 1), "node %s runs device plugin pod %s but has no allocatable %s", n.Name, p.Name, GPUResource)
			seen = append(seen, fmt.Sprintf("pod %s/%s Ready on node %s, which has %s %s allocatable", p.Namespace, p.Name, n.Name, q.String(), GPUResource))
		}
	}).WithContext(ctx).WithTimeout(in.Timeouts.Schedule).WithPolling(PollInterval).Should(Succeed())
	AddReportEntry("device plugin", strings.Join(seen, "; "))
}
