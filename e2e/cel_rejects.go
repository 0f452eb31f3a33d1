package e2e

import (
	"context"
	"errors"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llm-platform/harness/internal/gateway"
)

// CELRejectsSpec: the API server's own CEL rule (from the Gateway API's
// CRD, GEP-1742) rejects an HTTPRoute whose backendRequest timeout is
// longer than its request timeout, on a dry run of a copy of ours.
func CELRejectsSpec(ctx context.Context, inputGetter func() GatewayInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	bad := in.Route.Find(gateway.KindHTTPRoute).DeepCopy()
	bad.SetName(bad.GetName() + "-cel-check")
	rules, _, _ := unstructured.NestedSlice(bad.Object, "spec", "rules")
	Expect(rules).NotTo(BeEmpty())
	rules[0].(map[string]any)["timeouts"] = map[string]any{"request": "10s", "backendRequest": "20s"}
	Expect(unstructured.SetNestedSlice(bad.Object, rules, "spec", "rules")).To(Succeed())
	err := in.Cluster.Apply(ctx, []*unstructured.Unstructured{bad}, true)
	Expect(err).To(HaveOccurred(), "the API server admitted backendRequest 20s > request 10s")
	Expect(apierrors.IsInvalid(errors.Unwrap(err))).To(BeTrue(), "want an Invalid error, got %v", err)
	Expect(err.Error()).To(ContainSubstring("backendRequest timeout cannot be longer than request timeout"))
	AddReportEntry("CEL", err.Error())

	By("and admits backendRequest equal to request")
	rules[0].(map[string]any)["timeouts"] = map[string]any{"request": "20s", "backendRequest": "20s"}
	Expect(unstructured.SetNestedSlice(bad.Object, rules, "spec", "rules")).To(Succeed())
	Expect(in.Cluster.Apply(ctx, []*unstructured.Unstructured{bad}, true)).To(Succeed())
}
