package simtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/sim"
)

// envArgs carries the child's flags, JSON-encoded; its presence makes the
// process a child.
const envArgs = "HARNESS_SIMTEST_ARGS"

// Timeouts for the child's life cycle.
const (
	StartTimeout = 10 * time.Second
	StopTimeout  = 5 * time.Second
)

// ServeIfChild serves the simulator and exits when this process is a child
// started by StartProcess; otherwise it returns at once. Call it first in
// TestMain.
func ServeIfChild() {
	raw, ok := os.LookupEnv(envArgs)
	if !ok {
		return
	}
	if err := serve(raw); err != nil {
		fmt.Fprintln(os.Stderr, "simtest child:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

func serve(raw string) error {
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		return err
	}
	clock.TuneGC(os.Getenv)
	// The parent closes stdin to stop us.
	return sim.Serve(context.Background(), append(args, "-addr", "127.0.0.1:0", "-stdin"), os.Stdin, os.Stdout)
}

// Child is a running simulator process.
type Child struct {
	URL   string
	cmd   *exec.Cmd
	stdin io.Closer
}

// StartProcess serves the simulator configured by args (llmsim's flags, e.g.
// "-preset", "fast") from a child process for tb's lifetime, and returns its
// URL. The test binary's TestMain must call ServeIfChild.
func StartProcess(tb testing.TB, args ...string) string {
	tb.Helper()
	c, err := startChild(args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := c.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return c.URL
}

// startChild launches a child and waits for its URL.
func startChild(args ...string) (*Child, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envArgs+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("simtest: start: %w", err)
	}
	c := &Child{cmd: cmd, stdin: stdin}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case url, ok := <-line:
		if ok && strings.HasPrefix(url, "http://") {
			c.URL = url
			return c, nil
		}
		_ = c.Stop()
		return nil, fmt.Errorf("simtest: child did not report its URL (got %q)", url)
	case <-time.After(StartTimeout):
		_ = c.Stop()
		return nil, errors.New("simtest: child did not start within " + StartTimeout.String())
	}
}

// Stop ends the child: stdin closes, and it is killed if it has not exited
// within StopTimeout.
func (c *Child) Stop() error {
	_ = c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), StopTimeout)
	defer cancel()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = c.cmd.Process.Kill()
		<-done
		return errors.New("simtest: child killed after " + StopTimeout.String())
	}
}
