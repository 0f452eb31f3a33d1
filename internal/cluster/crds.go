package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// crdKind is the CustomResourceDefinition kind, read as unstructured: the
// harness needs only its name and Established condition, not the
// apiextensions module.
var crdKind = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// CRDEstablishTimeout bounds the wait for the API server to serve a new
// CustomResourceDefinition (on the lab: well under a second each).
const CRDEstablishTimeout = time.Minute

// InstallCRDs creates every CustomResourceDefinition in the *.yaml files of
// dir that the cluster lacks (other kinds in those files are an error: the
// folder is CRDs only), then waits until each is Established, so a dry run
// of an object of that kind right after finds it served. It returns the
// CRDs' names, sorted.
func (c *Cluster) InstallCRDs(ctx context.Context, dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("cluster: CRDs: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("cluster: CRDs: no *.yaml in %s (make tools builds it)", dir)
	}
	var objs []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("cluster: CRDs: %w", err)
		}
		docs, err := Decode(b)
		if err != nil {
			return nil, fmt.Errorf("cluster: CRDs: %s: %w", f, err)
		}
		for _, d := range docs {
			if d.GroupVersionKind() != crdKind {
				return nil, fmt.Errorf("cluster: CRDs: %s: %s %s is not a CustomResourceDefinition", f, d.GetKind(), d.GetName())
			}
		}
		objs = append(objs, docs...)
	}
	cl := c.Client.Resources().GetControllerRuntimeClient()
	var names []string
	for _, o := range objs {
		existing := &unstructured.Unstructured{}
		existing.SetGroupVersionKind(crdKind)
		switch err := cl.Get(ctx, client.ObjectKey{Name: o.GetName()}, existing); {
		case apierrors.IsNotFound(err):
			if err := cl.Create(ctx, o.DeepCopy()); err != nil {
				return nil, fmt.Errorf("cluster: create CRD %s: %w", o.GetName(), err)
			}
		case err != nil:
			return nil, fmt.Errorf("cluster: get CRD %s: %w", o.GetName(), err)
		}
		names = append(names, o.GetName())
	}
	for _, n := range names {
		if err := c.waitEstablished(ctx, n); err != nil {
			return nil, err
		}
	}
	slices.Sort(names)
	return names, nil
}

// waitEstablished polls a CRD until its Established condition is True.
func (c *Cluster) waitEstablished(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, CRDEstablishTimeout)
	defer cancel()
	cl := c.Client.Resources().GetControllerRuntimeClient()
	for {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(crdKind)
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, u); err == nil && condition(u, "Established") == "True" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: CRD %s not Established within %v: %w", name, CRDEstablishTimeout, ctx.Err())
		case <-time.After(50 * time.Millisecond): // the API server establishes a CRD in milliseconds
		}
	}
}

// condition returns the status ("True", "False", "Unknown") of an object's
// status.conditions entry of type t, "" when there is none.
func condition(u *unstructured.Unstructured, t string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == t {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}
