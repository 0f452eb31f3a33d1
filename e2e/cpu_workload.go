package e2e

import (
	"context"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
)

// CPUWorkloadSpec: a pod that asks for no GPU still schedules.
func CPUWorkloadSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	r := in.Cluster.Client.Resources(in.Namespace)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: envconf.RandomName("llm-e2e-cpu-only", 24), Namespace: in.Namespace,
			Labels: map[string]string{"app.kubernetes.io/part-of": "llm-e2e"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "pause", Image: "registry.k8s.io/pause:3.10",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi"),
			}},
		}}},
	}
	Expect(r.Create(ctx, pod)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) { _ = r.Delete(ctx, pod) })
	Expect(wait.For(conditions.New(r).PodConditionMatch(pod, corev1.PodScheduled, corev1.ConditionTrue),
		wait.WithTimeout(in.Timeouts.Schedule), wait.WithInterval(PollInterval), wait.WithContext(ctx))).To(Succeed(), "a CPU-only pod was not scheduled")
}
