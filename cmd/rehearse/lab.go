package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// overlay writes the night's overlay: the lab's, with the seeded noise and
// the night's change.
func overlay(o options, nt night) (string, error) {
	dir := filepath.Join(o.work, fmt.Sprintf("night-%d", nt.n), "overlay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lab, err := filepath.Rel(dir, filepath.Join(o.root, "manifests", "overlays", "lab"))
	if err != nil {
		return "", err
	}
	base, err := labArgs(o)
	if err != nil {
		return "", err
	}
	args := setArgs(base, noise)
	args = setArgs(args, nt.args)
	argsJSON, _ := json.Marshal(args)
	var k strings.Builder
	fmt.Fprintf(&k, "# Rehearsal night %d: %s.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\npatches:\n", nt.n, nt.what, lab)
	fmt.Fprintf(&k, "  - target: {kind: Deployment, name: vllm}\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/args\n        value: %s\n", argsJSON)
	for key, v := range nt.annotations {
		fmt.Fprintf(&k, "  - target: {kind: Ingress, name: vllm}\n    patch: |-\n      - op: add\n        path: /metadata/annotations/%s\n        value: %q\n", strings.ReplaceAll(key, "/", "~1"), v)
	}
	return dir, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k.String()), 0o644)
}

// labArgs are the simulator's arguments in the lab overlay.
func labArgs(o options) ([]string, error) {
	out, err := exec.Command("kubectl", "kustomize", filepath.Join(o.root, "manifests", "overlays", "lab")).Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl kustomize the lab overlay: %w", err)
	}
	var args []string
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var d struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct{ Args []string }
					}
				}
			}
		}
		if yaml.Unmarshal([]byte(doc), &d) == nil && d.Kind == "Deployment" && len(d.Spec.Template.Spec.Containers) > 0 {
			args = d.Spec.Template.Spec.Containers[0].Args
		}
	}
	if len(args) == 0 {
		return nil, errors.New("the lab overlay's Deployment has no args")
	}
	return args, nil
}

// setArgs sets each flag's value in args, appending flags it lacks.
func setArgs(args []string, set map[string]string) []string {
	out := slices.Clone(args)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if i := slices.Index(out, k); i >= 0 && i+1 < len(out) {
			out[i+1] = set[k]
		} else {
			out = append(out, k, set[k])
		}
	}
	return out
}
