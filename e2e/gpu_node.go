package e2e

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// GPUNodeSpec: a node offers at least one nvidia.com/gpu.
func GPUNodeSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	total, names, err := GPUCapacity(ctx, in.Cluster.Client.Resources())
	Expect(err).NotTo(HaveOccurred())
	Expect(total).To(BeNumerically(">=", 1), "no node has allocatable %s: is the NVIDIA device plugin running?", GPUResource)
	GinkgoWriter.Printf("GPU nodes: %v (%d GPUs)\n", names, total)
}
