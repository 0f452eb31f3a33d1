package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/semver"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/klient/conf"
	"sigs.k8s.io/e2e-framework/support"
)

// Minikube sizing defaults. The vLLM pod requests 2 CPUs and 6 GiB with a
// 12 GiB limit (manifests/base/deployment.yaml); the control plane, CoreDNS,
// the device plugin and the ingress controller request about 1 CPU and
// 1.5 GiB more. Minikube's own defaults (2 CPUs, at most 6 GB) cannot hold
// that, and with the docker driver the node still advertises the host's
// memory, so the pod would schedule and then risk an OOM kill.
const (
	DefaultMinikubeProfile = "minikube" // Minikube's own default: the team's profile
	// DefaultMinikubeKubernetes is the team's Kubernetes line, which the
	// GPU workflow asks for too.
	DefaultMinikubeKubernetes = "v1.32.9"
	// MinMinikubeVersion is the oldest Minikube the platform starts on:
	// --gpus for the docker driver came in v1.32.0, and the ingress addon
	// supports Kubernetes 1.32 from v1.36.0 (its controller v1.12.x).
	MinMinikubeVersion    = "v1.36.0"
	DefaultMinikubeCPUs   = 4
	DefaultMinikubeMemory = "16g"
)

// ErrMinikubeTooOld means the minikube on PATH is older than
// MinMinikubeVersion.
var ErrMinikubeTooOld = errors.New("minikube is too old")

// MinikubeProvider is an e2e-framework cluster provider for Minikube with
// GPUs: `minikube start --driver docker --container-runtime docker --gpus
// all` sized for vLLM, then the ingress addon, the team's documented
// bring-up. Its kubeconfig goes to a file of its own so the user's
// ~/.kube/config is left alone.
//
// Minikube does not add GPUs to an existing profile: Create refuses a
// profile that was created without --gpus, naming the fix, rather than
// reuse it and fail later on a node with no nvidia.com/gpu.
type MinikubeProvider struct {
	name, version, path string
	// anyVersion skips the check against MinMinikubeVersion.
	anyVersion bool
	cpus       int
	memory     string
	kubeconfig string
	rc         *rest.Config
}

var _ support.E2EClusterProvider = (*MinikubeProvider)(nil)

// ErrNoMinikube means the minikube program is not on PATH.
var ErrNoMinikube = errors.New("minikube not found on PATH: install it (https://minikube.sigs.k8s.io) or use E2E_CLUSTER=existing")

// ErrProfileWithoutGPU means the named profile exists and was created
// without --gpus; Minikube cannot add GPUs to it.
var ErrProfileWithoutGPU = errors.New("the profile was created without --gpus and Minikube cannot add GPUs to an existing profile")

// NewMinikube returns a provider using the minikube on PATH, the default
// profile and the default size.
func NewMinikube() *MinikubeProvider {
	return &MinikubeProvider{path: "minikube", name: DefaultMinikubeProfile, cpus: DefaultMinikubeCPUs, memory: DefaultMinikubeMemory}
}

// WithName sets the profile.
func (m *MinikubeProvider) WithName(name string) support.E2EClusterProvider { m.name = name; return m }

// WithVersion sets --kubernetes-version.
func (m *MinikubeProvider) WithVersion(v string) support.E2EClusterProvider { m.version = v; return m }

// WithPath sets the minikube program.
func (m *MinikubeProvider) WithPath(p string) support.E2EClusterProvider { m.path = p; return m }

// WithSize sets --cpus and --memory (Minikube's syntax: 16g, 16384mb).
func (m *MinikubeProvider) WithSize(cpus int, memory string) *MinikubeProvider {
	m.cpus, m.memory = cpus, memory
	return m
}

// WithOpts is a no-op: extra `minikube start` arguments go to Create.
func (m *MinikubeProvider) WithOpts(...support.ClusterOpts) support.E2EClusterProvider { return m }

// SetDefaults fills what is unset.
func (m *MinikubeProvider) SetDefaults() support.E2EClusterProvider {
	if m.path == "" {
		m.path = "minikube"
	}
	if m.name == "" {
		m.name = DefaultMinikubeProfile
	}
	if m.cpus == 0 {
		m.cpus = DefaultMinikubeCPUs
	}
	if m.memory == "" {
		m.memory = DefaultMinikubeMemory
	}
	return m
}

// run runs minikube with the profile and our kubeconfig; global runs it
// without -p (profile list).
func (m *MinikubeProvider) run(ctx context.Context, profile bool, args ...string) ([]byte, error) {
	bin, err := exec.LookPath(m.path)
	if err != nil {
		return nil, ErrNoMinikube
	}
	if profile {
		args = append([]string{"-p", m.name}, args...)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+m.kubeconfigPath())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("minikube %s: %w: %s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.Bytes(), nil
}

// kubeconfigPath is where the provider's minikube commands write their
// kubeconfig: a folder of this provider's own under the temporary folder,
// so that two users or two runs on one machine never share one file (a
// fixed /tmp path left by one user is another's "permission denied").
func (m *MinikubeProvider) kubeconfigPath() string {
	if m.kubeconfig == "" {
		dir, err := os.MkdirTemp("", "minikube-"+m.name+"-")
		if err != nil {
			dir = os.TempDir()
		}
		m.kubeconfig = filepath.Join(dir, "kubeconfig")
	}
	return m.kubeconfig
}

// StartArgs are the arguments Create passes to `minikube start`.
func (m *MinikubeProvider) StartArgs(extra ...string) []string {
	m.SetDefaults()
	args := []string{"start", "--driver", "docker", "--container-runtime", "docker", "--gpus", "all",
		"--cpus", fmt.Sprint(m.cpus), "--memory", m.memory}
	if m.version != "" {
		args = append(args, "--kubernetes-version", m.version)
	}
	return append(args, extra...)
}

// profileList is the part of `minikube profile list -o json` read here.
// Config.GPUs holds the --gpus value the profile was created with (Minikube
// v1.32 and later, the first with --gpus for the docker driver).
type profileList struct {
	Valid []struct {
		Name   string
		Config *struct{ GPUs string }
	} `json:"valid"`
}

// CheckProfile fails with ErrProfileWithoutGPU when the profile exists
// and was created without --gpus. A profile that does not exist yet is
// fine: Create makes it with GPUs.
func (m *MinikubeProvider) CheckProfile(ctx context.Context) error {
	out, err := m.run(ctx, false, "profile", "list", "-o", "json")
	if err != nil {
		// Minikube exits non-zero when it has no profile at all; start
		// then creates one. Anything else surfaces at start.
		return nil
	}
	var pl profileList
	if err := json.Unmarshal(out, &pl); err != nil {
		return fmt.Errorf("minikube profile list -o json: %w", err)
	}
	for _, p := range pl.Valid {
		if p.Name == m.name && (p.Config == nil || p.Config.GPUs == "") {
			return fmt.Errorf("minikube profile %q: %w; delete it with `minikube delete -p %s` (or choose another profile with E2E_CLUSTER_NAME) and run again",
				m.name, ErrProfileWithoutGPU, m.name)
		}
	}
	return nil
}

// AllowAnyVersion skips the version check (E2E_MINIKUBE_ALLOW_ANY_VERSION:
// a team that knows its older Minikube works).
func (m *MinikubeProvider) AllowAnyVersion(ok bool) *MinikubeProvider { m.anyVersion = ok; return m }

// CheckVersion fails with ErrMinikubeTooOld, naming the version needed,
// when `minikube version --short` is older than MinMinikubeVersion.
func (m *MinikubeProvider) CheckVersion(ctx context.Context) error {
	if m.anyVersion {
		return nil
	}
	out, err := m.run(ctx, false, "version", "--short")
	if err != nil {
		return err
	}
	v := strings.TrimSpace(string(out))
	if !semver.IsValid(v) {
		return fmt.Errorf("minikube version --short: %q is not a version", v)
	}
	if semver.Compare(v, MinMinikubeVersion) < 0 {
		return fmt.Errorf("%w: %s on PATH, the platform needs %s or later (--gpus needs v1.32.0; the ingress addon supports Kubernetes 1.32 from v1.36.0); upgrade it, or set E2E_MINIKUBE_ALLOW_ANY_VERSION=1 to go on", ErrMinikubeTooOld, v, MinMinikubeVersion)
	}
	return nil
}

// Create checks Minikube's version and the profile, starts (or resumes) it
// with GPUs, enables the ingress addon and returns the kubeconfig path.
func (m *MinikubeProvider) Create(ctx context.Context, args ...string) (string, error) {
	if err := m.CheckVersion(ctx); err != nil {
		return "", err
	}
	if err := m.CheckProfile(ctx); err != nil {
		return "", err
	}
	if _, err := m.run(ctx, true, m.StartArgs(args...)...); err != nil {
		return "", err
	}
	if _, err := m.run(ctx, true, "addons", "enable", "ingress"); err != nil {
		return "", err
	}
	rc, err := conf.New(m.kubeconfigPath())
	if err != nil {
		return "", fmt.Errorf("minikube kubeconfig: %w", err)
	}
	m.rc = rc
	return m.kubeconfigPath(), nil
}

// IP is `minikube ip`: where the ingress addon listens (port 80).
func (m *MinikubeProvider) IP(ctx context.Context) (string, error) {
	out, err := m.run(ctx, true, "ip")
	if err != nil {
		return "", err
	}
	ip := strings.TrimSpace(string(out))
	if ip == "" {
		return "", errors.New("minikube ip: printed nothing")
	}
	return ip, nil
}

// CreateWithConfig: minikube has no cluster config file, so it is an
// error to pass one.
func (m *MinikubeProvider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	if configFile != "" {
		return "", errors.New("minikube: no cluster config file: pass start flags to Create")
	}
	return m.Create(ctx)
}

// GetKubeconfig is the provider's kubeconfig file.
func (m *MinikubeProvider) GetKubeconfig() string { return m.kubeconfigPath() }

// GenerateKubeconfig writes the profile's kubeconfig again.
func (m *MinikubeProvider) GenerateKubeconfig(...string) (string, error) {
	if _, err := m.run(context.Background(), true, "update-context"); err != nil {
		return "", err
	}
	return m.kubeconfigPath(), nil
}

// GetKubectlContext is the profile name, which Minikube uses as context.
func (m *MinikubeProvider) GetKubectlContext() string { return m.name }

// ExportLogs writes `minikube logs` to dest.
func (m *MinikubeProvider) ExportLogs(ctx context.Context, dest string) error {
	_, err := m.run(ctx, true, "logs", "--file", filepath.Join(dest, "minikube.log"))
	return err
}

// Destroy deletes the profile and its kubeconfig (with its folder, when
// the folder is the provider's own).
func (m *MinikubeProvider) Destroy(ctx context.Context) error {
	if _, err := m.run(ctx, true, "delete"); err != nil {
		return err
	}
	p := m.kubeconfigPath()
	if dir := filepath.Dir(p); dir != filepath.Clean(os.TempDir()) {
		p = dir
	}
	return os.RemoveAll(p)
}

// WaitForControlPlane is a no-op: `minikube start` returns once the
// control plane answers.
func (m *MinikubeProvider) WaitForControlPlane(context.Context, klient.Client) error { return nil }

// KubernetesRestConfig is the rest config Create read.
func (m *MinikubeProvider) KubernetesRestConfig() *rest.Config { return m.rc }
