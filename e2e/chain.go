package e2e

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llm-platform/harness/internal/cluster"
)

// ServiceAddr is a Service's ClusterIP and its port named portName, as
// host:port: the address kube-proxy's rules carry on to the Service's
// endpoints.
func ServiceAddr(ctx context.Context, c *cluster.Cluster, namespace, name, portName string) (string, error) {
	var svc corev1.Service
	if err := c.Client.Resources(namespace).Get(ctx, name, namespace, &svc); err != nil {
		return "", fmt.Errorf("e2e: Service %s/%s: %w", namespace, name, err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", fmt.Errorf("e2e: Service %s/%s has no ClusterIP", namespace, name)
	}
	for _, p := range svc.Spec.Ports {
		if p.Name == portName {
			return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(p.Port))), nil
		}
	}
	return "", fmt.Errorf("e2e: Service %s/%s has no port named %s", namespace, name, portName)
}

// ServicePort names the platform Service's port, which the route names,
// and the container port it targets.
const ServicePort = "http"

// ChainInput is what BrokenSelectorSpec needs.
type ChainInput struct {
	Cluster *cluster.Cluster
	Route   Route
	// Service is the overlay's Service, in the platform's namespace.
	Service *unstructured.Unstructured
	Model   string
	// Timeout bounds the wait for a new Service's endpoints and rules.
	Timeout time.Duration
}
