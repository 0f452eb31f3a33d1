package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/e2e-framework/third_party/kwok"

	"github.com/llm-platform/harness/internal/labnode"
)

// LabNodes is the lab's node manifest, relative to the repository root.
const LabNodes = "fixtures/lab/nodes.yaml"

// LabBinaries are the programs the lab runs, by their file names in
// Config.LabBin, and the kwokctl variable that points kwokctl at each: the
// binary runtime then runs them as local processes (no Docker, no downloads).
var LabBinaries = map[string]string{
	"kube-apiserver":          "KWOK_KUBE_APISERVER_BINARY",
	"kube-controller-manager": "KWOK_KUBE_CONTROLLER_MANAGER_BINARY",
	"kube-scheduler":          "KWOK_KUBE_SCHEDULER_BINARY",
	"kwok":                    "KWOK_CONTROLLER_BINARY",
	"etcd":                    "KWOK_ETCD_BINARY",
}

// newLab returns e2e-framework's kwok provider set up for the binary
// runtime with our binaries. kwokctl reads its settings from the process
// environment, so they are set here; kwokctl itself comes from LabBin too
// (without it on the path the provider would `go install` an old one).
func newLab(cfg Config) (support.E2EClusterProvider, error) {
	env := map[string]string{"KWOK_RUNTIME": "binary"}
	for bin, key := range LabBinaries {
		p := filepath.Join(cfg.LabBin, bin)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("cluster: lab: %s: %w (run make tools)", p, err)
		}
		env[key] = p
	}
	kwokctl := filepath.Join(cfg.LabBin, "kwokctl")
	if _, err := os.Stat(kwokctl); err != nil {
		return nil, fmt.Errorf("cluster: lab: %s: %w (run make tools)", kwokctl, err)
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			return nil, fmt.Errorf("cluster: lab: %w", err)
		}
	}
	return kwok.NewProvider().WithName(cfg.Name).WithPath(kwokctl), nil
}

// kwokConfig makes kwok fake only the nodes annotated as its own (the
// lab's fixtures): kwokctl's binary runtime always passes
// --manage-all-nodes=true, which would also write the status of the real
// node's pods over the kubelet's. Extra arguments come after kwokctl's
// own, and the last value of a flag wins. The API server reaches kubelets
// by their InternalIP: the real node's name resolves nowhere, and logs,
// exec and port-forward (kubectl's, client-go's) go through the API server
// to the kubelet, as on any cluster.
const kwokConfig = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
  - name: kube-apiserver
    extraArgs:
      - key: kubelet-preferred-address-types
        value: InternalIP
  - name: kwok-controller
    extraArgs:
      - key: manage-all-nodes
        value: "false"
      - key: manage-nodes-with-annotation-selector
        value: kwok.x-k8s.io/node=fake
`

// labNode is the real node's configuration for a lab.
func labNode(cfg Config, kubeconfig string) labnode.Config {
	return labnode.Config{Name: cfg.Name, Dir: cfg.LabDir, Bin: cfg.LabBin, Kubeconfig: kubeconfig, Images: cfg.LabImages}
}

// createLab creates (or finds) the kwok control plane and, with LabDir,
// starts the real node unless it runs already. The caller must be in the
// lab's network namespace: the control plane's processes inherit it.
func createLab(ctx context.Context, p support.E2EClusterProvider, cfg Config) (string, error) {
	node := labNode(cfg, "")
	if cfg.LabDir != "" && !labnode.InNetns(node) {
		return "", fmt.Errorf("cluster: lab %s has a real node: run inside its network namespace %s (make lab-up and make e2e-lab do: nsenter --net=%s ...)", cfg.Name, node.Netns(), node.NetnsPath())
	}
	f, err := os.CreateTemp("", "kwok-config-*.yaml")
	if err != nil {
		return "", fmt.Errorf("cluster: lab: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(kwokConfig); err != nil {
		return "", fmt.Errorf("cluster: lab: %w", err)
	}
	f.Close()
	kubeconfig, err := p.CreateWithConfig(ctx, f.Name())
	if err != nil || cfg.LabDir == "" {
		return kubeconfig, err
	}
	node.Kubeconfig = kubeconfig
	if labnode.Running(node) {
		return kubeconfig, nil
	}
	return kubeconfig, labnode.Start(ctx, node)
}
