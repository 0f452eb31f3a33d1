// Command ingresslab runs the lab's ingress data plane without a cluster:
// llm-d-inference-sim standing in for the vLLM pods, and nginx configured
// from the lab overlay's Ingress (rendered with kubectl kustomize) in front
// of it. It runs a command with INGRESS_URL and BACKEND_URL set, then stops
// both. `make perf-lab` uses it to run the perf sweep direct and through the
// ingress.
//
//	ingresslab -llmd .cache/bin/llm-d-inference-sim-v0.10.2 -- sh -c 'echo $INGRESS_URL'
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

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/ingress"
	"github.com/llm-platform/harness/internal/llmd"
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
	overlay := fs.String("overlay", "manifests/overlays/lab", "kustomization whose Ingress configures nginx")
	ttft := fs.String("ttft", "50ms", "backend time to first token")
	itl := fs.String("itl", "10ms", "backend inter-token latency")
	seqs := fs.String("max-num-seqs", "32", "backend sequences running at once")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() == 0 {
		return 2, errors.New("usage: ingresslab [flags] -- command [args]")
	}
	if *bin == "" {
		return 2, errors.New("-llmd: no llm-d-inference-sim binary (make tools builds one)")
	}
	ing, err := overlayIngress(ctx, *overlay)
	if err != nil {
		return 1, err
	}
	backend, err := llmd.Start(ctx, *bin, "--model", sim.DefaultModel, "--time-to-first-token", *ttft,
		"--inter-token-latency", *itl, "--max-num-seqs", *seqs)
	if err != nil {
		return 1, err
	}
	defer backend.Stop()
	listen, err := ingress.FreeAddr()
	if err != nil {
		return 1, err
	}
	cfg, err := ingress.FromIngress(ing, listen, func(string, networkingv1.ServiceBackendPort) (string, error) {
		return strings.TrimPrefix(backend.URL, "http://"), nil
	})
	if err != nil {
		return 1, err
	}
	dir, err := os.MkdirTemp("", "ingresslab-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	n, err := ingress.Start(cfg, dir)
	if err != nil {
		return 1, err
	}
	defer n.Stop()
	fmt.Printf("ingresslab: nginx %s (Host llm.local) -> llm-d-inference-sim %s\n", n.URL, backend.URL)

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

// overlayIngress renders the overlay and returns its Ingress.
func overlayIngress(ctx context.Context, dir string) (*networkingv1.Ingress, error) {
	b, err := cluster.Kustomize(ctx, dir)
	if err != nil {
		return nil, err
	}
	objs, err := cluster.Decode(b)
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		if o.GetKind() == "Ingress" {
			var ing networkingv1.Ingress
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &ing); err != nil {
				return nil, fmt.Errorf("ingresslab: %w", err)
			}
			return &ing, nil
		}
	}
	return nil, fmt.Errorf("ingresslab: %s renders no Ingress", dir)
}
