package e2e

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llm-platform/harness/internal/cluster"
)

// OverlapRefusedSpec: a second Ingress for the platform's host and path in
// another namespace is refused at admission (the NGINX Ingress Controller's
// validating webhook; the lab runs the same rule), on a server-side dry
// run too. This is why the suite verifies a deployed platform in place
// instead of deploying a copy beside it.
func OverlapRefusedSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	ing := cluster.Find(in.Objects, "Ingress")
	Expect(ing).NotTo(BeNil(), "the overlay has no Ingress")
	other := "default"
	if in.Namespace == other {
		other = "kube-public"
	}
	copyElsewhere := InNamespace([]*unstructured.Unstructured{ing}, other)
	err := in.Cluster.Apply(ctx, copyElsewhere, true)
	Expect(err).To(HaveOccurred(), "a second Ingress for the same host and path in namespace %s was admitted", other)
	Expect(err.Error()).To(ContainSubstring("is already defined in ingress %s/%s", in.Namespace, ing.GetName()))
	AddReportEntry("admission", err.Error())
}
