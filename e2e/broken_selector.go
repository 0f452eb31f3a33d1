package e2e

import (
	"context"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/llm-platform/harness/internal/nginx"
)

// BrokenSelectorSpec proves that the lab's route runs through the Service:
// kube-proxy's rules for its ClusterIP, and the endpoints its selector
// finds. nginx, rendered from the platform's live route, is pointed at two
// throwaway copies of the Service. With the copy of the selector it
// answers; with a selector that matches no pod, the copy has no endpoints
// and the route fails (502 or 503). The platform's own Service is never
// touched.
func BrokenSelectorSpec(ctx context.Context, inputGetter func() ChainInput) {
	in := inputGetter()
	Expect(in.Cluster).NotTo(BeNil(), "ChainInput.Cluster")
	Expect(in.Service).NotTo(BeNil(), "ChainInput.Service: the overlay has no Service")
	Expect(in.Timeout).To(BeNumerically(">", 0), "ChainInput.Timeout")
	ns := in.Service.GetNamespace()
	r := in.Cluster.Client.Resources(ns)
	var live corev1.Service
	Expect(r.Get(ctx, in.Service.GetName(), ns, &live)).To(Succeed())

	throwaway := func(prefix string, selector map[string]string) *corev1.Service {
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: envconf.RandomName(prefix, len(prefix)+6), Namespace: ns,
				Labels: map[string]string{"app.kubernetes.io/part-of": "llm-e2e"}},
			Spec: corev1.ServiceSpec{Selector: selector, Ports: live.Spec.Ports},
		}
		Expect(r.Create(ctx, s)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) { _ = r.Delete(ctx, s) })
		return s
	}
	nothing := map[string]string{}
	for k, v := range live.Spec.Selector {
		nothing[k] = v + "-matches-no-pod"
	}
	good := throwaway("vllm-copy", live.Spec.Selector)
	broken := throwaway("vllm-broken", nothing)

	through := func(svc *corev1.Service) *LabPlane {
		addr, err := ServiceAddr(ctx, in.Cluster, ns, svc.Name, ServicePort)
		Expect(err).NotTo(HaveOccurred())
		p := &LabPlane{Cluster: in.Cluster, Route: in.Route, Backend: addr, Model: in.Model, Dir: MkdirTemp("llm-chain-")}
		Expect(p.Sync(ctx)).To(Succeed())
		DeferCleanup(p.Stop)
		return p
	}
	By("the route to a copy of the Service, selector unchanged: answers")
	ok := through(good)
	Eventually(func() error { return nginx.CheckModels(ctx, ok.Target()) }).
		WithContext(ctx).WithTimeout(in.Timeout).WithPolling(PollInterval).Should(Succeed())

	By("the route to a copy whose selector matches no pod: no endpoints, and the route fails")
	bad := through(broken)
	var code int
	Eventually(func() (err error) {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		code, err = nginx.CheckNoUpstream(rctx, bad.Target())
		return err
	}).WithContext(ctx).WithTimeout(in.Timeout).WithPolling(PollInterval).Should(Succeed())
	AddReportEntry("broken selector", fmt.Sprintf("Service %s (selector %v): the route answered %d; its copy with the platform's selector answered 200", broken.Name, nothing, code))
}
