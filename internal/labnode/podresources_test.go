package labnode_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/labnode"
)

// A socket whose path is longer than sun_path holds (as one under a deep
// checkout's lab folder is) is still reached. The listener is made
// through the same descriptor route, since bind has the same limit.
func TestDialUnixLongPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("deep-folder-", 10))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "kubelet.sock")
	if len(sock) < 108 {
		t.Fatalf("the path is %d bytes: the test needs one over 107", len(sock))
	}
	if _, err := net.Listen("unix", sock); err == nil {
		t.Fatal("bind on a path over 107 bytes succeeded: the premise of DialUnix is wrong")
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, err := net.Listen("unix", fmt.Sprintf("/proc/self/fd/%d/kubelet.sock", d.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			_, _ = c.Write([]byte("hello"))
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := labnode.DialUnix(ctx, sock)
	if err != nil {
		t.Fatalf("DialUnix(%d-byte path): %v", len(sock), err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "hello" {
		t.Errorf("read %q, %v", b, err)
	}
	if _, err := labnode.DialUnix(ctx, filepath.Join(dir, "none.sock")); err == nil {
		t.Error("DialUnix to a missing socket succeeded")
	}
}
