// Package labingress is the lab's stand-in for Minikube's ingress addon,
// which the rehearsal of the GPU workflow enables through the stand-in
// minikube: there is no controller image in the lab, so, as in the lab's e2e
// runs, nginx runs as a host process in the lab's network namespace,
// rendered from the cluster's Ingresses (package ingress, ingress-nginx's
// semantics for the annotations the platform sets) and re-rendered when
// they change, as the real controller watches them. Its access log, in
// ingress-nginx's format, is what the controller's pod logs: a pod of ours
// (cmd/lablog) in namespace ingress-nginx, labelled as upstream labels the
// controller, so the suite reads it through the API server exactly as on
// the box.
package labingress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/nginx"
)

// Namespace, name and labels of the controller's stand-in pod: those of
// upstream's deploy manifests, which Minikube's addon uses.
const (
	Namespace = "ingress-nginx"
	Name      = "ingress-nginx-controller"
	Container = "controller"
)

// Labels select the controller's pod.
var Labels = map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}

// poll is how often the Ingresses are read; ingress-nginx applies a change
// within about a second too.
const poll = 500 * time.Millisecond

// Controller renders nginx from the cluster's Ingresses of class nginx.
type Controller struct {
	Client kubernetes.Interface
	// Listen is where nginx serves, host:port (the stand-in minikube's
	// `minikube ip`, port 80).
	Listen string
	// Dir holds nginx's configuration and logs; controller.log is the
	// access log the pod logs.
	Dir string
	// Logf reports each reload and error; nil discards.
	Logf func(format string, args ...any)

	nginx *nginx.Nginx
	cfg   nginx.Config // what nginx serves
}

// Run keeps nginx in step with the Ingresses until ctx ends, then stops it.
func (c *Controller) Run(ctx context.Context) error {
	defer func() {
		if c.nginx != nil {
			_ = c.nginx.Stop()
		}
	}()
	for {
		if err := c.Sync(ctx); err != nil {
			c.logf("sync: %v", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}

func (c *Controller) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Sync renders the Ingresses and restarts nginx when the configuration
// changed. With no Ingress nginx still answers: 404 for every host, as the
// controller's default backend does.
func (c *Controller) Sync(ctx context.Context) error {
	list, err := c.Client.NetworkingV1().Ingresses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("labingress: %w", err)
	}
	sort.Slice(list.Items, func(i, j int) bool {
		a, b := list.Items[i], list.Items[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	cfg := nginx.Config{Listen: c.Listen}
	var errs []error
	for i := range list.Items {
		ing := &list.Items[i]
		if ing.DeletionTimestamp != nil || ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" {
			continue
		}
		one, err := nginx.FromIngress(ing, c.Listen, c.resolver(ctx, ing.Namespace))
		if err != nil {
			errs = append(errs, err) // the controller skips an Ingress it cannot render
			continue
		}
		cfg.Routes = append(cfg.Routes, one.Routes...)
	}
	if c.nginx != nil && reflect.DeepEqual(cfg, c.cfg) {
		return errors.Join(errs...)
	}
	if c.nginx != nil {
		_ = c.nginx.Stop()
		c.nginx = nil
	}
	n, err := nginx.Start(cfg, c.Dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	c.nginx, c.cfg = n, cfg
	c.logf("nginx serves %d routes on %s", len(cfg.Routes), c.Listen)
	return errors.Join(errs...)
}

// resolver resolves a backend Service to its ClusterIP and port, which
// kube-proxy's rules carry on to the pods.
func (c *Controller) resolver(ctx context.Context, namespace string) nginx.Resolver {
	return func(service string, port networkingv1.ServiceBackendPort) (string, error) {
		svc, err := c.Client.CoreV1().Services(namespace).Get(ctx, service, metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("labingress: Service %s/%s: %w", namespace, service, err)
		}
		for _, p := range svc.Spec.Ports {
			if (port.Name != "" && p.Name == port.Name) || (port.Number != 0 && p.Port == port.Number) {
				return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(p.Port))), nil
			}
		}
		return "", fmt.Errorf("labingress: Service %s/%s has no port %v", namespace, service, port)
	}
}

// DeployPod creates namespace ingress-nginx and the controller's stand-in
// pod on the lab's real node (a Deployment, as upstream's): lablog
// following dir/controller.log, mounted from the host.
func DeployPod(ctx context.Context, cs kubernetes.Interface, dir string) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("labingress: namespace %s: %w", Namespace, err)
	}
	one := int32(1)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: Namespace, Labels: Labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: Labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: Labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": labnode.NodeName},
					Containers: []corev1.Container{{
						Name: Container, Image: labnode.LabLogImage, ImagePullPolicy: corev1.PullNever,
						Command:      []string{"/lablog", "/var/log/stand-in/controller.log"},
						VolumeMounts: []corev1.VolumeMount{{Name: "logs", MountPath: "/var/log/stand-in", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir}}}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments(Namespace).Create(ctx, dep, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("labingress: Deployment %s/%s: %w", Namespace, Name, err)
	}
	return nil
}

// WaitPod waits for the stand-in pod to run.
func WaitPod(ctx context.Context, cs kubernetes.Interface, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pods, err := cs.CoreV1().Pods(Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(Labels).String()})
		if err == nil {
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("labingress: the controller's pod is not running after %v (last error: %v)", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}
