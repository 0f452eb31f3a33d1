package ociimage_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/sim/simtest"
)

// The tarball imports into a real containerd, as the lab loads its images
// (`ctr images import`), and unpacks into its snapshotter.
func TestContainerdImports(t *testing.T) {
	if os.Geteuid() != 0 {
		// Not a missing tool a make target could install: the machine's
		// user. make test runs as root on CI's own machines.
		t.Skip("containerd needs root")
	}
	for _, tool := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(tool); err != nil {
			simtest.Missing(t, tool+" not found (Debian: apt-get install -y containerd; make test-deps installs it as root)")
		}
	}
	dir, err := os.MkdirTemp("", "ctrd") // short: the socket path has a 108-byte limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "containerd.sock")
	conf := filepath.Join(dir, "config.toml")
	// Only what an import needs: content, images, the snapshotter; no CRI.
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	cmd := exec.Command("containerd", "--config", conf)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a bound on a hang
	defer cancel()
	ctr := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "ctr", append([]string{"--address", sock, "--namespace", "k8s.io"}, args...)...).CombinedOutput()
		return string(out), err
	}
	for {
		if _, err := ctr("version"); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("containerd did not start: %s", log.String())
		case <-time.After(50 * time.Millisecond): // polling a starting daemon
		}
	}
	tarFile := filepath.Join(t.TempDir(), "img.tar")
	digest, err := sample(t).WriteTarball(tarFile)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ctr("images", "import", tarFile); err != nil {
		t.Fatalf("ctr images import: %v: %s", err, out)
	}
	out, err := ctr("images", "ls")
	if err != nil {
		t.Fatalf("ctr images ls: %v: %s", err, out)
	}
	if !strings.Contains(out, "lab.local/sim:v1") {
		t.Errorf("containerd's images lack lab.local/sim:v1:\n%s", out)
	}
	if out, err := ctr("content", "ls", "-q"); err != nil || !strings.Contains(out, digest.String()) {
		t.Errorf("containerd's content store lacks the image's config %s (%v):\n%s", digest, err, out)
	}
}
