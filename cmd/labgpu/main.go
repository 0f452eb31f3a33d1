// Command labgpu is the lab's stand-in for NVIDIA's device plugin
// (internal/deviceplugin): it registers nvidia.com/gpu devices with the
// kubelet through the device-plugin API, answers Allocate with
// NVIDIA_VISIBLE_DEVICES, and re-registers when the kubelet restarts. It
// runs as NVIDIA's plugin does, in a DaemonSet pod with a hostPath to the
// kubelet's device-plugin folder, and stops on SIGTERM or SIGINT.
//
//	labgpu [-resource nvidia.com/gpu] [-count 1] [-dir /var/lib/kubelet/device-plugins]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/llm-platform/harness/internal/deviceplugin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "labgpu:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("labgpu", flag.ContinueOnError)
	cfg := deviceplugin.Config{}
	fs.StringVar(&cfg.Resource, "resource", deviceplugin.DefaultResource, "extended resource to advertise")
	fs.IntVar(&cfg.Count, "count", 1, "devices to advertise")
	fs.StringVar(&cfg.Dir, "dir", "/var/lib/kubelet/device-plugins", "the kubelet's device-plugin folder (holds kubelet.sock)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	fmt.Fprintf(out, "labgpu: %d x %s (%v), waiting for the kubelet at %s/%s\n", cfg.Count, cfg.Resource, cfg.DeviceIDs(), cfg.Dir, deviceplugin.KubeletSocket)
	return deviceplugin.Serve(ctx, cfg, func() { fmt.Fprintf(out, "labgpu: registered %s with the kubelet\n", cfg.Resource) })
}
