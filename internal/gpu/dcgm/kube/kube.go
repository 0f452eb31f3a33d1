// Package kube finds a cluster's DCGM exporter and the model server's pod
// through the Kubernetes API (k8s.io/client-go, the API's own client), and
// reads the exporter through the API server's proxy, so a harness on a
// laptop, in a CI pod or beside the workers needs only its kubeconfig, and
// no route to the GPU node.
//
// The exporter is the GPU Operator's Service (gpu-operator/
// nvidia-dcgm-exporter by default). It is read through the service proxy
// when it has one endpoint; a Service over a DaemonSet on several GPU
// nodes answers from any of them, so then the exporter pod on the model
// server's node is read through the pod proxy instead.
package kube

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/dcgm"
)

// lookupTimeout bounds the lookups: an unreachable cluster must not hold
// up a sweep that would run without a GPU.
const lookupTimeout = 10 * time.Second

// Lookup says where to look.
type Lookup struct {
	// Kubeconfig is the cluster's kubeconfig; empty: client-go's rules
	// (KUBECONFIG, else ~/.kube/config).
	Kubeconfig string
	// Service is the exporter's Service (namespace and name).
	Service dcgm.Pod
	// Pod is the model server's pod: namespace and name prefix.
	Pod dcgm.Pod
	// UUID names the GPU by hand, when nothing else tells.
	UUID string
	// URL, when set, is the exporter's /metrics, read directly: no
	// cluster is looked at.
	URL string
}

// Open opens the DCGM source l describes: the exporter at l.URL, else the
// one Find finds. Errors wrap gpu.ErrNoGPU.
func Open(ctx context.Context, l Lookup) (*dcgm.Exporter, error) {
	if l.URL != "" {
		return dcgm.Open(ctx, dcgm.URL(&http.Client{Timeout: lookupTimeout}, l.URL), dcgm.Want{Pod: l.Pod, UUID: l.UUID}, l.URL)
	}
	get, want, where, err := Find(ctx, l)
	if err != nil {
		return nil, err
	}
	return dcgm.Open(ctx, get, want, where)
}

// Find finds the exporter and the model server's node, and returns how to
// read the exporter, what to look for in its answer, and where it was
// reached. Every error wraps gpu.ErrNoGPU: there is no GPU to read.
func Find(ctx context.Context, l Lookup) (dcgm.Getter, dcgm.Want, string, error) {
	want := dcgm.Want{Pod: l.Pod, UUID: l.UUID}
	fail := func(format string, a ...any) (dcgm.Getter, dcgm.Want, string, error) {
		return nil, want, "", fmt.Errorf("%w: DCGM exporter: "+format, append([]any{gpu.ErrNoGPU}, a...)...)
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if l.Kubeconfig != "" {
		rules.ExplicitPath = l.Kubeconfig
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return fail("no cluster to look in (kubeconfig: %v); PERF_DCGM_URL names an exporter directly", err)
	}
	rc.Timeout = lookupTimeout
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	svc, err := cs.CoreV1().Services(l.Service.Namespace).Get(ctx, l.Service.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fail("no Service %s in the cluster (PERF_DCGM_SERVICE)", l.Service)
	}
	if err != nil {
		return fail("Service %s: %v", l.Service, err)
	}
	if len(svc.Spec.Ports) == 0 {
		return fail("Service %s has no port", l.Service)
	}
	want.Node = podNode(ctx, cs, l.Pod)
	path := fmt.Sprintf("/api/v1/namespaces/%s/services/%s:%d/proxy/metrics", svc.Namespace, svc.Name, svc.Spec.Ports[0].Port)
	where := "service " + l.Service.String() + " (through the API server's service proxy)"
	if pod, port, several := exporterOn(ctx, cs, l.Service, want.Node); several && pod != "" {
		path = fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:%d/proxy/metrics", svc.Namespace, pod, port)
		where = fmt.Sprintf("pod %s/%s of service %s on node %s (through the API server's pod proxy)", svc.Namespace, pod, l.Service, want.Node)
	}
	get := func(ctx context.Context) ([]byte, error) {
		return cs.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
	}
	return get, want, where, nil
}

// podNode is the node of the model server's first running pod by name,
// "" when there is none or the cluster does not say.
func podNode(ctx context.Context, cs kubernetes.Interface, p dcgm.Pod) string {
	pods, err := cs.CoreV1().Pods(p.Namespace).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		return ""
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	for _, pod := range pods.Items {
		if strings.HasPrefix(pod.Name, p.Name) && pod.Status.Phase == corev1.PodRunning {
			return pod.Spec.NodeName
		}
	}
	return ""
}

// exporterOn is the exporter pod on node and its port, and whether the
// Service has endpoints on more than one node.
func exporterOn(ctx context.Context, cs kubernetes.Interface, svc dcgm.Pod, node string) (pod string, port int32, several bool) {
	eps, err := cs.DiscoveryV1().EndpointSlices(svc.Namespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc.Name})
	if err != nil {
		return "", 0, false
	}
	nodes := map[string]bool{}
	for _, s := range eps.Items {
		for _, e := range s.Endpoints {
			if e.NodeName == nil || e.TargetRef == nil || e.TargetRef.Kind != "Pod" {
				continue
			}
			nodes[*e.NodeName] = true
			if *e.NodeName == node && pod == "" && len(s.Ports) > 0 && s.Ports[0].Port != nil {
				pod, port = e.TargetRef.Name, *s.Ports[0].Port
			}
		}
	}
	return pod, port, len(nodes) > 1
}
