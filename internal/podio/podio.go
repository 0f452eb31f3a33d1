// Package podio reaches a pod through the Kubernetes API server, as kubectl
// does: a port-forward to a Service's pod (ForwardService) and a container's
// log (Logs). The e2e suite needs both on a real cluster, where the harness
// runs outside the cluster network: the buffering lesson compares the route
// with the backend reached directly, and the client-abort lesson reads the
// ingress controller's own access log. Nothing here needs a route into the
// pod network, only the kubeconfig.
//
// The port-forward is client-go's tools/portforward over its WebSocket
// tunnel, falling back to SPDY for API servers older than 1.30, the dialer
// kubectl port-forward itself builds.
package podio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// APIServer reaches pods through one API server.
type APIServer struct {
	cfg *rest.Config
	cs  kubernetes.Interface
}

// New returns a Client for the API server cfg names.
func New(cfg *rest.Config) (*APIServer, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("podio: %w", err)
	}
	return &APIServer{cfg: cfg, cs: cs}, nil
}

// Forward is a running port-forward to one pod.
type Forward struct {
	// Addr is the local end, 127.0.0.1:PORT.
	Addr string
	// Pod is the pod forwarded to, namespace/name.
	Pod  string
	stop chan struct{}
	done chan error
}

// Close stops the forward and waits for it to end.
func (f *Forward) Close() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	<-f.done
}

// readyTimeout bounds the wait for the API server to open the tunnel.
const readyTimeout = 30 * time.Second

// ForwardService forwards a free local port to the port named portName of
// a ready pod behind Service namespace/name (the pod's container port that
// the Service's targetPort names or numbers), as `kubectl port-forward
// svc/NAME` does: the Service's selector picks the pod; the pod's port is
// resolved from the Service's.
func (c *APIServer) ForwardService(ctx context.Context, namespace, name, portName string) (*Forward, error) {
	svc, err := c.cs.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("podio: Service %s/%s: %w", namespace, name, err)
	}
	pod, err := readyPod(ctx, c.cs, namespace, labels.SelectorFromSet(svc.Spec.Selector).String())
	if err != nil {
		return nil, fmt.Errorf("podio: Service %s/%s: %w", namespace, name, err)
	}
	port, err := podPort(svc, pod, portName)
	if err != nil {
		return nil, err
	}
	return c.ForwardPod(ctx, namespace, pod.Name, port)
}

// ForwardPod forwards a free local port to port on pod namespace/name.
func (c *APIServer) ForwardPod(ctx context.Context, namespace, name string, port int) (*Forward, error) {
	u, err := url.Parse(c.cfg.Host)
	if err != nil {
		return nil, fmt.Errorf("podio: API server %q: %w", c.cfg.Host, err)
	}
	u.Path += fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/portforward", namespace, name)
	dialer, err := dialer(c.cfg, u)
	if err != nil {
		return nil, err
	}
	f := &Forward{Pod: namespace + "/" + name, stop: make(chan struct{}), done: make(chan error, 1)}
	ready := make(chan struct{})
	var errOut bytes.Buffer
	pf, err := portforward.NewOnAddresses(dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(port)}, f.stop, ready, io.Discard, &errOut)
	if err != nil {
		return nil, fmt.Errorf("podio: port-forward to %s: %w", f.Pod, err)
	}
	go func() { f.done <- pf.ForwardPorts() }()
	select {
	case <-ready:
	case err := <-f.done:
		f.done <- err
		return nil, fmt.Errorf("podio: port-forward to %s port %d: %v %s", f.Pod, port, err, errOut.String())
	case <-time.After(readyTimeout):
		f.Close()
		return nil, fmt.Errorf("podio: port-forward to %s port %d: not ready after %v", f.Pod, port, readyTimeout)
	case <-ctx.Done():
		f.Close()
		return nil, fmt.Errorf("podio: port-forward to %s: %w", f.Pod, ctx.Err())
	}
	ports, err := pf.GetPorts()
	if err != nil || len(ports) == 0 {
		f.Close()
		return nil, fmt.Errorf("podio: port-forward to %s: no local port: %v", f.Pod, err)
	}
	f.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ports[0].Local)))
	return f, nil
}

// dialer is kubectl's: the WebSocket tunnel, SPDY when the API server
// cannot upgrade to it.
func dialer(cfg *rest.Config, u *url.URL) (httpstream.Dialer, error) {
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("podio: %w", err)
	}
	legacy := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, u)
	tunnel, err := portforward.NewSPDYOverWebsocketDialer(u, cfg)
	if err != nil {
		return nil, fmt.Errorf("podio: %w", err)
	}
	return portforward.NewFallbackDialer(tunnel, legacy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	}), nil
}

// readyPod is the first Ready, not terminating pod matching selector.
func readyPod(ctx context.Context, cs kubernetes.Interface, namespace, selector string) (*corev1.Pod, error) {
	if selector == "" {
		return nil, errors.New("no selector")
	}
	pods, err := cs.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && ready(p) {
			return p, nil
		}
	}
	return nil, fmt.Errorf("no ready pod matches %s (%d pods)", selector, len(pods.Items))
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podPort resolves the Service's port named portName to the pod's
// container port: a numbered targetPort as is, a named one by the pod's
// container port of that name.
func podPort(svc *corev1.Service, pod *corev1.Pod, portName string) (int, error) {
	for _, sp := range svc.Spec.Ports {
		if sp.Name != portName {
			continue
		}
		tp := sp.TargetPort
		if tp.IntValue() > 0 {
			return tp.IntValue(), nil
		}
		if tp.StrVal == "" {
			return int(sp.Port), nil
		}
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				if cp.Name == tp.StrVal {
					return int(cp.ContainerPort), nil
				}
			}
		}
		return 0, fmt.Errorf("podio: pod %s has no container port named %s (Service %s targets it)", pod.Name, tp.StrVal, svc.Name)
	}
	return 0, fmt.Errorf("podio: Service %s has no port named %s", svc.Name, portName)
}

// Container names a container by the pods that run it.
type Container struct {
	Namespace string
	// Selector is a label selector; the newest running pod it matches is
	// read.
	Selector string
	// Name is the container's name; "" for a pod's only container.
	Name string
}

func (c Container) String() string {
	s := c.Namespace + "/" + c.Selector
	if c.Name != "" {
		s += " container " + c.Name
	}
	return s
}

// Logs returns the container's log lines written since since (the API
// server's sinceTime has a resolution of one second: lines of the second
// before since may be among them), and the pod read.
func (c *APIServer) Logs(ctx context.Context, ct Container, since time.Time) ([]byte, string, error) {
	pods, err := c.cs.CoreV1().Pods(ct.Namespace).List(ctx, metav1.ListOptions{LabelSelector: ct.Selector})
	if err != nil {
		return nil, "", fmt.Errorf("podio: pods %s: %w", ct, err)
	}
	var pod *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil && (pod == nil || p.CreationTimestamp.After(pod.CreationTimestamp.Time)) {
			pod = p
		}
	}
	if pod == nil {
		return nil, "", fmt.Errorf("podio: no running pod matches %s (%d pods)", ct, len(pods.Items))
	}
	opts := &corev1.PodLogOptions{Container: ct.Name}
	if !since.IsZero() {
		t := metav1.NewTime(since.Add(-time.Second))
		opts.SinceTime = &t
	}
	b, err := c.cs.CoreV1().Pods(ct.Namespace).GetLogs(pod.Name, opts).DoRaw(ctx)
	if err != nil {
		return nil, pod.Name, fmt.Errorf("podio: log of %s/%s: %w", ct.Namespace, pod.Name, err)
	}
	return b, pod.Name, nil
}

// Tail returns the last lines of a pod's container log ("" for the pod's
// only container).
func (c *APIServer) Tail(ctx context.Context, namespace, pod, container string, lines int64) (string, error) {
	b, err := c.cs.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, TailLines: &lines}).DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("podio: log of %s/%s: %w", namespace, pod, err)
	}
	return string(b), nil
}
