package e2e

import (
	"context"

	. "github.com/onsi/gomega"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/llm-platform/harness/internal/cluster"
)

// IngressSpec: the Ingress is admitted with the host, backend and
// annotations the manifests give it.
func IngressSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	want := cluster.Find(in.Objects, "Ingress")
	Expect(want).NotTo(BeNil(), "the overlay has no Ingress")
	var ing networkingv1.Ingress
	Expect(in.Cluster.Client.Resources(in.Namespace).Get(ctx, want.GetName(), in.Namespace, &ing)).To(Succeed())

	Expect(ing.Spec.IngressClassName).NotTo(BeNil())
	Expect(*ing.Spec.IngressClassName).To(Equal("nginx"))
	Expect(ing.Spec.Rules).To(HaveLen(1))
	rule := ing.Spec.Rules[0]
	Expect(rule.Host).To(Equal("llm.local"))
	Expect(rule.HTTP.Paths).To(HaveLen(1))
	be := rule.HTTP.Paths[0].Backend.Service
	Expect(be).NotTo(BeNil())
	Expect(be.Name).To(Equal(cluster.Find(in.Objects, "Service").GetName()))
	Expect(be.Port.Name).To(Equal("http"))
	for k, v := range want.GetAnnotations() {
		Expect(ing.Annotations).To(HaveKeyWithValue(k, v))
	}
	for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout", "proxy-buffering"} {
		Expect(ing.Annotations).To(HaveKey("nginx.ingress.kubernetes.io/"+k), "the lessons' annotations are part of the platform")
	}
}
