package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"

	"github.com/llm-platform/harness/internal/cluster"
)

// ServiceEndpointsSpec: the Service's EndpointSlices hold vLLM's pod as a
// ready endpoint, on the port its targetPort names: the selector matches
// the pod, the targetPort resolves to the container's port, and the pod's
// readiness probe passed (an unready pod is listed not ready).
func ServiceEndpointsSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	svc := cluster.Find(in.Objects, "Service")
	Expect(svc).NotTo(BeNil(), "the overlay has no Service")
	r := in.Cluster.Client.Resources(in.Namespace)
	pods := podsOf(ctx, r, deployment(in))
	Expect(pods).To(HaveLen(1))
	pod := pods[0]
	want := containerPort(&pod, ServicePort)
	Eventually(func(g Gomega) {
		var slices discoveryv1.EndpointSliceList
		g.Expect(r.List(ctx, &slices, resources.WithLabelSelector(discoveryv1.LabelServiceName+"="+svc.GetName()))).To(Succeed())
		var ready []string
		var port int32
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready = append(ready, e.Addresses...)
				}
			}
			for _, p := range s.Ports {
				if p.Name != nil && *p.Name == ServicePort && p.Port != nil {
					port = *p.Port
				}
			}
		}
		g.Expect(ready).To(ConsistOf(pod.Status.PodIP), "Service %s's ready endpoints", svc.GetName())
		g.Expect(port).To(Equal(want), "Service %s's endpoint port %s", svc.GetName(), ServicePort)
	}).WithContext(ctx).WithTimeout(in.Timeouts.Schedule).WithPolling(PollInterval).Should(Succeed())
	AddReportEntry("endpoints", fmt.Sprintf("Service %s: %s port %d, ready", svc.GetName(), pod.Status.PodIP, want))
}
