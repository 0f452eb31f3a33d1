// Package llmd runs llm-d-inference-sim, the independent vLLM simulator
// llm-d uses for GPU-less CI, as a child process on a free loopback port.
// The harness cross-checks its engine against it and puts it behind the lab
// ingress; `make tools` builds it (tools/go.mod).
package llmd

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"time"

	"github.com/llm-platform/harness/internal/openai"
)

// StartTimeout bounds its start-up.
const StartTimeout = 20 * time.Second

// Process is a running llm-d-inference-sim.
type Process struct {
	URL  string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

// Start runs bin with args (its own flags, e.g. --model, --time-to-first-token)
// on a free loopback port and waits until /v1/models answers.
func Start(ctx context.Context, bin string, args ...string) (*Process, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &Process{URL: "http://127.0.0.1:" + strconv.Itoa(port)}
	p.cmd = exec.Command(bin, append([]string{"--port", strconv.Itoa(port)}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.logs, &p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("llmd: start %s: %w", bin, err)
	}
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := openai.ListModels(ctx, &http.Client{Timeout: time.Second}, openai.Endpoint{BaseURL: p.URL}); err == nil {
			return p, nil
		}
		select {
		case <-ctx.Done():
			p.Stop()
			return nil, fmt.Errorf("llmd: not ready within %v: %s", StartTimeout, p.logs.String())
		case <-tick.C:
		}
	}
}

// Logs is what it printed.
func (p *Process) Logs() string { return p.logs.String() }

// Stop kills it and waits.
func (p *Process) Stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}
