package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/gateway"
)

// GatewayObjectsSpec: every route object is in the cluster with every field
// the manifests set, at the manifests' value (the API server may add
// defaults; it must not drop or change ours, as an older CRD without a
// field would).
func GatewayObjectsSpec(ctx context.Context, inputGetter func() GatewayInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	for _, want := range in.Route.Objects {
		got, err := live(ctx, in.Cluster, want)
		Expect(err).NotTo(HaveOccurred())
		for _, f := range gateway.Fields(want) {
			w, _ := fieldValue(want.Object, f)
			if _, leaf := w.(map[string]any); leaf {
				continue
			}
			if _, list := w.([]any); list {
				continue
			}
			g, ok := fieldValue(got.Object, f)
			Expect(ok).To(BeTrue(), "%s %s: %s is not in the cluster (dropped by the CRD's schema?)", want.GetKind(), want.GetName(), f)
			Expect(fmt.Sprint(g)).To(Equal(fmt.Sprint(w)), "%s %s: %s", want.GetKind(), want.GetName(), f)
		}
		GinkgoWriter.Printf("%s %s: %d fields as the manifests set them\n", want.GetKind(), want.GetName(), len(gateway.Fields(want)))
	}
}
