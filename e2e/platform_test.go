package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/harness/e2e"
	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/labnode"
)

func input() e2e.PlatformInput {
	in := e2e.PlatformInput{
		Cluster: suite.cluster, Namespace: suite.namespace, Deployed: suite.deployed, Timeouts: suite.settings.timeouts,
		Objects: e2e.InNamespace(suite.overlays[suite.settings.overlay], suite.namespace),
	}
	if sel := suite.settings.devicePluginSelector; sel != "" {
		in.DevicePlugins = []string{sel}
	}
	if node := suite.cluster.LabNode; node != nil {
		// The lab's real node: its stand-in device plugin, and its
		// kubelet's pod-resources socket.
		in.DevicePlugins = []string{labnode.DevicePluginSelector}
		in.Allocated = func(ctx context.Context, namespace, pod string) (map[string][]string, error) {
			return labnode.Allocated(ctx, *node, namespace, pod)
		}
	}
	return in
}

// Ordered: the platform is applied once and then exercised.
var _ = Describe("the platform", Label("needs:cluster"), Ordered, func() {
	// Events and pod descriptions go to the report folder when a spec fails.
	AfterEach(func(ctx SpecContext) {
		if !CurrentSpecReport().Failed() || suite.cluster == nil {
			return
		}
		dir := filepath.Join(suite.settings.reportDir, "diagnostics", strings.NewReplacer(" ", "-", "/", "-").Replace(CurrentSpecReport().LeafNodeText))
		_ = os.MkdirAll(dir, 0o755)
		r := suite.cluster.Client.Resources(suite.namespace)
		var pods corev1.PodList
		if r.List(ctx, &pods) == nil {
			b, _ := yaml.Marshal(pods)
			_ = os.WriteFile(filepath.Join(dir, "pods.yaml"), b, 0o644)
		}
		var events corev1.EventList
		if r.List(ctx, &events) == nil {
			var lines []string
			for _, e := range events.Items {
				lines = append(lines, fmt.Sprintf("%s %s %s/%s %s: %s", e.LastTimestamp, e.Type, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message))
			}
			_ = os.WriteFile(filepath.Join(dir, "events.txt"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		}
		GinkgoWriter.Printf("diagnostics in %s\n", dir)
	})

	It("has a node with an allocatable nvidia.com/gpu", Label("needs:gpu", "lab-ok"), func(ctx SpecContext) {
		e2e.GPUNodeSpec(ctx, input)
	})
	// The lab's counterpart is its own device plugin (cmd/labgpu), deployed
	// as NVIDIA's is, registering through the real node's kubelet.
	It("runs the GPU device plugin, Ready, with its node's GPU allocatable", Label("needs:gpu", "lab-ok"), func(ctx SpecContext) {
		e2e.DevicePluginSpec(ctx, input)
	})
	It("passes a server-side dry run of every overlay the API server serves, the deployed one in full", Label("lab-ok"), func(ctx SpecContext) {
		overlays := suite.overlays
		if suite.deployed {
			// Only the deployed overlay is "the same objects onto the same
			// names"; another overlay's objects would merge into the live
			// ones (server-side apply). A fresh-cluster run (the lab in
			// make test) dry-runs every overlay the cluster serves.
			overlays = map[string][]*unstructured.Unstructured{suite.settings.overlay: suite.overlays[suite.settings.overlay]}
			GinkgoWriter.Printf("the platform is deployed: dry-running overlay %s only\n", suite.settings.overlay)
		}
		e2e.DryRunSpec(ctx, suite.cluster, suite.namespace, suite.settings.overlay, overlays)
		if suite.settings.cluster.Kind == cluster.Lab {
			// The lab serves every kind the overlays use; an overlay with a
			// kind no cluster serves is left out and named, and the same
			// overlay as the deployed one fails.
			unserved := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "lab.example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}}
			withUnserved := map[string][]*unstructured.Unstructured{"unserved": {unserved}, suite.settings.overlay: suite.overlays[suite.settings.overlay]}
			served, left, err := e2e.ServedOverlays(suite.cluster, withUnserved)
			Expect(err).NotTo(HaveOccurred())
			Expect(left).To(Equal(map[string][]string{"unserved": {"lab.example.com/v1 Widget"}}))
			Expect(served).To(HaveKey(suite.settings.overlay))
			Expect(InterceptGomegaFailure(func() { e2e.DryRunSpec(ctx, suite.cluster, suite.namespace, "unserved", withUnserved) })).
				To(MatchError(ContainSubstring("the deployed overlay unserved has kinds the API server does not serve")))
		}
	})
	It("deploys vLLM Available on a GPU node, past its startup and readiness probes, with one GPU allocated", Label("needs:gpu", "lab-ok"), func(ctx SpecContext) {
		e2e.DeploySpec(ctx, input)
	})
	// A deploy that times out says what it was waiting for: here an image
	// the lab's node lacks, on the real node (the kubelet's verdict).
	if suite.settings.cluster.Kind == cluster.Lab {
		It("says which start-up phase a Deployment that does not come up is in", Label("lab-ok"), func(ctx SpecContext) {
			labels := map[string]any{"app.kubernetes.io/name": "phase-probe"}
			probe := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "apps/v1", "kind": "Deployment",
				"metadata": map[string]any{"name": "phase-probe", "namespace": suite.namespace},
				"spec": map[string]any{"replicas": int64(1), "selector": map[string]any{"matchLabels": labels},
					"template": map[string]any{"metadata": map[string]any{"labels": labels}, "spec": map[string]any{
						"nodeSelector": map[string]any{"kubernetes.io/hostname": labnode.NodeName},
						"containers":   []any{map[string]any{"name": "vllm", "image": "lab.local/absent:v1", "imagePullPolicy": "Never"}}}}},
			}}
			DeferCleanup(func(ctx SpecContext) { _ = suite.cluster.Client.Resources().Delete(ctx, probe) })
			Expect(suite.cluster.Apply(ctx, []*unstructured.Unstructured{probe}, false)).To(Succeed())
			// First the kubelet's verdict, however long a busy node takes to
			// reach it; then a deploy wait that ends at once, so the phase it
			// reports does not depend on the machine's speed.
			Eventually(func(g Gomega) {
				var pods corev1.PodList
				g.Expect(suite.cluster.Client.Resources(suite.namespace).List(ctx, &pods, resources.WithLabelSelector("app.kubernetes.io/name=phase-probe"))).To(Succeed())
				g.Expect(pods.Items).To(HaveLen(1))
				g.Expect(pods.Items[0].Status.ContainerStatuses).To(HaveLen(1))
				g.Expect(pods.Items[0].Status.ContainerStatuses[0].State.Waiting).To(HaveField("Reason", "ErrImageNeverPull"))
			}).WithContext(ctx).WithTimeout(2 * time.Minute).WithPolling(e2e.PollInterval).Should(Succeed())
			in := input()
			in.Objects, in.Deployed, in.Timeouts.Deploy = []*unstructured.Unstructured{probe}, true, time.Second
			failure := InterceptGomegaFailure(func() { e2e.EnsurePlatform(ctx, in) })
			Expect(failure).To(MatchError(And(ContainSubstring("not rolled out and Available within 1s"),
				ContainSubstring("failing to pull the image"), ContainSubstring("ErrImageNeverPull"))))
			AddReportEntry("a deploy that timed out", failure.Error())
		})
	}
	It("leaves a second vLLM replica Pending on Insufficient nvidia.com/gpu, and vLLM keeps its GPU", Label("needs:gpu", "lab-ok"), func(ctx SpecContext) {
		e2e.PendingGPUSpec(ctx, input)
	})
	It("gives the Service vLLM's pod as a ready endpoint on its http port", Label("lab-ok"), func(ctx SpecContext) {
		e2e.ServiceEndpointsSpec(ctx, input)
	})
	It("still schedules a CPU-only workload", Label("lab-ok"), func(ctx SpecContext) {
		e2e.CPUWorkloadSpec(ctx, input)
	})
	// The Ingress's own specs; the Gateway path has its own container
	// (gateway_test.go). The tree is built when RunSpecs runs, after
	// TestE2E has read E2E_ROUTE.
	if suite.settings.route == e2e.RouteIngress {
		It("admits the Ingress with the manifests' host, backend and annotations", Label("lab-ok"), func(ctx SpecContext) {
			e2e.IngressSpec(ctx, input)
		})
		It("refuses a second Ingress for the platform's host and path in another namespace", Label("needs:ingress", "lab-ok"), func(ctx SpecContext) {
			e2e.OverlapRefusedSpec(ctx, input)
		})
	}
})
