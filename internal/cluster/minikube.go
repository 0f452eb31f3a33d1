package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/conf"
	"sigs.k8s.io/e2e-framework/support"
)

// MinikubeProvider is an e2e-framework cluster provider for Minikube with
// GPUs: `minikube start --driver docker --container-runtime docker --gpus
// all`, the team's documented bring-up, with its kubeconfig written to a
// file of its own so the user's ~/.kube/config is left alone.
type MinikubeProvider struct {
	name, version, path string
	args                []string
	kubeconfig          string
	rc                  *rest.Config
}

var _ support.E2EClusterProvider = (*MinikubeProvider)(nil)

// ErrNoMinikube means the minikube program is not on PATH.
var ErrNoMinikube = errors.New("minikube not found on PATH: install it (https://minikube.sigs.k8s.io) or use E2E_CLUSTER=existing")

// NewMinikube returns a provider using the minikube on PATH.
func NewMinikube() *MinikubeProvider { return &MinikubeProvider{path: "minikube"} }

func (m *MinikubeProvider) WithName(name string) support.E2EClusterProvider { m.name = name; return m }

func (m *MinikubeProvider) WithVersion(v string) support.E2EClusterProvider { m.version = v; return m }

func (m *MinikubeProvider) WithPath(p string) support.E2EClusterProvider { m.path = p; return m }

// WithOpts is a no-op: extra `minikube start` arguments go to Create.
func (m *MinikubeProvider) WithOpts(...support.ClusterOpts) support.E2EClusterProvider { return m }

func (m *MinikubeProvider) SetDefaults() support.E2EClusterProvider {
	if m.path == "" {
		m.path = "minikube"
	}
	return m
}

func (m *MinikubeProvider) run(ctx context.Context, args ...string) ([]byte, error) {
	bin, err := exec.LookPath(m.path)
	if err != nil {
		return nil, ErrNoMinikube
	}
	cmd := exec.CommandContext(ctx, bin, append([]string{"-p", m.name}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+m.kubeconfigPath())
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("minikube %v: %w: %s", args, err, out.String())
	}
	return out.Bytes(), nil
}

func (m *MinikubeProvider) kubeconfigPath() string {
	if m.kubeconfig == "" {
		m.kubeconfig = filepath.Join(os.TempDir(), "minikube-"+m.name+".kubeconfig")
	}
	return m.kubeconfig
}

// StartArgs are the arguments Create passes to `minikube start`.
func (m *MinikubeProvider) StartArgs(extra ...string) []string {
	args := []string{"start", "--driver", "docker", "--container-runtime", "docker", "--gpus", "all"}
	if m.version != "" {
		args = append(args, "--kubernetes-version", m.version)
	}
	return append(args, extra...)
}

// Create starts (or resumes) the profile and returns its kubeconfig path.
func (m *MinikubeProvider) Create(ctx context.Context, args ...string) (string, error) {
	if _, err := m.run(ctx, m.StartArgs(args...)...); err != nil {
		return "", err
	}
	rc, err := conf.New(m.kubeconfigPath())
	if err != nil {
		return "", fmt.Errorf("minikube kubeconfig: %w", err)
	}
	m.rc = rc
	return m.kubeconfigPath(), nil
}

// CreateWithConfig passes a config file as `--config`... minikube has no
// cluster config file, so it is an error to ask.
func (m *MinikubeProvider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	if configFile != "" {
		return "", errors.New("minikube: no cluster config file: pass start flags to Create")
	}
	return m.Create(ctx)
}

func (m *MinikubeProvider) GetKubeconfig() string { return m.kubeconfigPath() }

// GenerateKubeconfig writes the profile's kubeconfig again.
func (m *MinikubeProvider) GenerateKubeconfig(...string) (string, error) {
	if _, err := m.run(context.Background(), "update-context"); err != nil {
		return "", err
	}
	return m.kubeconfigPath(), nil
}

func (m *MinikubeProvider) GetKubectlContext() string { return m.name }

// ExportLogs writes `minikube logs` to dest.
func (m *MinikubeProvider) ExportLogs(ctx context.Context, dest string) error {
	out, err := m.run(ctx, "logs", "--file", filepath.Join(dest, "minikube.log"))
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// Destroy deletes the profile and its kubeconfig.
func (m *MinikubeProvider) Destroy(ctx context.Context) error {
	if _, err := m.run(ctx, "delete"); err != nil {
		return err
	}
	return os.RemoveAll(m.kubeconfigPath())
}

// WaitForControlPlane is a no-op: `minikube start` returns once the
// control plane answers.
func (m *MinikubeProvider) WaitForControlPlane(context.Context, klient.Client) error { return nil }

func (m *MinikubeProvider) KubernetesRestConfig() *rest.Config { return m.rc }
