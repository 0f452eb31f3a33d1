package gateway

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ReasonUnsupportedField is the reason NGF (and other implementations) give
// with Accepted=True on a route or Gateway that sets a field they ignore.
const ReasonUnsupportedField = "UnsupportedField"

// condition is one status condition.
type condition struct {
	Type, Status, Reason, Message string
	ObservedGeneration            int64
}

func conditions(list []any) []condition {
	var out []condition
	for _, c := range list {
		m, _ := c.(map[string]any)
		s := func(k string) string { v, _ := m[k].(string); return v }
		g, _ := m["observedGeneration"].(int64)
		out = append(out, condition{Type: s("type"), Status: s("status"), Reason: s("reason"), Message: s("message"), ObservedGeneration: g})
	}
	return out
}

// require checks that each of types is True and, when generation > 0, that
// it was observed at that generation (a condition from before the last
// change says nothing about the object as it is).
func require(what string, conds []condition, generation int64, types ...string) error {
	var errs []error
	for _, t := range types {
		i := slices.IndexFunc(conds, func(c condition) bool { return c.Type == t })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("%s: no %s condition (is its controller running?)", what, t))
		case conds[i].Status != "True":
			errs = append(errs, fmt.Errorf("%s: %s=%s, reason %s: %s", what, t, conds[i].Status, conds[i].Reason, conds[i].Message))
		case generation > 0 && conds[i].ObservedGeneration != generation:
			errs = append(errs, fmt.Errorf("%s: %s observed at generation %d, the object is at %d (its controller has not caught up)", what, t, conds[i].ObservedGeneration, generation))
		}
	}
	return errors.Join(errs...)
}

func name(u *unstructured.Unstructured) string {
	if u.GetNamespace() == "" {
		return u.GetKind() + " " + u.GetName()
	}
	return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
}

// CheckGatewayClass: the class is Accepted by its controller. A class on a
// Gateway API version the controller supports only on a best-effort basis
// (NGF reports SupportedVersion=False) is still accepted.
func CheckGatewayClass(gc *unstructured.Unstructured) error {
	list, _, _ := unstructured.NestedSlice(gc.Object, "status", "conditions")
	return require(name(gc), conditions(list), gc.GetGeneration(), "Accepted")
}

// CheckGateway: the Gateway is Accepted and Programmed at its current
// generation, and has an address to send traffic to.
func CheckGateway(gw *unstructured.Unstructured) error {
	list, _, _ := unstructured.NestedSlice(gw.Object, "status", "conditions")
	conds := conditions(list)
	errs := []error{require(name(gw), conds, gw.GetGeneration(), "Accepted", "Programmed"), unsupported(name(gw), conds, Fields(gw))}
	if addrs, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses"); len(addrs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no status.addresses: nothing to send traffic to", name(gw)))
	}
	return errors.Join(errs...)
}

// CheckRoute: the HTTPRoute's entry for parent (a Gateway in the route's
// namespace) says Accepted and ResolvedRefs at the route's current
// generation, and no UnsupportedField names a field the route sets.
func CheckRoute(route *unstructured.Unstructured, parent string) error {
	parents, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	for _, p := range parents {
		m, _ := p.(map[string]any)
		ref, _ := m["parentRef"].(map[string]any)
		if ref["name"] != parent || (ref["namespace"] != nil && ref["namespace"] != route.GetNamespace()) {
			continue
		}
		list, _ := m["conditions"].([]any)
		conds := conditions(list)
		what := fmt.Sprintf("%s (parent Gateway %s)", name(route), parent)
		return errors.Join(require(what, conds, route.GetGeneration(), "Accepted", "ResolvedRefs"), unsupported(what, conds, Fields(route)))
	}
	return fmt.Errorf("%s: no status for parent Gateway %s (is the route attached, and its controller running?)", name(route), parent)
}

// CheckPolicy: a policy (NGF's, Envoy Gateway's) is Accepted for at least
// one ancestor, as its controller reports in status.ancestors. An
// implementation-specific policy that no controller accepted configures
// nothing, and the lesson it carries is silently lost.
func CheckPolicy(p *unstructured.Unstructured) error {
	ancestors, _, _ := unstructured.NestedSlice(p.Object, "status", "ancestors")
	var errs []error
	for _, a := range ancestors {
		m, _ := a.(map[string]any)
		list, _ := m["conditions"].([]any)
		err := require(name(p), conditions(list), p.GetGeneration(), "Accepted")
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return fmt.Errorf("%s: no status.ancestors: no controller has taken it up (are its CRDs' controller and version right?)", name(p))
	}
	return errors.Join(errs...)
}

// unsupported fails on an UnsupportedField condition that names one of
// fields (paths such as spec.rules[0].timeouts): the implementation
// accepted the object but ignores a field we set, so the lesson that field
// carries is lost. It names the fields.
func unsupported(what string, conds []condition, fields []string) error {
	for _, c := range conds {
		if c.Reason != ReasonUnsupportedField {
			continue
		}
		var named []string
		for _, f := range fields {
			if mentions(c.Message, f) {
				named = append(named, f)
			}
		}
		if len(named) > 0 {
			return fmt.Errorf("%s: %s ignores %s, which the manifests set: %s", what, c.Type+"/"+c.Reason, strings.Join(named, ", "), c.Message)
		}
	}
	return nil
}

// mentions reports whether msg names path as a whole field path: not as
// the start of a longer name or of a child's path (spec.rules[0] is not
// mentioned by "spec.rules[0].timeouts: Forbidden"; its child is).
func mentions(msg, path string) bool {
	re := regexp.MustCompile(regexp.QuoteMeta(path) + `([^A-Za-z0-9_.\[]|$)`)
	return re.MatchString(msg)
}

// Fields lists the field paths an object sets under spec, in the form
// Kubernetes' field errors use (spec.rules[0].timeouts.request), parents
// included.
func Fields(u *unstructured.Unstructured) []string {
	var out []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		out = append(out, path)
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	if spec, ok := u.Object["spec"]; ok {
		walk("spec", spec)
	}
	slices.Sort(out)
	return out
}
