package e2e

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestFieldPaths: the knobs' paths through unstructured's helpers, a list
// index included, as Knob.Set and the stash's restore use them.
func TestFieldPaths(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{"hostnames": []any{"llm.local"}, "rules": []any{map[string]any{"timeouts": map[string]any{"request": "300s"}}}}}
	rule := []string{"spec", "rules", "0", "timeouts", "request"}
	if v, ok := getPath(obj, rule); !ok || v != "300s" {
		t.Fatalf("get %v: %q %v", rule, v, ok)
	}
	if err := setPath(obj, rule, "1s"); err != nil {
		t.Fatal(err)
	}
	if v, _ := getPath(obj, rule); v != "1s" {
		t.Errorf("after set: %q", v)
	}
	if err := setPath(obj, []string{"spec", "rules", "3", "timeouts"}, "x"); err == nil {
		t.Error("set past the list's end: no error")
	}
	ann := []string{"metadata", "annotations", "nginx.ingress.kubernetes.io/proxy-read-timeout"}
	if err := setPath(obj, ann, "1"); err != nil {
		t.Fatal(err)
	}
	if v, _, _ := unstructured.NestedString(obj, ann...); v != "1" {
		t.Errorf("annotation set through missing maps: %q", v)
	}
	unsetPath(obj, ann)
	if _, ok := getPath(obj, ann); ok {
		t.Error("annotation still there after unset")
	}
	if v, ok := fieldValue(obj, "spec.rules[0].timeouts.request"); !ok || v != "1s" {
		t.Errorf("fieldValue: %v %v", v, ok)
	}
	if v, ok := fieldValue(obj, "spec.hostnames[0]"); !ok || v != "llm.local" {
		t.Errorf("fieldValue of a list's string: %v %v", v, ok)
	}
	if _, ok := fieldValue(obj, "spec.rules[1].timeouts"); ok {
		t.Error("fieldValue past the list's end")
	}
}
