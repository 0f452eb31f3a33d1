package cluster

import (
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/e2e-framework/support"
	"sigs.k8s.io/e2e-framework/third_party/kwok"
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
