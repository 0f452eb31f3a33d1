package kube

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/llm-platform/harness/internal/gpu/dcgm"
)

func pod(ns, name, node string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
}

func slice(name string, port int32, eps map[string]string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "gpu-operator", Name: name,
		Labels: map[string]string{discoveryv1.LabelServiceName: "nvidia-dcgm-exporter"}}, Ports: []discoveryv1.EndpointPort{{Port: &port}}}
	for p, node := range eps {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{NodeName: &node, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: p}})
	}
	return s
}

// The model server's node is its first running pod's; the exporter pod on
// that node is chosen when the Service spans several nodes.
func TestNodeAndExporterPod(t *testing.T) {
	ctx := context.Background()
	svc := dcgm.Pod{Namespace: "gpu-operator", Name: "nvidia-dcgm-exporter"}
	cs := fake.NewClientset(
		pod("llm", "vllm-7d-b", "gpu-2", corev1.PodRunning), pod("llm", "vllm-7d-a", "gpu-1", corev1.PodPending),
		pod("llm", "other-0", "gpu-9", corev1.PodRunning),
		slice("a", 9400, map[string]string{"exp-1": "gpu-1", "exp-2": "gpu-2"}),
	)
	// The fake clientset does not filter on fields: podNode's own phase
	// check leaves the pending pod (first by name) out.
	node := podNode(ctx, cs, dcgm.Pod{Namespace: "llm", Name: "vllm"})
	if node != "gpu-2" {
		t.Fatalf("node %q", node)
	}
	p, port, several := exporterOn(ctx, cs, svc, "gpu-2")
	if p != "exp-2" || port != 9400 || !several {
		t.Errorf("exporter %q:%d several %v", p, port, several)
	}
	one := fake.NewClientset(slice("b", 9400, map[string]string{"exp-1": "gpu-1"}))
	if _, _, several := exporterOn(ctx, one, svc, "gpu-1"); several {
		t.Error("one node: the service proxy will do")
	}
	if podNode(ctx, cs, dcgm.Pod{Namespace: "llm", Name: "gone"}) != "" {
		t.Error("no such pod, yet a node")
	}
}
