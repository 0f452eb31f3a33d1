// Command lab brings the CI lab cluster up or down: the real kube-apiserver,
// kube-scheduler and kube-controller-manager with etcd, run by kwokctl's
// binary runtime, plus kwok's fake nodes (one RTX 3060 GPU node, one CPU
// node), with the Gateway API's and its implementations' CRDs installed.
// `make lab-up` and `make lab-down` run it.
//
//	lab up     -bin .cache/lab-... -crds .cache/lab-crds-... [-name llm-lab] [-apply manifests/overlays/lab] [-node-dir DIR -images a.tar,b.tar]
//	lab down   [-name llm-lab] [-node-dir DIR]
//	lab netns  [-name llm-lab]
//	lab images -out DIR -pause BIN [-labgpu BIN] [-llmd BIN] [-lablog BIN] [-labdcgm BIN] [-llmload BIN]
//
// -apply then runs `kubectl apply -k DIR` against the lab, as the GPU
// workflow applies the platform before it runs the e2e suite.
//
// With -node-dir the lab also gets a real node (internal/labnode:
// containerd, kubelet, kube-proxy) kept in that folder, importing -images.
// Such a lab lives in a network namespace of its own: `lab netns` makes it
// (as root), and `lab up` must then run inside it (nsenter --net=...), as
// must everything that talks to the lab; `lab down` removes it all, from
// anywhere, whatever state the lab was left in. `lab images` builds the
// real node's images from static binaries.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/ociimage"
	"github.com/llm-platform/harness/internal/worker"
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
	if len(args) == 0 || !slices.Contains([]string{"up", "down", "netns", "images"}, args[0]) {
		return fmt.Errorf("usage: lab up|down|netns|images [flags]")
	}
	if args[0] == "images" {
		return images(args[1:])
	}
	fs := flag.NewFlagSet("lab "+args[0], flag.ContinueOnError)
	bin := fs.String("bin", os.Getenv("E2E_LAB_BIN"), "folder of the lab's binaries (make tools)")
	crds := fs.String("crds", os.Getenv("E2E_LAB_CRDS"), "folder of the CRDs the lab installs (make tools)")
	name := fs.String("name", "llm-lab", "lab cluster name")
	apply := fs.String("apply", "", "after bring-up, `kubectl apply -k` this kustomization into the lab")
	nodeDir := fs.String("node-dir", "", "give the lab a real node kept in this folder (as root, in the lab's namespace)")
	imgs := fs.String("images", "", "comma-separated image tarballs the real node imports")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	cfg := cluster.Config{Kind: cluster.Lab, Name: *name, LabBin: *bin, LabCRDs: *crds, LabDir: *nodeDir}
	if *imgs != "" {
		cfg.LabImages = strings.Split(*imgs, ",")
	}
	if cfg.LabDir != "" && !filepath.IsAbs(cfg.LabDir) {
		return fmt.Errorf("-node-dir %q: want an absolute path", cfg.LabDir)
	}
	node := labnode.Config{Name: *name, Dir: cfg.LabDir}
	if args[0] == "netns" {
		if err := labnode.Preflight(); err != nil {
			return err
		}
		if err := labnode.CreateNetns(ctx, node); err != nil {
			return err
		}
		fmt.Println(node.NetnsPath())
		return nil
	}
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

// images writes the real node's image tarballs into -out: the sandbox
// (labnode.PauseImage), and, when given, the device plugin and
// llm-d-inference-sim, each one static binary.
func images(args []string) error {
	fs := flag.NewFlagSet("lab images", flag.ContinueOnError)
	out := fs.String("out", "", "folder for the tarballs")
	pause := fs.String("pause", "", "static labpause binary")
	labgpu := fs.String("labgpu", "", "static labgpu binary")
	llmd := fs.String("llmd", "", "static llm-d-inference-sim binary (CGO_ENABLED=0)")
	lablog := fs.String("lablog", "", "static lablog binary (the stand-in ingress controller's pod)")
	labdcgm := fs.String("labdcgm", "", "static labdcgm binary (the stand-in DCGM exporter's pod)")
	llmload := fs.String("llmload", "", "static llmload binary: the distributed sweep's worker image ("+worker.Image+")")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *pause == "" && *llmload == "" {
		return fmt.Errorf("lab images: -out and -pause (or -llmload alone) are required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	for _, im := range []struct{ ref, bin, file string }{
		{labnode.PauseImage, *pause, "pause"}, {labnode.LabGPUImage, *labgpu, "labgpu"}, {labnode.LLMDImage, *llmd, "llm-d-inference-sim"},
		{labnode.LabLogImage, *lablog, "lablog"}, {labnode.LabDCGMImage, *labdcgm, "labdcgm"}, {worker.Image, *llmload, "llmload"},
	} {
		if im.bin == "" {
			continue
		}
		path := "/" + im.file
		id, err := ociimage.Image{Ref: im.ref, Files: []ociimage.File{{Path: path, Source: im.bin}}, Entrypoint: []string{path}}.
			WriteTarball(filepath.Join(*out, im.file+".tar"))
		if err != nil {
			return err
		}
		fmt.Printf("%s %s\n", im.ref, id)
	}
	return nil
}
