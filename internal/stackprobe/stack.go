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

// Stack is what a run measured.
type Stack struct {
	// ServerVersion is what the server's GET /version answered (vLLM's
	// version); "" when it has no such endpoint.
	ServerVersion string `json:"server_version,omitempty"`
	Model         string `json:"model"`
	URL           string `json:"url"`
	Host          string `json:"host,omitempty"`
	// Route is the path requests were sent to.
	Route string `json:"route"`
	// Kubernetes is the cluster's server version, and Controllers the
	// images of its ingress or gateway controller pods; empty without a
	// kubeconfig (Notes says why).
	Kubernetes  string   `json:"kubernetes_version,omitempty"`
	Controllers []string `json:"controllers,omitempty"`
	// Notes say why a field is empty.
	Notes []string `json:"notes,omitempty"`
}

// Diff names the fields in which cur differs from base, as
// "field: base -> cur". A field empty on either side is not compared: an
// unknown is not a difference.
func Diff(base, cur Stack) []string {
	var out []string
	for _, f := range []struct{ name, a, b string }{
		{"server_version", base.ServerVersion, cur.ServerVersion},
		{"model", base.Model, cur.Model},
		{"host", base.Host, cur.Host},
		{"route", base.Route, cur.Route},
		{"kubernetes_version", base.Kubernetes, cur.Kubernetes},
		{"controllers", strings.Join(base.Controllers, ","), strings.Join(cur.Controllers, ",")},
	} {
		if f.a != "" && f.b != "" && f.a != f.b {
			out = append(out, fmt.Sprintf("%s: %s -> %s", f.name, f.a, f.b))
		}
	}
	return out
}

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
