package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// DeploySpec applies the platform (unless it is already deployed) and
// waits for the vLLM Deployment to be Available, its pod on a GPU node and
// requesting one GPU.
func DeploySpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	dep := deployment(in)
	r := in.Cluster.Client.Resources(in.Namespace)

	_, gpuNodes, err := GPUCapacity(ctx, in.Cluster.Client.Resources())
	Expect(err).NotTo(HaveOccurred())
	pods := podsOf(ctx, r, dep)
	Expect(pods).To(HaveLen(1))
	p := pods[0]
	Expect(gpuNodes).To(ContainElement(p.Spec.NodeName), "pod %s runs on %q, not a GPU node", p.Name, p.Spec.NodeName)
	lim := p.Spec.Containers[0].Resources.Limits[GPUResource]
	Expect(lim.Equal(resource.MustParse("1"))).To(BeTrue(), "pod requests %s %s, want 1", lim.String(), GPUResource)

	// A pod on a node kwok fakes never ran a container: its Ready would be
	// kwok's word, not the probes'.
	var n corev1.Node
	Expect(in.Cluster.Client.Resources().Get(ctx, p.Spec.NodeName, "", &n)).To(Succeed())
	Expect(n.Annotations).NotTo(HaveKeyWithValue(KwokNodeAnnotation, "fake"), "pod %s runs on %s, a node kwok fakes: no container runs there", p.Name, n.Name)
	// The kubelet's verdicts: Started once the startup probe passed, Ready
	// once the readiness probe did.
	Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
	for _, cs := range p.Status.ContainerStatuses {
		Expect(cs.Started).To(HaveValue(BeTrue()), "container %s: the startup probe has not passed", cs.Name)
		Expect(cs.Ready).To(BeTrue(), "container %s: the readiness probe has not passed", cs.Name)
		GinkgoWriter.Printf("container %s on %s: started, ready, %d restarts\n", cs.Name, p.Spec.NodeName, cs.RestartCount)
	}
	if in.Allocated == nil {
		GinkgoWriter.Printf("the kubelet's allocation is not readable from the suite on this cluster; the pod's GPU limit was checked\n")
		return
	}
	devs, err := in.Allocated(ctx, p.Namespace, p.Name)
	Expect(err).NotTo(HaveOccurred())
	Expect(devs[string(GPUResource)]).To(HaveLen(1), "the kubelet allocated %v to pod %s, want one %s", devs, p.Name, GPUResource)
	AddReportEntry("allocated by the kubelet", fmt.Sprintf("%s %v to pod %s on %s", GPUResource, devs[string(GPUResource)], p.Name, p.Spec.NodeName))
}
