package gateway_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/gateway"
	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// overlay renders a manifests overlay with kubectl's kustomize.
func overlay(t *testing.T, name string) []*unstructured.Unstructured {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		simtest.Missing(t, "kubectl renders the overlays (kubectl kustomize)")
	}
	b, err := cluster.Kustomize(context.Background(), filepath.Join("..", "..", "manifests", "overlays", name))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := cluster.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func resolveTo(addr string) gateway.Resolver {
	return func(svc string, port int32) (string, error) {
		if svc != "vllm" || port != 8000 {
			return "", fmt.Errorf("backend %s:%d, want vllm:8000", svc, port)
		}
		return addr, nil
	}
}

// The ngf component's policies carry each lesson into the rendered nginx.
func TestNGFComponentLessons(t *testing.T) {
	objs := overlay(t, "lab-gateway")
	r, err := gateway.FromHTTPRoute(cluster.Find(objs, "HTTPRoute"), objs, "127.0.0.1:1", resolveTo("127.0.0.1:2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Ignored) != 0 {
		t.Errorf("ignored fields %v: the ngf component must set nothing NGF ignores", r.Ignored)
	}
	if len(r.Config.Routes) != 1 {
		t.Fatalf("routes %+v, want one", r.Config.Routes)
	}
	got := r.Config.Routes[0]
	want := nginx.Location{Host: "llm.local", Path: "/", Backend: "127.0.0.1:2", Settings: nginx.Settings{
		ReadTimeout: 600 * time.Second, SendTimeout: 600 * time.Second, Buffering: false, RequestBuffering: true, BodySize: "8m"}}
	if got != want {
		t.Errorf("route\n got %+v\nwant %+v", got, want)
	}
	conf := string(r.Config.Render(t.TempDir()))
	for _, d := range []string{"proxy_read_timeout 600s;", "proxy_buffering off;", "client_max_body_size 8m;", "server_name llm.local;"} {
		if !strings.Contains(conf, d) {
			t.Errorf("nginx.conf lacks %q", d)
		}
	}
}

// The envoy-gateway component's route under NGF: the timeouts are ignored
// (UnsupportedField), and nginx's defaults come back, the 60 s read
// timeout among them: the migration trap the docs warn about.
func TestEnvoyRouteUnderNGF(t *testing.T) {
	objs := overlay(t, "minikube-gpu-envoy-gateway")
	r, err := gateway.FromHTTPRoute(cluster.Find(objs, "HTTPRoute"), objs, "127.0.0.1:1", resolveTo("127.0.0.1:2"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Ignored) != "[spec.rules[0].timeouts]" {
		t.Errorf("ignored %v, want [spec.rules[0].timeouts]", r.Ignored)
	}
	s := r.Config.Routes[0].Settings
	if s.ReadTimeout != gateway.DefaultTimeout || !s.Buffering || s.BodySize != gateway.DefaultBodySize {
		t.Errorf("settings %+v, want nginx's defaults (no NGF policy applies)", s)
	}
}

func policy(kind, targetKind, target string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(gateway.NGFGroup + "/v1alpha1")
	u.SetKind(kind)
	u.SetName(strings.ToLower(kind) + "-" + target)
	u.SetNamespace("llm")
	ref := map[string]any{"group": gateway.Group, "kind": targetKind, "name": target}
	if kind == gateway.KindClientSettingsPolicy {
		spec["targetRef"] = ref
	} else {
		spec["targetRefs"] = []any{ref}
	}
	return u
}

// A policy on the parent Gateway is inherited; the route's own wins; a
// policy for another route or namespace is not applied.
func TestPolicyInheritance(t *testing.T) {
	objs := overlay(t, "lab-gateway")
	route := cluster.Find(objs, "HTTPRoute")
	other := policy(gateway.KindProxySettingsPolicy, gateway.KindHTTPRoute, "other", map[string]any{"timeout": map[string]any{"read": "1s"}})
	elsewhere := policy(gateway.KindClientSettingsPolicy, gateway.KindHTTPRoute, "vllm", map[string]any{"body": map[string]any{"maxSize": "1k"}})
	elsewhere.SetNamespace("other")
	pols := []*unstructured.Unstructured{
		policy(gateway.KindProxySettingsPolicy, gateway.KindHTTPRoute, "vllm", map[string]any{"timeout": map[string]any{"read": "90s"}}),
		policy(gateway.KindProxySettingsPolicy, gateway.KindGateway, "vllm", map[string]any{"timeout": map[string]any{"read": "30s", "send": "500ms"}, "buffering": map[string]any{"disable": true}}),
		policy(gateway.KindClientSettingsPolicy, gateway.KindGateway, "vllm", map[string]any{"body": map[string]any{"maxSize": "2m"}}),
		other, elsewhere,
	}
	r, err := gateway.FromHTTPRoute(route, pols, "127.0.0.1:1", resolveTo("127.0.0.1:2"))
	if err != nil {
		t.Fatal(err)
	}
	s := r.Config.Routes[0].Settings
	if s.ReadTimeout != 90*time.Second || s.SendTimeout != 500*time.Millisecond || s.Buffering || s.BodySize != "2m" {
		t.Errorf("settings %+v, want read 90s (route), send 500ms, buffering off and 2m (Gateway)", s)
	}
	if conf := string(r.Config.Render(t.TempDir())); !strings.Contains(conf, "proxy_send_timeout 500ms;") {
		t.Errorf("nginx.conf lacks proxy_send_timeout 500ms")
	}
}

func TestRenderErrors(t *testing.T) {
	objs := overlay(t, "lab-gateway")
	for _, c := range []struct {
		name string
		edit func(route *unstructured.Unstructured) []*unstructured.Unstructured
		want string
	}{
		{"regex path", func(r *unstructured.Unstructured) []*unstructured.Unstructured {
			rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
			m := rules[0].(map[string]any)["matches"].([]any)[0].(map[string]any)["path"].(map[string]any)
			m["type"] = "RegularExpression"
			_ = unstructured.SetNestedSlice(r.Object, rules, "spec", "rules")
			return nil
		}, `spec.rules[0].matches[0].path.type: "RegularExpression"`},
		{"two backends", func(r *unstructured.Unstructured) []*unstructured.Unstructured {
			rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
			refs := rules[0].(map[string]any)["backendRefs"].([]any)
			rules[0].(map[string]any)["backendRefs"] = append(refs, refs[0])
			_ = unstructured.SetNestedSlice(r.Object, rules, "spec", "rules")
			return nil
		}, "spec.rules[0].backendRefs: want exactly one Service"},
		{"no hostnames", func(r *unstructured.Unstructured) []*unstructured.Unstructured {
			unstructured.RemoveNestedField(r.Object, "spec", "hostnames")
			return nil
		}, "no hostnames"},
		{"bad duration", func(*unstructured.Unstructured) []*unstructured.Unstructured {
			return []*unstructured.Unstructured{policy(gateway.KindProxySettingsPolicy, gateway.KindHTTPRoute, "vllm", map[string]any{"timeout": map[string]any{"read": "10 minutes"}})}
		}, `spec.timeout.read: "10 minutes"`},
		{"bad size", func(*unstructured.Unstructured) []*unstructured.Unstructured {
			return []*unstructured.Unstructured{policy(gateway.KindClientSettingsPolicy, gateway.KindHTTPRoute, "vllm", map[string]any{"body": map[string]any{"maxSize": "8MiB"}})}
		}, `spec.body.maxSize: "8MiB"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			route := cluster.Find(objs, "HTTPRoute").DeepCopy()
			pols := c.edit(route)
			_, err := gateway.FromHTTPRoute(route, pols, "127.0.0.1:1", resolveTo("127.0.0.1:2"))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestNginxDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"600s": 600 * time.Second, "500ms": 500 * time.Millisecond, "10m": 10 * time.Minute, "1h": time.Hour, "30": 30 * time.Second} {
		if got, err := gateway.NginxDuration(in); err != nil || got != want {
			t.Errorf("NginxDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, d := range []time.Duration{time.Second, 600 * time.Second, 500 * time.Millisecond} {
		if back, err := gateway.NginxDuration(nginx.NginxTime(d)); err != nil || back != d {
			t.Errorf("FormatNginxDuration(%v) = %q, which reads back as %v, %v", d, nginx.NginxTime(d), back, err)
		}
	}
	for _, in := range []string{"", "1.5s", "10d", "12345s", "-1s"} {
		if _, err := gateway.NginxDuration(in); err == nil {
			t.Errorf("NginxDuration(%q): no error", in)
		}
	}
}

// ingress2gateway's conversion of our Ingress (fixtures/migration, written
// by tools/gateway's migration test), served by NGF as it comes: NGF
// ignores the route's timeouts and nothing sets buffering or the body
// size, so all three lessons fall back to nginx's defaults: a 60 s read
// timeout (long generations end in 504 again), buffered streaming, a 1 MiB
// body limit. The envoy-gateway emitter's route adds a rule name NGF also
// ignores.
func TestIngress2GatewayOutputUnderNGF(t *testing.T) {
	for file, ignored := range map[string]string{
		"ingress2gateway-v1.1.0-standard.yaml":      "[spec.rules[0].timeouts]",
		"ingress2gateway-v1.1.0-envoy-gateway.yaml": "[spec.rules[0].name spec.rules[0].timeouts]",
	} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "migration", file))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := cluster.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			r, err := gateway.FromHTTPRoute(cluster.Find(objs, "HTTPRoute"), objs, "127.0.0.1:1", resolveTo("127.0.0.1:2"))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(r.Ignored) != ignored {
				t.Errorf("ignored %v, want %s", r.Ignored, ignored)
			}
			want := nginx.Settings{ReadTimeout: 60 * time.Second, SendTimeout: 60 * time.Second, Buffering: true, RequestBuffering: true, BodySize: "1m"}
			if got := r.Config.Routes[0].Settings; got != want {
				t.Errorf("settings %+v, want nginx's defaults %+v", got, want)
			}
		})
	}
}
