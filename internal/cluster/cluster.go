// Package cluster gives the e2e suite a Kubernetes cluster and the few verbs
// it needs on it, through sigs.k8s.io/e2e-framework's klient: the cluster
// the user points at (existing, kubeconfig resolved as kubectl does), a
// Minikube it starts with GPUs (our own provider of e2e-framework's
// cluster-provider interface), or the lab (e2e-framework's kwok provider
// running the real kube-apiserver, scheduler and controller manager as local
// binaries, with fake kwok nodes).
//
// It is a package of its own to fence off the Kubernetes dependencies: the
// perf side of the harness never imports them.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/llm-platform/harness/internal/labnode"
)

// Kind is how the cluster is obtained.
type Kind string

// The kinds of cluster.
const (
	Existing Kind = "existing"
	Minikube Kind = "minikube"
	Lab      Kind = "lab"
)

// Config chooses and names the cluster.
type Config struct {
	Kind Kind
	// Kubeconfig and Context select an existing cluster; empty means as
	// kubectl resolves them ($KUBECONFIG, ~/.kube/config, current context).
	Kubeconfig, Context string
	// Name is the Minikube profile or the lab cluster's name.
	Name string
	// LabBin is the folder holding the lab's binaries (make tools builds it).
	LabBin string
	// LabCRDs is the folder of the CustomResourceDefinitions the lab
	// installs (the Gateway API's, NGINX Gateway Fabric's and Envoy
	// Gateway's policies; make tools builds it). Needed to bring a lab up,
	// not to delete one.
	LabCRDs string
	// LabDir, when set, gives the lab a real node (internal/labnode) kept
	// in this folder, beside the kwok nodes; the lab then runs in its own
	// network namespace, and so must every process that talks to it.
	LabDir string
	// LabImages are image tarballs the real node imports.
	LabImages []string
	// MinikubeCPUs and MinikubeMemory size a Minikube the harness starts;
	// zero values take DefaultMinikubeCPUs and DefaultMinikubeMemory.
	MinikubeCPUs   int
	MinikubeMemory string
	// MinikubeKubernetes is --kubernetes-version for a profile the harness
	// starts ("" takes DefaultMinikubeKubernetes); MinikubeAnyVersion skips
	// the check of Minikube's own version.
	MinikubeKubernetes string
	MinikubeAnyVersion bool
}

// Validate names the first invalid field.
func (c Config) Validate() error {
	switch c.Kind {
	case Existing, Minikube, Lab:
	default:
		return fmt.Errorf("cluster: E2E_CLUSTER: %q: want existing, minikube or lab", c.Kind)
	}
	if c.Kind != Existing && c.Name == "" {
		return errors.New("cluster: E2E_CLUSTER_NAME: must be set for minikube and lab")
	}
	if c.MinikubeCPUs < 0 {
		return fmt.Errorf("cluster: E2E_MINIKUBE_CPUS: %d: must be > 0 (0 takes the default, %d)", c.MinikubeCPUs, DefaultMinikubeCPUs)
	}
	if c.Kind == Lab && c.LabBin == "" {
		return errors.New("cluster: E2E_LAB_BIN: must name the folder of the lab's binaries (make tools builds it)")
	}
	return nil
}

// Cluster is a cluster the suite can use.
type Cluster struct {
	Kind       Kind
	Kubeconfig string // "" for an existing cluster resolved by kubectl's rules
	Client     klient.Client
	// IngressURL is where the cluster's ingress answers when the harness
	// knows it (Minikube: http://$(minikube ip)); "" otherwise.
	IngressURL string
	// LabNode is the lab's real node, nil on a lab without one and on
	// every other cluster: what the suite asks the kubelet through (its
	// pod-resources socket).
	LabNode  *labnode.Config
	provider support.E2EClusterProvider // nil for an existing cluster
}

// Open brings the cluster up (Minikube, lab) or connects to it (existing).
// A lab or Minikube that already runs under the name is reused.
func Open(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Kind == Existing {
		return openExisting(cfg)
	}
	p, err := provider(cfg)
	if err != nil {
		return nil, err
	}
	create := p.Create
	if cfg.Kind == Lab {
		create = func(ctx context.Context, _ ...string) (string, error) { return createLab(ctx, p, cfg) }
	}
	kubeconfig, err := create(ctx)
	if err != nil {
		return nil, fmt.Errorf("cluster: create %s %q: %w", cfg.Kind, cfg.Name, err)
	}
	c, err := klient.NewWithKubeConfigFile(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("cluster: %s kubeconfig %s: %w", cfg.Kind, kubeconfig, err)
	}
	out := &Cluster{Kind: cfg.Kind, Kubeconfig: kubeconfig, Client: c, provider: p}
	if cfg.Kind == Lab && cfg.LabDir != "" {
		// The real node's GPU, through the kubelet's device-plugin path.
		node := labNode(cfg, kubeconfig)
		out.LabNode = &node
		manifest, err := labnode.WriteDevicePluginManifest(node)
		if err != nil {
			return nil, fmt.Errorf("cluster: lab: %w", err)
		}
		if err := out.CreateFile(ctx, manifest); err != nil {
			return nil, err
		}
	}
	if mk, ok := p.(*MinikubeProvider); ok {
		ip, err := mk.IP(ctx)
		if err != nil {
			return nil, fmt.Errorf("cluster: minikube %q: %w", cfg.Name, err)
		}
		out.IngressURL = "http://" + ip
	}
	return out, nil
}

// provider returns the e2e-framework provider of a Minikube or lab config.
func provider(cfg Config) (support.E2EClusterProvider, error) {
	if cfg.Kind == Minikube {
		k8s := cfg.MinikubeKubernetes
		if k8s == "" {
			k8s = DefaultMinikubeKubernetes
		}
		return NewMinikube().WithSize(cfg.MinikubeCPUs, cfg.MinikubeMemory).AllowAnyVersion(cfg.MinikubeAnyVersion).WithName(cfg.Name).WithVersion(k8s).SetDefaults(), nil
	}
	return newLab(cfg)
}

// Delete deletes a Minikube profile or lab cluster by name, without
// bringing it up first.
func Delete(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Kind == Existing {
		return errors.New("cluster: an existing cluster is never deleted by the harness")
	}
	p, err := provider(cfg)
	if err != nil {
		return err
	}
	err = p.Destroy(ctx)
	if cfg.Kind == Lab && cfg.LabDir != "" {
		// The real node, even when the control plane was already gone.
		err = errors.Join(err, labnode.Teardown(ctx, labNode(cfg, "")))
	}
	return err
}

func openExisting(cfg Config) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if cfg.Kubeconfig != "" {
		rules.ExplicitPath = cfg.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cfg.Context})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("cluster: existing: kubeconfig (%s): %w", strings.Join(rules.Precedence, ":"), err)
	}
	c, err := klient.New(rc)
	if err != nil {
		return nil, fmt.Errorf("cluster: existing: %w", err)
	}
	return &Cluster{Kind: Existing, Kubeconfig: cfg.Kubeconfig, Client: c}, nil
}

// Destroy deletes a cluster this package created; an existing cluster is
// never touched.
func (c *Cluster) Destroy(ctx context.Context) error {
	if c.provider == nil {
		return nil
	}
	return c.provider.Destroy(ctx)
}
