// Command lab brings the CI lab cluster up or down: the real kube-apiserver,
// kube-scheduler and kube-controller-manager with etcd, run by kwokctl's
// binary runtime, plus kwok's fake nodes (one RTX 3060 GPU node, one CPU
// node), with the Gateway API's and its implementations' CRDs installed.
// `make lab-up` and `make lab-down` run it.
//
//	lab up   -bin .cache/lab-... -crds .cache/lab-crds-... [-name llm-lab] [-apply manifests/overlays/lab]
//	lab down [-name llm-lab]
//
// -apply then runs `kubectl apply -k DIR` against the lab, as the GPU
// workflow applies the platform before it runs the e2e suite.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"github.com/llm-platform/harness/internal/cluster"
)

// upTimeout bounds a bring-up (a warm one takes seconds).
const upTimeout = 5 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "up" && args[0] != "down") {
		return fmt.Errorf("usage: lab up|down [-bin DIR] [-name NAME]")
	}
	fs := flag.NewFlagSet("lab "+args[0], flag.ContinueOnError)
	bin := fs.String("bin", os.Getenv("E2E_LAB_BIN"), "folder of the lab's binaries (make tools)")
	crds := fs.String("crds", os.Getenv("E2E_LAB_CRDS"), "folder of the CRDs the lab installs (make tools)")
	name := fs.String("name", "llm-lab", "lab cluster name")
	apply := fs.String("apply", "", "after bring-up, `kubectl apply -k` this kustomization into the lab")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	cfg := cluster.Config{Kind: cluster.Lab, Name: *name, LabBin: *bin, LabCRDs: *crds}
	if args[0] == "down" {
		if err := cluster.Delete(ctx, cfg); err != nil {
			return err
		}
		fmt.Printf("lab %s deleted\n", *name)
		return nil
	}
	if *crds == "" {
		return fmt.Errorf("lab up: -crds: must name the folder of the lab's CRDs (make tools builds it)")
	}
	began := time.Now()
	c, err := cluster.Open(ctx, cfg)
	if err != nil {
		return err
	}
	if err := c.CreateFile(ctx, cluster.LabNodes); err != nil {
		return err
	}
	if _, err := c.InstallCRDs(ctx, *crds); err != nil {
		return err
	}
	fmt.Printf("lab %s up in %v; kubeconfig %s\n", *name, time.Since(began).Round(time.Millisecond), c.Kubeconfig)
	if *apply != "" {
		cmd := exec.CommandContext(ctx, "kubectl", "--kubeconfig", c.Kubeconfig, "apply", "-k", *apply)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("kubectl apply -k %s: %w", *apply, err)
		}
	}
	return nil
}
