package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llm-platform/harness/internal/cluster"
)

// DryRunSpec: every manifest of every overlay the API server can take
// passes a server-side dry run in ns, onto the same names as the platform
// under test, so it conflicts with nothing (a dry run is admitted like a
// real apply: a second Ingress for llm.local elsewhere would be refused).
// An overlay with a kind the cluster does not serve (the Gateway API's and
// its policies' on a Minikube with only the ingress addon) is left out and
// named; the deployed overlay must always dry-run in full.
func DryRunSpec(ctx context.Context, c *cluster.Cluster, ns, deployed string, overlays map[string][]*unstructured.Unstructured) {
	Expect(overlays).To(HaveKey(deployed))
	served, left, err := ServedOverlays(c, overlays)
	Expect(err).NotTo(HaveOccurred())
	Expect(left).NotTo(HaveKey(deployed), "the deployed overlay %s has kinds the API server does not serve", deployed)
	if len(left) > 0 {
		var names []string
		for name, kinds := range left {
			names = append(names, fmt.Sprintf("%s (%s)", name, strings.Join(kinds, ", ")))
		}
		slices.Sort(names)
		AddReportEntry("overlays left out of the dry run: kinds the API server does not serve", strings.Join(names, "; "))
		GinkgoWriter.Printf("left out of the dry run, kinds the API server does not serve: %s\n", strings.Join(names, "; "))
	}
	for name, objs := range served {
		By("overlay " + name)
		Expect(c.Apply(ctx, InNamespace(objs, ns), true)).To(Succeed(), "overlay %s", name)
		kinds := make([]string, 0, len(objs))
		for _, o := range objs {
			kinds = append(kinds, o.GetKind())
		}
		GinkgoWriter.Printf("%s: %s passed a server-side dry run\n", name, strings.Join(kinds, ", "))
	}
}
