package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/klient/decoder"
)

// FieldOwner is the server-side apply field manager of the harness.
const FieldOwner = "llm-harness"

// Kustomize renders a kustomization folder with `kubectl kustomize` (the
// kustomize every kubectl embeds, so what the suite applies is what a user's
// `kubectl apply -k` applies).
func Kustomize(ctx context.Context, dir string) ([]byte, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "kubectl", "kustomize", dir)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("cluster: kubectl kustomize %s: %w: %s", dir, err, errb.String())
	}
	return out.Bytes(), nil
}

// Decode splits a multi-document manifest into unstructured objects, which
// keep apiVersion and kind as written (server-side apply needs both).
func Decode(manifest []byte) ([]*unstructured.Unstructured, error) {
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("cluster: decode: %w", err)
		}
		if len(m) == 0 {
			continue // an empty document between separators
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			return nil, fmt.Errorf("cluster: decode: a document without apiVersion or kind: %v", m)
		}
		out = append(out, u)
	}
}

// Find returns the first object of a kind in objs, nil if none.
func Find(objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

// Apply server-side applies each object (as `kubectl apply
// --server-side`), or only validates it on the server with dryRun.
func (c *Cluster) Apply(ctx context.Context, objs []*unstructured.Unstructured, dryRun bool) error {
	cl := c.Client.Resources().GetControllerRuntimeClient()
	for _, o := range objs {
		u := o.DeepCopy()
		opts := []client.PatchOption{client.ForceOwnership, client.FieldOwner(FieldOwner)}
		if dryRun {
			opts = append(opts, client.DryRunAll)
		}
		u.SetManagedFields(nil)
		u.SetResourceVersion("")
		if err := cl.Patch(ctx, u, client.Apply, opts...); err != nil { //nolint:staticcheck // client.Apply is server-side apply of an unstructured object
			return fmt.Errorf("cluster: apply %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
	}
	return nil
}

// CreateFile creates every object of a manifest file that does not exist
// yet, through e2e-framework's decoder (the lab's nodes: created once,
// then kwok owns their status).
func (c *Cluster) CreateFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer f.Close()
	if err := decoder.DecodeEach(ctx, f, decoder.CreateIgnoreAlreadyExists(c.Client.Resources())); err != nil {
		return fmt.Errorf("cluster: %s: %w", path, err)
	}
	return nil
}
