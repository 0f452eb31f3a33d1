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
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

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

// GPUNodeSpec: a node offers at least one nvidia.com/gpu.
func GPUNodeSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	total, names, err := GPUCapacity(ctx, in.Cluster.Client.Resources())
	Expect(err).NotTo(HaveOccurred())
	Expect(total).To(BeNumerically(">=", 1), "no node has allocatable %s: is the NVIDIA device plugin running?", GPUResource)
	GinkgoWriter.Printf("GPU nodes: %v (%d GPUs)\n", names, total)
}

// NVIDIADevicePlugins select NVIDIA's device plugin pods: its static
// manifest's label, its Helm chart's, and the GPU Operator's.
// E2E_DEVICE_PLUGIN_SELECTOR replaces them.
var NVIDIADevicePlugins = []string{"name=nvidia-device-plugin-ds", "app.kubernetes.io/name=nvidia-device-plugin", "app=nvidia-device-plugin-daemonset"}

// DevicePluginSpec: the GPU device plugin's pods are Ready, and every node
// one runs on has an allocatable nvidia.com/gpu (which the kubelet
// advertises only once the plugin has registered with it).
func DevicePluginSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	selectors := in.DevicePlugins
	if len(selectors) == 0 {
		selectors = NVIDIADevicePlugins
	}
	// A plugin started with the cluster may still be registering.
	var seen []string
	Eventually(func(g Gomega) {
		seen = nil
		var pods corev1.PodList
		for _, sel := range selectors {
			g.Expect(in.Cluster.Client.Resources().List(ctx, &pods, resources.WithLabelSelector(sel))).To(Succeed())
			if len(pods.Items) > 0 {
				break
			}
		}
		g.Expect(pods.Items).NotTo(BeEmpty(), "no device plugin pod found (labels %s)", strings.Join(selectors, " or "))
		for _, p := range pods.Items {
			g.Expect(podReady(&p)).To(BeTrue(), "device plugin pod %s/%s is not ready", p.Namespace, p.Name)
			var n corev1.Node
			g.Expect(in.Cluster.Client.Resources().Get(ctx, p.Spec.NodeName, "", &n)).To(Succeed())
			q := n.Status.Allocatable[GPUResource]
			g.Expect(q.Value()).To(BeNumerically(">=", 1), "node %s runs device plugin pod %s but has no allocatable %s", n.Name, p.Name, GPUResource)
			seen = append(seen, fmt.Sprintf("pod %s/%s Ready on node %s, which has %s %s allocatable", p.Namespace, p.Name, n.Name, q.String(), GPUResource))
		}
	}).WithContext(ctx).WithTimeout(in.Timeouts.Schedule).WithPolling(PollInterval).Should(Succeed())
	AddReportEntry("device plugin", strings.Join(seen, "; "))
}

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

// DeploySpec applies the platform (unless it is already deployed) and
// waits for the vLLM Deployment to be Available, its pod on a GPU node and
// requesting one GPU.
func DeploySpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	dep := deployment(in)
	r := in.Cluster.Client.Resources(in.Namespace)

	_, gpuNodes, err := GPUCapacity(ctx, in.Cluster.Client.Resources())
	Expect(err).NotTo(HaveOccurred())
	pods := podsOf(ctx, r, dep)
	Expect(pods).To(HaveLen(1))
	p := pods[0]
	Expect(gpuNodes).To(ContainElement(p.Spec.NodeName), "pod %s runs on %q, not a GPU node", p.Name, p.Spec.NodeName)
	lim := p.Spec.Containers[0].Resources.Limits[GPUResource]
	Expect(lim.Equal(resource.MustParse("1"))).To(BeTrue(), "pod requests %s %s, want 1", lim.String(), GPUResource)

	// A pod on a node kwok fakes never ran a container: its Ready would be
	// kwok's word, not the probes'.
	var n corev1.Node
	Expect(in.Cluster.Client.Resources().Get(ctx, p.Spec.NodeName, "", &n)).To(Succeed())
	Expect(n.Annotations).NotTo(HaveKeyWithValue(KwokNodeAnnotation, "fake"), "pod %s runs on %s, a node kwok fakes: no container runs there", p.Name, n.Name)
	// The kubelet's verdicts: Started once the startup probe passed, Ready
	// once the readiness probe did.
	Expect(p.Status.Phase).To(Equal(corev1.PodRunning))
	for _, cs := range p.Status.ContainerStatuses {
		Expect(cs.Started).To(HaveValue(BeTrue()), "container %s: the startup probe has not passed", cs.Name)
		Expect(cs.Ready).To(BeTrue(), "container %s: the readiness probe has not passed", cs.Name)
		GinkgoWriter.Printf("container %s on %s: started, ready, %d restarts\n", cs.Name, p.Spec.NodeName, cs.RestartCount)
	}
	if in.Allocated == nil {
		GinkgoWriter.Printf("the kubelet's allocation is not readable from the suite on this cluster; the pod's GPU limit was checked\n")
		return
	}
	devs, err := in.Allocated(ctx, p.Namespace, p.Name)
	Expect(err).NotTo(HaveOccurred())
	Expect(devs[string(GPUResource)]).To(HaveLen(1), "the kubelet allocated %v to pod %s, want one %s", devs, p.Name, GPUResource)
	AddReportEntry("allocated by the kubelet", fmt.Sprintf("%s %v to pod %s on %s", GPUResource, devs[string(GPUResource)], p.Name, p.Spec.NodeName))
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

// IngressSpec: the Ingress is admitted with the host, backend and
// annotations the manifests give it.
func IngressSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	want := cluster.Find(in.Objects, "Ingress")
	Expect(want).NotTo(BeNil(), "the overlay has no Ingress")
	var ing networkingv1.Ingress
	Expect(in.Cluster.Client.Resources(in.Namespace).Get(ctx, want.GetName(), in.Namespace, &ing)).To(Succeed())

	Expect(ing.Spec.IngressClassName).NotTo(BeNil())
	Expect(*ing.Spec.IngressClassName).To(Equal("nginx"))
	Expect(ing.Spec.Rules).To(HaveLen(1))
	rule := ing.Spec.Rules[0]
	Expect(rule.Host).To(Equal("llm.local"))
	Expect(rule.HTTP.Paths).To(HaveLen(1))
	be := rule.HTTP.Paths[0].Backend.Service
	Expect(be).NotTo(BeNil())
	Expect(be.Name).To(Equal(cluster.Find(in.Objects, "Service").GetName()))
	Expect(be.Port.Name).To(Equal("http"))
	for k, v := range want.GetAnnotations() {
		Expect(ing.Annotations).To(HaveKeyWithValue(k, v))
	}
	for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout", "proxy-buffering"} {
		Expect(ing.Annotations).To(HaveKey("nginx.ingress.kubernetes.io/"+k), "the lessons' annotations are part of the platform")
	}
}

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

// OverlapRefusedSpec: a second Ingress for the platform's host and path in
// another namespace is refused at admission (the NGINX Ingress Controller's
// validating webhook; the lab runs the same rule), on a server-side dry
// run too. This is why the suite verifies a deployed platform in place
// instead of deploying a copy beside it.
func OverlapRefusedSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	ing := cluster.Find(in.Objects, "Ingress")
	Expect(ing).NotTo(BeNil(), "the overlay has no Ingress")
	other := "default"
	if in.Namespace == other {
		other = "kube-public"
	}
	copyElsewhere := InNamespace([]*unstructured.Unstructured{ing}, other)
	err := in.Cluster.Apply(ctx, copyElsewhere, true)
	Expect(err).To(HaveOccurred(), "a second Ingress for the same host and path in namespace %s was admitted", other)
	Expect(err.Error()).To(ContainSubstring("is already defined in ingress %s/%s", in.Namespace, ing.GetName()))
	AddReportEntry("admission", err.Error())
}

// ServiceEndpointsSpec: the Service's EndpointSlices hold vLLM's pod as a
// ready endpoint, on the port its targetPort names: the selector matches
// the pod, the targetPort resolves to the container's port, and the pod's
// readiness probe passed (an unready pod is listed not ready).
func ServiceEndpointsSpec(ctx context.Context, inputGetter func() PlatformInput) {
	in := inputGetter()
	EnsurePlatform(ctx, in)
	svc := cluster.Find(in.Objects, "Service")
	Expect(svc).NotTo(BeNil(), "the overlay has no Service")
	r := in.Cluster.Client.Resources(in.Namespace)
	pods := podsOf(ctx, r, deployment(in))
	Expect(pods).To(HaveLen(1))
	pod := pods[0]
	want := containerPort(&pod, ServicePort)
	Eventually(func(g Gomega) {
		var slices discoveryv1.EndpointSliceList
		g.Expect(r.List(ctx, &slices, resources.WithLabelSelector(discoveryv1.LabelServiceName+"="+svc.GetName()))).To(Succeed())
		var ready []string
		var port int32
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready = append(ready, e.Addresses...)
				}
			}
			for _, p := range s.Ports {
				if p.Name != nil && *p.Name == ServicePort && p.Port != nil {
					port = *p.Port
				}
			}
		}
		g.Expect(ready).To(ConsistOf(pod.Status.PodIP), "Service %s's ready endpoints", svc.GetName())
		g.Expect(port).To(Equal(want), "Service %s's endpoint port %s", svc.GetName(), ServicePort)
	}).WithContext(ctx).WithTimeout(in.Timeouts.Schedule).WithPolling(PollInterval).Should(Succeed())
	AddReportEntry("endpoints", fmt.Sprintf("Service %s: %s port %d, ready", svc.GetName(), pod.Status.PodIP, want))
}
