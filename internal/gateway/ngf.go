// Package gateway reads the platform's Gateway API objects the way the
// harness needs them: FromHTTPRoute renders an HTTPRoute and NGINX Gateway
// Fabric's policies into the lab's nginx configuration with NGF's semantics
// (as package ingress follows ingress-nginx's for an Ingress), and the
// Check* functions judge the status a real controller wrote on the
// GatewayClass, Gateway, HTTPRoute and policies.
//
// The objects are read as unstructured and converted into the few fields
// used here, rather than through sigs.k8s.io/gateway-api's Go types: that
// module requires a newer k8s.io than e2e-framework pins, and the lab's API
// server already validates every object against the pinned CRDs.
package gateway

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/llm-platform/harness/internal/nginx"
)

// The Gateway API group and the kinds read here.
const (
	Group                    = "gateway.networking.k8s.io"
	KindGateway              = "Gateway"
	KindHTTPRoute            = "HTTPRoute"
	NGFGroup                 = "gateway.nginx.org"
	KindProxySettingsPolicy  = "ProxySettingsPolicy"
	KindClientSettingsPolicy = "ClientSettingsPolicy"
)

// The nginx defaults NGF leaves in place when no policy sets a directive:
// NGF writes no proxy timeouts, no proxy_buffering and no
// client_max_body_size of its own, so nginx's built-in values hold.
const (
	DefaultTimeout  = 60 * time.Second
	DefaultBodySize = "1m"
)

// HTTPRoute is the part of an HTTPRoute the lab renders.
type HTTPRoute struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		ParentRefs []struct {
			Name string `json:"name"`
		} `json:"parentRefs"`
		Hostnames []string `json:"hostnames"`
		Rules     []Rule   `json:"rules"`
	} `json:"spec"`
}

// Rule is one HTTPRoute rule.
type Rule struct {
	Name    string `json:"name,omitempty"`
	Matches []struct {
		Path *struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"path"`
	} `json:"matches"`
	BackendRefs []struct {
		Group string `json:"group"`
		Kind  string `json:"kind"`
		Name  string `json:"name"`
		Port  *int32 `json:"port"`
	} `json:"backendRefs"`
	Timeouts map[string]string `json:"timeouts,omitempty"`
}

// PolicyTarget is a policy's targetRef.
type PolicyTarget struct {
	Group string `json:"group"`
	Kind  string `json:"kind"`
	Name  string `json:"name"`
}

// ProxySettings is NGF's ProxySettingsPolicy spec, the fields the lab renders.
type ProxySettings struct {
	TargetRefs []PolicyTarget `json:"targetRefs"`
	Timeout    *struct {
		Connect string `json:"connect"`
		Read    string `json:"read"`
		Send    string `json:"send"`
	} `json:"timeout"`
	Buffering *struct {
		Disable *bool `json:"disable"`
	} `json:"buffering"`
}

// ClientSettings is NGF's ClientSettingsPolicy spec, the fields the lab renders.
type ClientSettings struct {
	TargetRef PolicyTarget `json:"targetRef"`
	Body      *struct {
		MaxSize string `json:"maxSize"`
	} `json:"body"`
}

// Resolver maps a backendRef (Service name and port) to the address that
// stands in for its pods.
type Resolver func(service string, port int32) (string, error)

// Rendered is the nginx configuration of a route and the fields NGF would
// accept but ignore, as it reports them (reason UnsupportedField).
type Rendered struct {
	Config  nginx.Config
	Ignored []string
}

// FromHTTPRoute renders route with NGF's semantics: its hostnames and path
// matches become nginx server and location blocks; the ProxySettingsPolicy
// and ClientSettingsPolicy among policies that target the route, or its
// parent Gateway (inherited; the route's own wins), set the proxy timeouts,
// buffering and body size; anything else keeps nginx's default. A rule's
// name and timeouts are listed in Ignored, as NGF 2.6 ignores them.
func FromHTTPRoute(obj *unstructured.Unstructured, policies []*unstructured.Unstructured, listen string, resolve Resolver) (Rendered, error) {
	var r HTTPRoute
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &r); err != nil {
		return Rendered{}, fmt.Errorf("gateway: HTTPRoute %s: %w", obj.GetName(), err)
	}
	s, err := settings(r, policies)
	if err != nil {
		return Rendered{}, err
	}
	out := Rendered{Config: nginx.Config{Listen: listen}}
	if len(r.Spec.Hostnames) == 0 {
		return Rendered{}, fmt.Errorf("gateway: HTTPRoute %s: no hostnames (the lab serves named hosts only)", r.Metadata.Name)
	}
	for i, rule := range r.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		if rule.Name != "" {
			out.Ignored = append(out.Ignored, field+".name")
		}
		if len(rule.Timeouts) > 0 {
			out.Ignored = append(out.Ignored, field+".timeouts")
		}
		if len(rule.BackendRefs) != 1 {
			return Rendered{}, fmt.Errorf("gateway: HTTPRoute %s: %s.backendRefs: want exactly one Service (the lab does not split traffic)", r.Metadata.Name, field)
		}
		b := rule.BackendRefs[0]
		if (b.Group != "" && b.Group != "core") || (b.Kind != "" && b.Kind != "Service") || b.Port == nil {
			return Rendered{}, fmt.Errorf("gateway: HTTPRoute %s: %s.backendRefs[0]: want a Service with a port", r.Metadata.Name, field)
		}
		addr, err := resolve(b.Name, *b.Port)
		if err != nil {
			return Rendered{}, err
		}
		matches := rule.Matches
		if len(matches) == 0 { // the API's default: PathPrefix /
			matches = append(matches, struct {
				Path *struct {
					Type  string `json:"type"`
					Value string `json:"value"`
				} `json:"path"`
			}{})
		}
		for j, m := range matches {
			path, exact := "/", false
			if m.Path != nil {
				switch m.Path.Type {
				case "", "PathPrefix":
				case "Exact":
					exact = true
				default:
					return Rendered{}, fmt.Errorf("gateway: HTTPRoute %s: %s.matches[%d].path.type: %q: the lab renders PathPrefix and Exact", r.Metadata.Name, field, j, m.Path.Type)
				}
				if m.Path.Value != "" {
					path = m.Path.Value
				}
			}
			for _, h := range r.Spec.Hostnames {
				out.Config.Routes = append(out.Config.Routes, nginx.Location{Host: h, Path: path, Exact: exact, Backend: addr, Settings: s})
			}
		}
	}
	if len(out.Config.Routes) == 0 {
		return Rendered{}, fmt.Errorf("gateway: HTTPRoute %s: no rules", r.Metadata.Name)
	}
	return out, nil
}

// settings merges the policies that apply to the route: those targeting a
// parent Gateway first, then those targeting the route itself.
func settings(r HTTPRoute, policies []*unstructured.Unstructured) (nginx.Settings, error) {
	s := nginx.Settings{ReadTimeout: DefaultTimeout, SendTimeout: DefaultTimeout, Buffering: true, RequestBuffering: true, BodySize: DefaultBodySize}
	var parents []string
	for _, p := range r.Spec.ParentRefs {
		parents = append(parents, p.Name)
	}
	targets := func(t PolicyTarget, kind string) bool {
		if t.Group != Group || t.Kind != kind {
			return false
		}
		if kind == KindHTTPRoute {
			return t.Name == r.Metadata.Name
		}
		return slices.Contains(parents, t.Name)
	}
	for _, level := range []string{KindGateway, KindHTTPRoute} {
		for _, p := range policies {
			if p.GetNamespace() != r.Metadata.Namespace || p.GroupVersionKind().Group != NGFGroup {
				continue
			}
			spec, _, _ := unstructured.NestedMap(p.Object, "spec")
			where := fmt.Sprintf("gateway: %s %s", p.GetKind(), p.GetName())
			switch p.GetKind() {
			case KindProxySettingsPolicy:
				var ps ProxySettings
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &ps); err != nil {
					return s, fmt.Errorf("%s: %w", where, err)
				}
				if !slices.ContainsFunc(ps.TargetRefs, func(t PolicyTarget) bool { return targets(t, level) }) {
					continue
				}
				if ps.Timeout != nil {
					for _, f := range []struct {
						name, v string
						dst     *time.Duration
					}{{"read", ps.Timeout.Read, &s.ReadTimeout}, {"send", ps.Timeout.Send, &s.SendTimeout}} {
						if f.v == "" {
							continue
						}
						d, err := NginxDuration(f.v)
						if err != nil {
							return s, fmt.Errorf("%s: spec.timeout.%s: %w", where, f.name, err)
						}
						*f.dst = d
					}
				}
				if ps.Buffering != nil && ps.Buffering.Disable != nil {
					s.Buffering = !*ps.Buffering.Disable
				}
			case KindClientSettingsPolicy:
				var cs ClientSettings
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &cs); err != nil {
					return s, fmt.Errorf("%s: %w", where, err)
				}
				if !targets(cs.TargetRef, level) {
					continue
				}
				if cs.Body != nil && cs.Body.MaxSize != "" {
					if _, err := nginx.SizeBytes(cs.Body.MaxSize); err != nil {
						return s, fmt.Errorf("%s: spec.body.maxSize: %w", where, err)
					}
					s.BodySize = cs.Body.MaxSize
				}
			}
		}
	}
	return s, nil
}

var durationRE = regexp.MustCompile(`^([0-9]{1,4})(ms|s|m|h)?$`)

// NginxDuration parses NGF's duration, an nginx time with one unit
// (pattern ^[0-9]{1,4}(ms|s|m|h)?$; no unit means seconds).
func NginxDuration(v string) (time.Duration, error) {
	m := durationRE.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("%q: want a number and one of ms, s, m, h (e.g. 600s)", v)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"": time.Second, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}
