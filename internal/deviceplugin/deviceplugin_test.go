package deviceplugin_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"

	"github.com/llm-platform/harness/internal/deviceplugin"
)

// kubelet is the kubelet's side of the registration service, as the
// kubelet serves it on its socket: each RegisterRequest goes to reqs.
type kubelet struct {
	pluginapi.UnimplementedRegistrationServer
	reqs chan *pluginapi.RegisterRequest
	srv  *grpc.Server
}

func (k *kubelet) Register(_ context.Context, r *pluginapi.RegisterRequest) (*pluginapi.Empty, error) {
	k.reqs <- r
	return &pluginapi.Empty{}, nil
}

// startKubelet serves the registration service on dir/kubelet.sock.
func startKubelet(t *testing.T, dir string) *kubelet {
	t.Helper()
	sock := filepath.Join(dir, deviceplugin.KubeletSocket)
	_ = os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	k := &kubelet{reqs: make(chan *pluginapi.RegisterRequest, 4), srv: grpc.NewServer()}
	pluginapi.RegisterRegistrationServer(k.srv, k)
	go func() { _ = k.srv.Serve(ln) }()
	t.Cleanup(k.srv.Stop)
	return k
}

// next waits for the plugin's next registration; done carries Serve's
// result, should it end first.
func (k *kubelet) next(t *testing.T, done <-chan error) *pluginapi.RegisterRequest {
	t.Helper()
	select {
	case r := <-k.reqs:
		return r
	case err := <-done:
		t.Fatalf("Serve ended before registering: %v", err)
	case <-time.After(10 * time.Second): // a bound on a hang, not a timing check
		t.Fatal("the plugin did not register")
	}
	return nil
}

// dial connects to the plugin's socket as the kubelet does.
func dial(t *testing.T, dir, endpoint string) pluginapi.DevicePluginClient {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+filepath.Join(dir, endpoint), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pluginapi.NewDevicePluginClient(conn)
}

// shortDir is a folder whose socket paths fit the 108-byte limit.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "dp")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Registration, ListAndWatch and Allocate as the kubelet drives them, and a
// second registration after the kubelet restarts.
func TestPluginLifecycle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // first registered, so it runs after the test's own cleanups
	dir := shortDir(t)
	k := startKubelet(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg := deviceplugin.Config{Resource: deviceplugin.DefaultResource, Count: 1, Dir: dir, Poll: 20 * time.Millisecond}
	go func() { done <- deviceplugin.Serve(ctx, cfg, nil) }()

	r := k.next(t, done)
	if r.Version != pluginapi.Version || r.ResourceName != "nvidia.com/gpu" || r.Endpoint != "nvidia-gpu.sock" {
		t.Fatalf("registered %+v, want version %s, nvidia.com/gpu at nvidia-gpu.sock", r, pluginapi.Version)
	}
	c := dial(t, dir, r.Endpoint)
	stream, err := c.ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	list, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Devices) != 1 || list.Devices[0].ID != "GPU-lab-0" || list.Devices[0].Health != pluginapi.Healthy {
		t.Fatalf("devices %v, want one Healthy GPU-lab-0", list.Devices)
	}
	resp, err := c.Allocate(ctx, &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"GPU-lab-0"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.ContainerResponses[0].Envs[deviceplugin.VisibleDevices]; got != "GPU-lab-0" {
		t.Errorf("%s=%q, want GPU-lab-0", deviceplugin.VisibleDevices, got)
	}
	if _, err := c.Allocate(ctx, &pluginapi.AllocateRequest{ContainerRequests: []*pluginapi.ContainerAllocateRequest{{DevicesIds: []string{"GPU-other"}}}}); err == nil || !strings.Contains(err.Error(), `unknown device "GPU-other"`) {
		t.Errorf("allocating an unknown device: %v", err)
	}

	// A restarted kubelet: it empties the folder, as the kubelet's
	// CleanupPluginDirectory does, and serves a new socket with no memory
	// of the plugin.
	k.srv.Stop()
	socks, _ := filepath.Glob(filepath.Join(dir, "*.sock"))
	for _, f := range socks {
		_ = os.Remove(f)
	}
	k2 := startKubelet(t, dir)
	if r := k2.next(t, done); r.ResourceName != "nvidia.com/gpu" {
		t.Fatalf("re-registered %+v", r)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, r.Endpoint)); !os.IsNotExist(err) {
		t.Errorf("the plugin's socket is left behind: %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  deviceplugin.Config
		want string
	}{
		{deviceplugin.Config{Resource: "gpu", Count: 1, Dir: "/d"}, `resource "gpu": want a domain-qualified name`},
		{deviceplugin.Config{Resource: "nvidia.com/gpu", Count: 0, Dir: "/d"}, "count 0: must be > 0"},
		{deviceplugin.Config{Resource: "nvidia.com/gpu", Count: 1}, "dir: must name"},
	} {
		err := deviceplugin.Serve(context.Background(), c.cfg, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// With no kubelet yet, the plugin waits; it ends cleanly when told to.
func TestWaitsForTheKubelet(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // first registered, so it runs after the test's own cleanups
	dir := shortDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- deviceplugin.Serve(ctx, deviceplugin.Config{Resource: deviceplugin.DefaultResource, Count: 2, Dir: dir, Poll: 10 * time.Millisecond}, nil)
	}()
	k := startKubelet(t, dir)
	r := k.next(t, done)
	list, err := dial(t, dir, r.Endpoint).ListAndWatch(ctx, &pluginapi.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := list.Recv(); err != nil || len(got.Devices) != 2 {
		t.Fatalf("devices %v, %v: want 2", got, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
