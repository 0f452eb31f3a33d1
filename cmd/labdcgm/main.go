// Command labdcgm is the lab's stand-in DCGM exporter: on :9400 it serves
// recorded dcgm-exporter output (package replay: an A100 as GPU 0, another
// GPU as GPU 1) with the pod labels the GPU Operator's pod mapping would
// add and the node's host name, so the harness's DCGM source is read from
// a pod on the lab's real node through the API server's service proxy.
// POST /advance moves the A100 to its next recorded instant. It is a
// static Go program so that its image is one file; it exits 0 on SIGTERM
// or SIGINT.
//
//	labdcgm [-listen :9400] [-hostname NODE] [-pod NS/NAME] [-other NS/NAME]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/llm-platform/harness/internal/gpu/dcgm"
	"github.com/llm-platform/harness/internal/gpu/dcgm/replay"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "labdcgm:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("labdcgm", flag.ContinueOnError)
	listen := fs.String("listen", ":9400", "address to serve /metrics on (dcgm-exporter's port)")
	host := fs.String("hostname", "", "the node's name, for the hostname label")
	pod := fs.String("pod", "", "NAMESPACE/NAME of the pod on GPU 0 (the A100); empty: none")
	other := fs.String("other", "", "NAMESPACE/NAME of the pod on GPU 1; empty: none")
	if err := fs.Parse(args); err != nil {
		return err
	}
	n := replay.Node{Hostname: *host}
	for i, v := range []string{*pod, *other} {
		if v == "" {
			continue
		}
		p, err := dcgm.ParseRef(v)
		if err != nil {
			return err
		}
		n.Pods[i] = p
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Addr: *listen, Handler: replay.New(n), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
