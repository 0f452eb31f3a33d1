package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

// PendingGPUSpec creates a second vLLM replica while vLLM holds its GPU: a
// throwaway pod from the Deployment's pod template (its image, node
// selector, resources and GPU limit), relabelled so that no ReplicaSet
// adopts it and no Service selects it. On the team's one-GPU box, as on the
// lab's real node, it must stay Pending with the scheduler's
// FailedScheduling event naming Insufficient nvidia.com/gpu. Where a node
// the template may land on has GPUs free (a multi-GPU node), the copy asks
// for one more than the most free, which no such node can give. The pod is
// deleted, and vLLM must still be Available with its one pod. The platform
// itself is never scaled, so this holds as well on a cluster where the
// platform was deployed beforehand.
func PendingGPUSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	r := in.Cluster.Client.Resources(in.Namespace)
	var d appsv1.Deployment
	Expect(r.Get(ctx, deployment(in).Name, in.Namespace, &d)).To(Succeed())
	spec := d.Spec.Template.Spec.DeepCopy()
	gpu := -1
	for i, c := range spec.Containers {
		if _, ok := c.Resources.Limits[GPUResource]; ok {
			gpu = i
		}
	}
	Expect(gpu).To(BeNumerically(">=", 0), "Deployment %s asks for no %s", d.Name, GPUResource)

	free, err := FreeGPUs(ctx, in.Cluster.Client.Resources())
	Expect(err).NotTo(HaveOccurred())
	var nodes corev1.NodeList
	Expect(in.Cluster.Client.Resources().List(ctx, &nodes)).To(Succeed())
	fits := labels.SelectorFromSet(spec.NodeSelector)
	candidates := map[string]int64{}
	var most int64
	for _, n := range nodes.Items {
		if f, ok := free[n.Name]; ok && fits.Matches(labels.Set(n.Labels)) {
			candidates[n.Name] = f
			most = max(most, f)
		}
	}
	Expect(candidates).NotTo(BeEmpty(), "no GPU node matches the template's node selector %v", spec.NodeSelector)
	ask := spec.Containers[gpu].Resources.Limits[GPUResource]
	if most >= ask.Value() {
		ask = resource.MustParse(fmt.Sprint(most + 1))
	}
	spec.Containers[gpu].Resources.Limits[GPUResource] = ask
	if _, ok := spec.Containers[gpu].Resources.Requests[GPUResource]; ok {
		spec.Containers[gpu].Resources.Requests[GPUResource] = ask
	}
	GinkgoWriter.Printf("free GPUs on the nodes the template may land on: %v; the second replica asks for %s\n", candidates, ask.String())
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: envconf.RandomName("llm-e2e-second-replica", 28), Namespace: in.Namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "llm-e2e"}},
		Spec: *spec,
	}
	Expect(r.Create(ctx, pod)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(r.Delete(ctx, pod))).To(Succeed())
	})

	Eventually(func(g Gomega) {
		var p corev1.Pod
		g.Expect(r.Get(ctx, pod.Name, pod.Namespace, &p)).To(Succeed())
		c := podCondition(&p, corev1.PodScheduled)
		g.Expect(c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable).To(BeTrue(), "pod %s not marked Unschedulable yet", pod.Name)
		g.Expect(p.Status.Phase).To(Equal(corev1.PodPending))
	}).WithContext(ctx).WithTimeout(in.Timeouts.Schedule).WithPolling(PollInterval).Should(Succeed())

	var msg string
	Eventually(func(g Gomega) {
		var events corev1.EventList
		g.Expect(r.List(ctx, &events, resources.WithFieldSelector("involvedObject.name="+pod.Name))).To(Succeed())
		for _, e := range events.Items {
			if e.Reason == "FailedScheduling" {
				msg = e.Message
			}
		}
		g.Expect(msg).NotTo(BeEmpty(), "no FailedScheduling event for %s yet", pod.Name)
	}).WithContext(ctx).WithTimeout(in.Timeouts.Schedule).WithPolling(PollInterval).Should(Succeed())
	GinkgoWriter.Printf("scheduler: %s\n", msg)
	AddReportEntry("FailedScheduling", msg)
	Expect(msg).To(ContainSubstring("Insufficient " + string(GPUResource)))

	Expect(r.Delete(ctx, pod)).To(Succeed())
	dep := deployment(in)
	Expect(wait.For(conditions.New(r).DeploymentConditionMatch(dep, appsv1.DeploymentAvailable, corev1.ConditionTrue),
		wait.WithTimeout(in.Timeouts.Schedule), wait.WithInterval(PollInterval), wait.WithContext(ctx))).To(Succeed(), "vLLM is no longer Available")
	Expect(podsOf(ctx, r, dep)).To(HaveLen(1), "the platform's own pod count changed")
}
