// Package standin is the settings file of the rehearsal's stand-in
// minikube (cmd/labminikube): the rehearsal (cmd/rehearse) writes it, the
// stand-in reads it on every call. One type on both sides, so a field
// cannot be renamed on one side only.
package standin

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// HomeVariable names the stand-in's folder: standin.json, calls.log and the
// stand-in ingress controller's files.
const HomeVariable = "LAB_MINIKUBE_HOME"

// File is the settings file's name in the stand-in's folder.
const File = "standin.json"

// Settings is standin.json.
type Settings struct {
	// Profile is the one profile that exists (the workflow's
	// MINIKUBE_PROFILE); any other is "not found", as Minikube says.
	Profile string `json:"profile"`
	// Kubeconfig is the lab's.
	Kubeconfig string `json:"kubeconfig"`
	// IP is `minikube ip`: where the stand-in controller listens on port 80.
	IP string `json:"ip"`
	// Version is what `minikube version` reports.
	Version string `json:"version"`
	// KubernetesVersion is the lab's, for `profile list`.
	KubernetesVersion string `json:"kubernetesVersion"`
	// Images are the references the lab's node has; `image pull` and
	// `image load` of any other fail as a pull without a registry would.
	Images []string `json:"images"`
}

// Write writes s as dir's standin.json.
func (s Settings) Write(dir string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, File), b, 0o644)
}

// Load reads dir's standin.json.
func Load(dir string) (Settings, error) {
	var s Settings
	b, err := os.ReadFile(filepath.Join(dir, File))
	if err != nil {
		return s, fmt.Errorf("stand-in minikube: %w (%s names the rehearsal's folder)", err, HomeVariable)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("stand-in minikube: %s: %w", File, err)
	}
	return s, nil
}
