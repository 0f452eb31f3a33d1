// Package stack records which stack a perf run measured: the server's
// version, the model, the address, Host and route the requests took, and,
// when a kubeconfig is at hand, the Kubernetes version and the ingress or
// gateway controller's image. A comparison between runs is only meaningful
// between like stacks, so the baseline gate names what differs.
//
// It asks kubectl (which the harness already requires) rather than
// linking client-go, so the perf side stays free of Kubernetes libraries.
package stackprobe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// KubectlTimeout bounds each kubectl call: a missing cluster must not
// hold up a sweep.
const KubectlTimeout = 5 * time.Second

// ControllerSelector selects the pods of the ingress and gateway
// controllers the platform may sit behind: ingress-nginx (Minikube's
// addon), NGINX Gateway Fabric, Envoy Gateway.
const ControllerSelector = "app.kubernetes.io/name in (ingress-nginx,nginx-gateway,envoy-gateway,gateway-helm)"

// ErrNoKubeconfig means no kubeconfig is at hand ($KUBECONFIG unset and
// no ~/.kube/config).
var ErrNoKubeconfig = errors.New("stack: no kubeconfig ($KUBECONFIG or ~/.kube/config)")

// kubeconfigAtHand reports whether kubectl would find a kubeconfig.
func kubeconfigAtHand() bool {
	if os.Getenv("KUBECONFIG") != "" {
		return true
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join(home, ".kube", "config"))
	return err == nil
}

func kubectl(ctx context.Context, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, KubectlTimeout)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--request-timeout", KubectlTimeout.String()}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("stack: kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Kubernetes returns the current context's server version and the images
// of its ingress or gateway controllers (ControllerSelector), sorted.
func Kubernetes(ctx context.Context) (version string, controllers []string, err error) {
	if !kubeconfigAtHand() {
		return "", nil, ErrNoKubeconfig
	}
	b, err := kubectl(ctx, "version", "-o", "json")
	if err != nil {
		return "", nil, err
	}
	var v struct {
		Server *struct {
			GitVersion string `json:"gitVersion"`
		} `json:"serverVersion"`
	}
	if err := json.Unmarshal(b, &v); err != nil || v.Server == nil {
		return "", nil, fmt.Errorf("stack: kubectl version: no server version (%v)", err)
	}
	b, err = kubectl(ctx, "get", "pods", "--all-namespaces", "-l", ControllerSelector,
		"-o", `jsonpath={range .items[*]}{range .spec.containers[*]}{.image}{"\n"}{end}{end}`)
	if err != nil {
		return v.Server.GitVersion, nil, err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line = strings.TrimSpace(line); line != "" && !slices.Contains(controllers, line) {
			controllers = append(controllers, line)
		}
	}
	slices.Sort(controllers)
	return v.Server.GitVersion, controllers, nil
}
