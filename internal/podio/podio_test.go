package podio

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// podPort resolves a Service's port to the pod's, as kubectl port-forward
// svc/NAME does: a numbered targetPort as is, a named one through the pod's
// container ports, none as the Service's own port.
func TestPodPort(t *testing.T) {
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8000}}}}}}
	svc := func(tp intstr.IntOrString) *corev1.Service {
		return &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: tp}}}}
	}
	for _, tc := range []struct {
		name string
		svc  *corev1.Service
		want int
		err  string
	}{
		{"named", svc(intstr.FromString("http")), 8000, ""},
		{"numbered", svc(intstr.FromInt32(8080)), 8080, ""},
		{"none", svc(intstr.IntOrString{}), 80, ""},
		{"named, missing on the pod", svc(intstr.FromString("grpc")), 0, "no container port named grpc"},
	} {
		got, err := podPort(tc.svc, pod, "http")
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %d, %v; want %d, %q", tc.name, got, err, tc.want, tc.err)
		}
	}
	if _, err := podPort(svc(intstr.FromString("http")), pod, "metrics"); err == nil {
		t.Error("a Service port that does not exist resolved")
	}
}
