// Command ingresslab runs the lab's ingress data plane without a cluster:
// llm-d-inference-sim standing in for the vLLM pods, and nginx configured
// from an overlay's route (rendered with kubectl kustomize) in front of it:
// its Ingress, as ingress-nginx renders one, or its HTTPRoute and NGINX
// Gateway Fabric's policies, as NGF does (-overlay
// manifests/overlays/lab-gateway). It runs a command with INGRESS_URL and
// BACKEND_URL set, then stops both. `make perf-lab` uses it with -backend,
// inside the lab's network namespace, to run the perf sweep through nginx
// to the platform's Service on the lab's real node.
//
//	ingresslab -llmd .cache/bin/llm-d-inference-sim-v0.10.2 -- sh -c 'echo $INGRESS_URL'
//	ingresslab -backend http://10.0.0.215:8000 -overlay manifests/overlays/lab -- ...
//
// -backend puts nginx in front of a server that already runs (on the lab's
// real node: the platform's Service, at its ClusterIP) instead of starting
// llm-d.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/gateway"
	"github.com/llm-platform/harness/internal/llmd"
	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingresslab:", err)
	}
	os.Exit(code)
}

func run(ctx context.Context, args []string) (int, error) {
	fs := flag.NewFlagSet("ingresslab", flag.ContinueOnError)
	bin := fs.String("llmd", os.Getenv("LLMD_INFERENCE_SIM"), "llm-d-inference-sim binary (make tools)")
	backendURL := fs.String("backend", "", "an already running backend (http://host:port) to put nginx in front of, instead of starting llm-d")
	overlay := fs.String("overlay", "manifests/overlays/lab", "kustomization whose Ingress, or HTTPRoute and NGF policies, configure nginx")
	ttft := fs.String("ttft", "50ms", "backend time to first token")
	itl := fs.String("itl", "10ms", "backend inter-token latency")
	seqs := fs.String("max-num-seqs", "32", "backend sequences running at once")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() == 0 {
		return 2, errors.New("usage: ingresslab [flags] -- command [args]")
	}
	if *bin == "" && *backendURL == "" {
		return 2, errors.New("-llmd: no llm-d-inference-sim binary (make tools builds one), and no -backend")
	}
	objs, err := render(ctx, *overlay)
	if err != nil {
		return 1, err
	}
	backend := &llmd.Process{URL: *backendURL}
	if *backendURL == "" {
		if backend, err = llmd.Start(ctx, *bin, "--model", sim.DefaultModel, "--time-to-first-token", *ttft,
			"--inter-token-latency", *itl, "--max-num-seqs", *seqs); err != nil {
			return 1, err
		}
		defer backend.Stop()
	}
	listen, err := nginx.FreeAddr()
	if err != nil {
		return 1, err
	}
	cfg, route, err := gateway.NginxConfig(objs, listen, strings.TrimPrefix(backend.URL, "http://"))
	if err != nil {
		return 1, fmt.Errorf("%s: %w", *overlay, err)
	}
	dir, err := os.MkdirTemp("", "ingresslab-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	n, err := nginx.Start(cfg, dir)
	if err != nil {
		return 1, err
	}
	defer n.Stop()
	upstream := "llm-d-inference-sim"
	if *backendURL != "" {
		upstream = "-backend"
	}
	fmt.Printf("ingresslab: nginx %s (Host llm.local, from the %s) -> %s %s\n", n.URL, route, upstream, backend.URL)

	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "INGRESS_URL="+n.URL, "BACKEND_URL="+backend.URL)
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode(), nil
		}
		return 1, err
	}
	return 0, nil
}

// render renders an overlay into its objects.
func render(ctx context.Context, dir string) ([]*unstructured.Unstructured, error) {
	b, err := cluster.Kustomize(ctx, dir)
	if err != nil {
		return nil, err
	}
	return cluster.Decode(b)
}
