package gateway

import (
	"errors"
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/llm-platform/harness/internal/nginx"
)

// NginxConfig renders the lab's nginx from a route's objects, every
// backend at backend (host:port): an Ingress among objs with
// ingress-nginx's semantics, else an HTTPRoute and the NGF policies among
// objs with NGF's. A route field NGF ignores is an error: the lab's
// Gateway data plane is NGF's, and on NGF the lesson that field carries
// would be lost. It names what it rendered.
func NginxConfig(objs []*unstructured.Unstructured, listen, backend string) (nginx.Config, string, error) {
	var route *unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "Ingress":
			var ing networkingv1.Ingress
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &ing); err != nil {
				return nginx.Config{}, "", fmt.Errorf("gateway: Ingress %s: %w", o.GetName(), err)
			}
			cfg, err := nginx.FromIngress(&ing, listen, func(string, networkingv1.ServiceBackendPort) (string, error) { return backend, nil })
			return cfg, "Ingress " + ing.Name, err
		case KindHTTPRoute:
			if route == nil {
				route = o
			}
		}
	}
	if route == nil {
		return nginx.Config{}, "", errors.New("gateway: neither an Ingress nor an HTTPRoute to render")
	}
	r, err := FromHTTPRoute(route, objs, listen, func(string, int32) (string, error) { return backend, nil })
	if err != nil {
		return nginx.Config{}, "", err
	}
	if len(r.Ignored) > 0 {
		return nginx.Config{}, "", fmt.Errorf("gateway: HTTPRoute %s sets %s, which NGINX Gateway Fabric ignores (UnsupportedField)", route.GetName(), strings.Join(r.Ignored, ", "))
	}
	return r.Config, "HTTPRoute " + route.GetName() + " and NGF's policies", nil
}
