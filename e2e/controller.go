package e2e

import (
	"context"
	"fmt"
	"time"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/podio"
)

// Controller names the pod and container whose log holds the route's
// access lines on a real cluster: the NGINX Ingress Controller's
// (Minikube's ingress addon installs it in ingress-nginx, labelled as
// upstream's manifests label it), or the nginx data plane NGINX Gateway
// Fabric v2 runs for each Gateway, in the Gateway's namespace.
func Controller(route Route) podio.Container {
	if route.Kind == RouteGateway {
		name := ""
		if gw := route.Find("Gateway"); gw != nil {
			name = gw.GetName()
		}
		return podio.Container{Namespace: route.Namespace, Selector: "gateway.networking.k8s.io/gateway-name=" + name, Name: "nginx"}
	}
	return podio.Container{Namespace: "ingress-nginx", Selector: "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller", Name: "controller"}
}

// PodLog is a controller's access log read through the API server: the
// lines its pod logged since Since, parsed as ingress.ParseControllerLog
// does (ingress-nginx's and NGF's formats).
type PodLog struct {
	Pods      *podio.APIServer
	Container podio.Container
	Since     time.Time
}

func (l PodLog) String() string { return "the log of " + l.Container.String() }

// Entries reads the log through the API server.
func (l PodLog) Entries(ctx context.Context) ([]nginx.LogEntry, error) {
	b, _, err := l.Pods.Logs(ctx, l.Container, l.Since)
	if err != nil {
		return nil, err
	}
	return nginx.ParseControllerLog(b), nil
}

// OpenPodLog checks that the controller's log can be read now and returns
// it, reading from now on.
func OpenPodLog(ctx context.Context, c *cluster.Cluster, ct podio.Container) (PodLog, string, error) {
	pods, err := podio.New(c.Client.RESTConfig())
	if err != nil {
		return PodLog{}, "", err
	}
	l := PodLog{Pods: pods, Container: ct, Since: time.Now()}
	_, pod, err := pods.Logs(ctx, ct, l.Since)
	if err != nil {
		return l, "", fmt.Errorf("e2e: the controller's access log: %w", err)
	}
	return l, pod, nil
}
