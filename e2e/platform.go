// Package e2e holds the platform's end-to-end scenarios as plain functions
// (cluster-api's style): each XxxSpec takes a context and an input it
// validates first, and is called from a short Ginkgo file. They verify GPU
// scheduling and the platform's manifests on a real Kubernetes API: the
// team's Minikube, any existing cluster, or the CI lab.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/podio"
	"github.com/llm-platform/harness/internal/startup"
)

// PollInterval is how often every wait of the suite polls the API
// (e2e-framework's default of 5 s would add seconds to every spec on a
// fast lab).
const PollInterval = 250 * time.Millisecond

// GPUResource is the extended resource the NVIDIA device plugin advertises.
const GPUResource corev1.ResourceName = "nvidia.com/gpu"

// Timeouts, named and overridable through the suite's settings.
type Timeouts struct {
	// Deploy bounds the wait for the vLLM Deployment to become Available
	// (a real cluster downloads the model: minutes).
	Deploy time.Duration
	// Schedule bounds the wait for the scheduler's verdict on a pod.
	Schedule time.Duration
}

// PlatformInput is what the platform scenarios need.
type PlatformInput struct {
	Cluster *cluster.Cluster
	// Namespace holds the platform under test: the one already deployed
	// (Deployed), or one created for this run.
	Namespace string
	// Deployed means the platform already runs in Namespace (the team's
	// box, the GPU workflow): the scenarios verify it and never apply,
	// scale or delete it. A second copy beside it could only stay Pending
	// on a one-GPU node, and ingress-nginx refuses a second Ingress for
	// the same host and path.
	Deployed bool
	// Objects are the rendered manifests of the overlay under test, in
	// Namespace.
	Objects  []*unstructured.Unstructured
	Timeouts Timeouts
	// DevicePlugins are label selectors of the GPU device plugin's pods,
	// tried in order; empty means NVIDIA's (its static manifest's and its
	// Helm chart's labels).
	DevicePlugins []string
	// Allocated asks the node's kubelet which devices it allocated to a
	// pod (resource name to device IDs, its pod-resources API); nil where
	// the suite cannot reach the kubelet (a real cluster's nodes).
	Allocated func(ctx context.Context, namespace, pod string) (map[string][]string, error)
}

func (in PlatformInput) validate() error {
	switch {
	case in.Cluster == nil:
		return errors.New("e2e: PlatformInput.Cluster: must be set")
	case in.Namespace == "":
		return errors.New("e2e: PlatformInput.Namespace: must be set")
	case len(in.Objects) == 0:
		return errors.New("e2e: PlatformInput.Objects: the overlay rendered nothing")
	case in.Timeouts.Deploy <= 0 || in.Timeouts.Schedule <= 0:
		return errors.New("e2e: PlatformInput.Timeouts: every timeout must be > 0")
	}
	return nil
}

// InNamespace returns the overlay's objects moved into ns, without the
// overlay's own Namespace object: each run gets a namespace of its own.
func InNamespace(objs []*unstructured.Unstructured, ns string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		c := o.DeepCopy()
		c.SetNamespace(ns)
		out = append(out, c)
	}
	return out
}

// GPUCapacity sums allocatable GPUs over the cluster's nodes, and names the
// nodes that have any.
func GPUCapacity(ctx context.Context, r *resources.Resources) (int64, []string, error) {
	var nodes corev1.NodeList
	if err := r.List(ctx, &nodes); err != nil {
		return 0, nil, err
	}
	var total int64
	var names []string
	for _, n := range nodes.Items {
		if q, ok := n.Status.Allocatable[GPUResource]; ok && q.Value() > 0 {
			total += q.Value()
			names = append(names, n.Name)
		}
	}
	return total, names, nil
}

// NVIDIADevicePlugins select NVIDIA's device plugin pods: its static
// manifest's label, its Helm chart's, and the GPU Operator's.
// E2E_DEVICE_PLUGIN_SELECTOR replaces them.
var NVIDIADevicePlugins = []string{"name=nvidia-device-plugin-ds", "app.kubernetes.io/name=nvidia-device-plugin", "app=nvidia-device-plugin-daemonset"}

// podCondition returns the pod's condition of type t (the zero value when
// it has none).
func podCondition(p *corev1.Pod, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range p.Status.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func podReady(p *corev1.Pod) bool {
	return podCondition(p, corev1.PodReady).Status == corev1.ConditionTrue
}

// EnsurePlatform applies the platform unless it is already deployed, and
// waits for the vLLM Deployment to be Available: what every container that
// sends requests needs first, whatever order Ginkgo runs containers in.
func EnsurePlatform(ctx context.Context, in PlatformInput) {
	Expect(in.validate()).To(Succeed())
	if !in.Deployed {
		Expect(in.Cluster.Apply(ctx, in.Objects, false)).To(Succeed())
	}
	dep := deployment(in)
	r := in.Cluster.Client.Resources(in.Namespace)
	// Rolled out, not only Available: right after an apply that changed it,
	// Available still describes the old pod.
	why := ""
	err := wait.For(func(ctx context.Context) (bool, error) {
		var live appsv1.Deployment
		if err := r.Get(ctx, dep.Name, in.Namespace, &live); err != nil {
			why = err.Error()
			return false, nil
		}
		var done bool
		done, why = startup.Rollout(live)
		return done, nil
	}, wait.WithTimeout(in.Timeouts.Deploy), wait.WithInterval(PollInterval), wait.WithContext(ctx))
	if err != nil {
		Expect(err).NotTo(HaveOccurred(), "Deployment %s/%s not rolled out and Available within %v (E2E_DEPLOY_TIMEOUT): %s; %s", in.Namespace, dep.Name, in.Timeouts.Deploy, why, podPhases(ctx, in, dep))
	}
}

// podPhases says which start-up phase each of the Deployment's pods is in
// (package startup): what a timed-out deploy was waiting for.
func podPhases(ctx context.Context, in PlatformInput, dep *appsv1.Deployment) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	r := in.Cluster.Client.Resources(in.Namespace)
	pods, _ := podio.New(in.Cluster.Client.RESTConfig()) // without it, the phase goes without vLLM's log
	var out []string
	for _, p := range podsOf(ctx, r, dep) {
		var events corev1.EventList
		_ = r.List(ctx, &events, resources.WithFieldSelector("involvedObject.name="+p.Name))
		log := ""
		if pods != nil {
			log, _ = pods.Tail(ctx, p.Namespace, p.Name, "", 50)
		}
		out = append(out, fmt.Sprintf("pod %s: %s", p.Name, startup.Of(p, events.Items, log)))
	}
	if len(out) == 0 {
		return "no pod of the Deployment exists"
	}
	return strings.Join(out, "; ")
}

// KwokNodeAnnotation marks a node kwok fakes (kwok.x-k8s.io/node: fake): its
// pods' status is written by kwok, and no container runs.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// PodAddr is the platform's one vLLM pod's address and the container port
// named http, as host:port: the route's backend without the Service.
func PodAddr(ctx context.Context, in PlatformInput) string {
	pods := podsOf(ctx, in.Cluster.Client.Resources(in.Namespace), deployment(in))
	Expect(pods).To(HaveLen(1))
	p := pods[0]
	Expect(p.Status.PodIP).NotTo(BeEmpty(), "pod %s has no address", p.Name)
	return net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(containerPort(&p, ServicePort))))
}

// containerPort is the pod's container port of that name, failing the spec
// when it has none.
func containerPort(p *corev1.Pod, name string) int32 {
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.Name == name {
				return port.ContainerPort
			}
		}
	}
	Fail(fmt.Sprintf("pod %s has no container port named %s", p.Name, name))
	return 0
}

func deployment(in PlatformInput) *appsv1.Deployment {
	u := cluster.Find(in.Objects, "Deployment")
	Expect(u).NotTo(BeNil(), "the overlay has no Deployment")
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: u.GetName(), Namespace: in.Namespace}}
}

func podsOf(ctx context.Context, r *resources.Resources, dep *appsv1.Deployment) []corev1.Pod {
	var d appsv1.Deployment
	Expect(r.Get(ctx, dep.Name, dep.Namespace, &d)).To(Succeed())
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	Expect(err).NotTo(HaveOccurred())
	var pods corev1.PodList
	Expect(r.List(ctx, &pods, resources.WithLabelSelector(sel.String()))).To(Succeed())
	var live []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			live = append(live, p)
		}
	}
	return live
}

// FreeGPUs returns each GPU node's allocatable GPUs less those that its
// running and pending pods hold (a container's GPU limit, which the
// device plugin also takes as its request).
func FreeGPUs(ctx context.Context, r *resources.Resources) (map[string]int64, error) {
	var nodes corev1.NodeList
	if err := r.List(ctx, &nodes); err != nil {
		return nil, err
	}
	free := map[string]int64{}
	for _, n := range nodes.Items {
		if q, ok := n.Status.Allocatable[GPUResource]; ok && q.Value() > 0 {
			free[n.Name] = q.Value()
		}
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods); err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		if _, ok := free[p.Spec.NodeName]; !ok || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, c := range p.Spec.Containers {
			q := c.Resources.Limits[GPUResource]
			if r, ok := c.Resources.Requests[GPUResource]; ok && r.Cmp(q) > 0 {
				q = r
			}
			free[p.Spec.NodeName] -= q.Value()
		}
	}
	return free, nil
}

// ServedOverlays splits overlays into those whose every kind the API
// server serves and those it cannot take, with the kinds it lacks
// (group/version kind), by the API server's discovery.
func ServedOverlays(c *cluster.Cluster, overlays map[string][]*unstructured.Unstructured) (served map[string][]*unstructured.Unstructured, left map[string][]string, err error) {
	mapper := c.Client.Resources().GetControllerRuntimeClient().RESTMapper()
	served, left = map[string][]*unstructured.Unstructured{}, map[string][]string{}
	for name, objs := range overlays {
		var missing []string
		for _, o := range objs {
			gvk := o.GroupVersionKind()
			if _, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				if !meta.IsNoMatchError(err) {
					return nil, nil, fmt.Errorf("e2e: discovery of %s: %w", gvk, err)
				}
				if k := gvk.GroupVersion().String() + " " + gvk.Kind; !slices.Contains(missing, k) {
					missing = append(missing, k)
				}
			}
		}
		if len(missing) > 0 {
			left[name] = missing
		} else {
			served[name] = objs
		}
	}
	return served, left, nil
}
