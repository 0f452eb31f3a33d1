package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/gateway"
	"github.com/llm-platform/harness/internal/nginx"
)

// The route kinds (E2E_ROUTE): how traffic reaches vLLM.
const (
	RouteIngress = "ingress" // an Ingress (the NGINX Ingress Controller)
	RouteGateway = "gateway" // a Gateway and HTTPRoute (NGF, Envoy Gateway)
)

// Route is the platform's route into vLLM: its kind and the overlay's
// objects that configure it (the Ingress; or the Gateway, HTTPRoute and
// policies), as applied in Namespace.
type Route struct {
	Kind      string
	Namespace string
	Objects   []*unstructured.Unstructured
}

// RouteKinds are the kinds an overlay may carry; NewRoute takes the
// overlay's objects of these.
var routeKinds = map[string][]string{
	RouteIngress: {"Ingress"},
	RouteGateway: {gateway.KindGateway, gateway.KindHTTPRoute, gateway.KindProxySettingsPolicy, gateway.KindClientSettingsPolicy, "BackendTrafficPolicy"},
}

// NewRoute picks the route objects of kind out of an overlay's objects.
func NewRoute(kind, namespace string, objs []*unstructured.Unstructured) (Route, error) {
	kinds, ok := routeKinds[kind]
	if !ok {
		return Route{}, fmt.Errorf("e2e: E2E_ROUTE: %q: want %s or %s", kind, RouteIngress, RouteGateway)
	}
	r := Route{Kind: kind, Namespace: namespace}
	for _, o := range objs {
		if slices.Contains(kinds, o.GetKind()) {
			r.Objects = append(r.Objects, o)
		}
	}
	return r, r.validate()
}

func (r Route) validate() error {
	need := "Ingress"
	if r.Kind == RouteGateway {
		need = gateway.KindHTTPRoute
	}
	if r.Find(need) == nil {
		return fmt.Errorf("e2e: route %s: the overlay has no %s (pick an overlay with E2E_OVERLAY)", r.Kind, need)
	}
	return nil
}

// Find returns the route's first object of a kind, nil if none.
func (r Route) Find(kind string) *unstructured.Unstructured { return cluster.Find(r.Objects, kind) }

// live reads an object's current state from the cluster.
func live(ctx context.Context, c *cluster.Cluster, o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(o.GroupVersionKind())
	err := c.Client.Resources().GetControllerRuntimeClient().Get(ctx, client.ObjectKey{Namespace: o.GetNamespace(), Name: o.GetName()}, u)
	if err != nil {
		return nil, fmt.Errorf("e2e: %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
	}
	return u, nil
}

// LabConfig renders the lab's nginx from the route's live objects
// (gateway.NginxConfig: an Ingress as ingress-nginx does, an HTTPRoute and
// NGF's policies as NGF does). Every Service resolves to backend.
func (r Route) LabConfig(ctx context.Context, c *cluster.Cluster, listen, backend string) (nginx.Config, error) {
	var objs []*unstructured.Unstructured
	for _, o := range r.Objects {
		if o.GetKind() == "Ingress" || o.GetKind() == gateway.KindHTTPRoute || o.GroupVersionKind().Group == gateway.NGFGroup {
			u, err := live(ctx, c, o)
			if err != nil {
				return nginx.Config{}, err
			}
			objs = append(objs, u)
		}
	}
	cfg, _, err := gateway.NginxConfig(objs, listen, backend)
	return cfg, err
}

// BodyLimit is the request body limit the route's objects set, in bytes,
// as their implementation reads it.
func (r Route) BodyLimit(ctx context.Context, c *cluster.Cluster) (int, error) {
	src, path, def := r.bodyLimitField()
	if src == nil {
		return 0, errors.New("e2e: the route sets no body limit")
	}
	u, err := live(ctx, c, src)
	if err != nil {
		return 0, err
	}
	v, found, _ := unstructured.NestedString(u.Object, path...)
	if !found {
		v = def
	}
	if src.GetKind() == "BackendTrafficPolicy" { // a Kubernetes quantity: 8Mi
		q, err := resource.ParseQuantity(v)
		if err != nil {
			return 0, fmt.Errorf("e2e: %s %s: %w", src.GetKind(), strings.Join(path, "."), err)
		}
		return int(q.Value()), nil
	}
	n, err := nginx.SizeBytes(v) // an nginx size: 8m
	if err != nil {
		return 0, fmt.Errorf("e2e: %s %s: %w", src.GetKind(), strings.Join(path, "."), err)
	}
	return n, nil
}

// BodyLimitSource names the field BodyLimit reads.
func (r Route) BodyLimitSource() string {
	src, path, _ := r.bodyLimitField()
	if src == nil {
		return "nothing"
	}
	return src.GetKind() + " " + src.GetName() + " " + strings.Join(path, ".")
}

func (r Route) bodyLimitField() (*unstructured.Unstructured, []string, string) {
	switch {
	case r.Kind == RouteIngress:
		return r.Find("Ingress"), []string{"metadata", "annotations", nginx.AnnotationBodySize}, nginx.DefaultBodySize
	case r.Find(gateway.KindClientSettingsPolicy) != nil:
		return r.Find(gateway.KindClientSettingsPolicy), []string{"spec", "body", "maxSize"}, gateway.DefaultBodySize
	case r.Find("BackendTrafficPolicy") != nil:
		return r.Find("BackendTrafficPolicy"), []string{"spec", "requestBuffer", "limit"}, ""
	}
	return nil, nil, ""
}

// ReadTimeout is the field that holds the route's proxy read timeout, the
// 504 lesson's setting.
func (r Route) ReadTimeout() (Knob, error) {
	switch {
	case r.Kind == RouteIngress:
		return Knob{Object: r.Find("Ingress"), Path: []string{"metadata", "annotations", nginx.AnnotationReadTimeout},
			Format: func(d time.Duration) string { return fmt.Sprint(int(d.Seconds())) }}, nil
	case r.Find(gateway.KindProxySettingsPolicy) != nil:
		return Knob{Object: r.Find(gateway.KindProxySettingsPolicy), Path: []string{"spec", "timeout", "read"},
			Format: nginx.NginxTime}, nil
	}
	route := r.Find(gateway.KindHTTPRoute)
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	if len(rules) > 0 {
		if _, ok, _ := unstructured.NestedString(rules[0].(map[string]any), "timeouts", "request"); ok {
			return Knob{Object: route, Path: []string{"spec", "rules", "0", "timeouts", "request"},
				Format: func(d time.Duration) string { return d.String() }}, nil
		}
	}
	return Knob{}, fmt.Errorf("e2e: the route sets no read timeout (neither a ProxySettingsPolicy nor the HTTPRoute's timeouts.request): long generations would get the implementation's default")
}

// Restore puts back every value a lesson changed on the route's objects
// (see Knob), returning what it restored as kind/name field=value.
func (r Route) Restore(ctx context.Context, c *cluster.Cluster) ([]string, error) {
	var out []string
	for _, o := range r.Objects {
		got, err := restoreStash(ctx, c, o)
		if err != nil {
			return out, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// StashAnnotation holds, as a JSON object, the original value of every
// field a lesson spec changed, on the changed object itself, until the
// spec restores them: a run killed mid-spec (no cleanup ran) is repaired by
// the next run's Restore. The platform's own objects are never left with a
// lesson's value. Keys are field paths as JSON arrays; a key that is not
// one is an annotation name (what earlier versions of the suite wrote).
const StashAnnotation = "harness.llm-platform.io/original-annotations"

// absent is the stashed value of a field that was not set.
const absent = "<absent>"

// Knob is one field of a route object that a lesson lowers and restores.
type Knob struct {
	Object *unstructured.Unstructured
	// Path to the field; a number is an index into a list.
	Path   []string
	Format func(time.Duration) string
}

func (k Knob) String() string {
	return fmt.Sprintf("%s %s %s", k.Object.GetKind(), k.Object.GetName(), strings.Join(k.Path, "."))
}

// Get reads the field's live value, "" when unset.
func (k Knob) Get(ctx context.Context, c *cluster.Cluster) (string, error) {
	u, err := live(ctx, c, k.Object)
	if err != nil {
		return "", err
	}
	v, _ := getPath(u.Object, k.Path)
	return v, nil
}

// Set writes value into the field, stashing the original first.
func (k Knob) Set(ctx context.Context, c *cluster.Cluster, value string) error {
	u, err := live(ctx, c, k.Object)
	if err != nil {
		return err
	}
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	stash := map[string]string{}
	if v, ok := ann[StashAnnotation]; ok {
		if err := json.Unmarshal([]byte(v), &stash); err != nil {
			return fmt.Errorf("e2e: annotation %s: %w", StashAnnotation, err)
		}
	}
	key, _ := json.Marshal(k.Path)
	if _, stashed := stash[string(key)]; !stashed {
		orig, ok := getPath(u.Object, k.Path)
		if !ok {
			orig = absent
		}
		stash[string(key)] = orig
	}
	b, _ := json.Marshal(stash)
	ann[StashAnnotation] = string(b)
	u.SetAnnotations(ann)
	if err := setPath(u.Object, k.Path, value); err != nil {
		return err
	}
	return c.Client.Resources().GetControllerRuntimeClient().Update(ctx, u)
}

// restoreStash puts back what Knob.Set stashed on one object.
func restoreStash(ctx context.Context, c *cluster.Cluster, o *unstructured.Unstructured) ([]string, error) {
	u, err := live(ctx, c, o)
	if err != nil {
		return nil, err
	}
	ann := u.GetAnnotations()
	v, ok := ann[StashAnnotation]
	if !ok {
		return nil, nil
	}
	stash := map[string]string{}
	if err := json.Unmarshal([]byte(v), &stash); err != nil {
		return nil, fmt.Errorf("e2e: annotation %s: %w", StashAnnotation, err)
	}
	delete(ann, StashAnnotation)
	u.SetAnnotations(ann)
	var restored []string
	for key, orig := range stash {
		var path []string
		if json.Unmarshal([]byte(key), &path) != nil {
			path = []string{"metadata", "annotations", key}
		}
		if orig == absent {
			unsetPath(u.Object, path)
		} else if err := setPath(u.Object, path, orig); err != nil {
			return nil, err
		}
		restored = append(restored, fmt.Sprintf("%s/%s %s=%s", o.GetKind(), o.GetName(), strings.Join(path, "."), orig))
	}
	slices.Sort(restored)
	return restored, c.Client.Resources().GetControllerRuntimeClient().Update(ctx, u)
}

// at resolves a field path to the map that holds the part after its last
// list index, for unstructured's Nested* helpers, which do not index lists
// (an HTTPRoute's spec.rules.0.timeouts.request: rule 0's map, and
// timeouts.request). ok is false when a list, an index or the map is not
// there.
func at(obj map[string]any, path []string) (m map[string]any, rest []string, ok bool) {
	last := -1
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			last = i
		}
	}
	if last < 0 {
		return obj, path, true
	}
	v, found := fieldAt(obj, path[:last+1])
	m, isMap := v.(map[string]any)
	return m, path[last+1:], found && isMap
}

// fieldAt reads the value at path; a number indexes the list before it,
// the last element of the path included (spec.hostnames.0).
func fieldAt(obj map[string]any, path []string) (any, bool) {
	for i, p := range path {
		n, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		v, found, _ := unstructured.NestedFieldNoCopy(obj, path[:i]...)
		items, isList := v.([]any)
		if !found || !isList || n < 0 || n >= len(items) {
			return nil, false
		}
		if i == len(path)-1 {
			return items[n], true
		}
		item, isMap := items[n].(map[string]any)
		if !isMap {
			return nil, false
		}
		return fieldAt(item, path[i+1:])
	}
	v, found, err := unstructured.NestedFieldNoCopy(obj, path...)
	return v, found && err == nil
}

// getPath reads the string at path.
func getPath(obj map[string]any, path []string) (string, bool) {
	v, ok := fieldAt(obj, path)
	str, isString := v.(string)
	return str, ok && isString
}

// setPath writes v at path, making the maps on the way.
func setPath(obj map[string]any, path []string, v string) error {
	m, rest, ok := at(obj, path)
	if !ok {
		return fmt.Errorf("e2e: no field %s", strings.Join(path, "."))
	}
	return unstructured.SetNestedField(m, v, rest...)
}

// unsetPath removes the field at path, if there.
func unsetPath(obj map[string]any, path []string) {
	if m, rest, ok := at(obj, path); ok {
		unstructured.RemoveNestedField(m, rest...)
	}
}
