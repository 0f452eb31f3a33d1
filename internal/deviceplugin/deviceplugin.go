// Package deviceplugin is the lab's stand-in for NVIDIA's Kubernetes device
// plugin: a kubelet device plugin on the device-plugin API v1beta1 (the
// kubelet's own gRPC socket, k8s.io/kubelet's generated types) that
// advertises a fixed number of nvidia.com/gpu devices and answers Allocate
// the way NVIDIA's plugin does in its default envvar mode, by naming the
// devices it gave in NVIDIA_VISIBLE_DEVICES. There is no GPU behind it: it
// exists so a lab node's allocatable GPU comes from the kubelet's real path
// (registration, ListAndWatch, Allocate at container creation), not from a
// patched Node status.
package deviceplugin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pluginapi "k8s.io/kubelet/pkg/apis/deviceplugin/v1beta1"
)

// The defaults match NVIDIA's plugin.
const (
	DefaultResource = "nvidia.com/gpu"
	// VisibleDevices is the variable NVIDIA's container runtime reads to
	// expose GPUs to a container.
	VisibleDevices = "NVIDIA_VISIBLE_DEVICES"
	// KubeletSocket is the kubelet's registration socket, in Dir.
	KubeletSocket = "kubelet.sock"
)

// Config is one plugin's settings.
type Config struct {
	// Resource is the extended resource advertised (DefaultResource).
	Resource string
	// Count is how many devices to advertise (> 0).
	Count int
	// Dir is the kubelet's device-plugin folder: it holds KubeletSocket,
	// and the plugin's own socket is created there (the kubelet dials it
	// by its name under this folder).
	Dir string
	// Poll is how often the plugin checks that its socket is still there
	// (a restarting kubelet removes it and forgets every plugin); zero
	// takes one second.
	Poll time.Duration
}

// Validate names the first invalid field.
func (c Config) Validate() error {
	domain, name, ok := strings.Cut(c.Resource, "/")
	switch {
	case !ok || domain == "" || name == "" || !strings.Contains(domain, "."):
		return fmt.Errorf("deviceplugin: resource %q: want a domain-qualified name such as %s", c.Resource, DefaultResource)
	case c.Count <= 0:
		return fmt.Errorf("deviceplugin: count %d: must be > 0", c.Count)
	case c.Dir == "":
		return errors.New("deviceplugin: dir: must name the kubelet's device-plugin folder")
	}
	return nil
}

// DeviceIDs are the IDs the plugin advertises: GPU-lab-0, GPU-lab-1, ...
// (NVIDIA's are GPU UUIDs, "GPU-" and a UUID).
func (c Config) DeviceIDs() []string {
	ids := make([]string, c.Count)
	for i := range ids {
		ids[i] = fmt.Sprintf("GPU-lab-%d", i)
	}
	return ids
}

// socketName is the plugin's socket in Dir, named after the resource as
// NVIDIA's is (nvidia-gpu.sock).
func (c Config) socketName() string {
	return strings.NewReplacer("/", "-", ".com", "").Replace(c.Resource) + ".sock"
}

// server implements the device-plugin service.
type server struct {
	pluginapi.UnimplementedDevicePluginServer
	cfg  Config
	stop chan struct{}
}

func (s *server) GetDevicePluginOptions(context.Context, *pluginapi.Empty) (*pluginapi.DevicePluginOptions, error) {
	return &pluginapi.DevicePluginOptions{}, nil
}

// ListAndWatch sends every device as Healthy once, then holds the stream
// open until the plugin stops (the kubelet reads a closed stream as the
// plugin gone, and its devices unhealthy).
func (s *server) ListAndWatch(_ *pluginapi.Empty, stream grpc.ServerStreamingServer[pluginapi.ListAndWatchResponse]) error {
	var devs []*pluginapi.Device
	for _, id := range s.cfg.DeviceIDs() {
		devs = append(devs, &pluginapi.Device{ID: id, Health: pluginapi.Healthy})
	}
	if err := stream.Send(&pluginapi.ListAndWatchResponse{Devices: devs}); err != nil {
		return err
	}
	select {
	case <-stream.Context().Done():
	case <-s.stop:
	}
	return nil
}

// Allocate answers each container's request with the devices it was given,
// in NVIDIA_VISIBLE_DEVICES, and refuses an ID it never advertised.
func (s *server) Allocate(_ context.Context, req *pluginapi.AllocateRequest) (*pluginapi.AllocateResponse, error) {
	known := s.cfg.DeviceIDs()
	resp := &pluginapi.AllocateResponse{}
	for _, c := range req.ContainerRequests {
		for _, id := range c.DevicesIds {
			if !slices.Contains(known, id) {
				return nil, fmt.Errorf("deviceplugin: allocate: unknown device %q (have %s)", id, strings.Join(known, ", "))
			}
		}
		resp.ContainerResponses = append(resp.ContainerResponses, &pluginapi.ContainerAllocateResponse{
			Envs: map[string]string{VisibleDevices: strings.Join(c.DevicesIds, ",")},
		})
	}
	return resp, nil
}

func (s *server) PreStartContainer(context.Context, *pluginapi.PreStartContainerRequest) (*pluginapi.PreStartContainerResponse, error) {
	return &pluginapi.PreStartContainerResponse{}, nil
}

// Serve runs the plugin until ctx ends: it serves on its socket in Dir,
// registers with the kubelet, and serves and registers again whenever the
// kubelet's socket is replaced (a kubelet restart removes every plugin
// socket and forgets every registration). registered, when not nil, is
// called after each registration.
func Serve(ctx context.Context, cfg Config, registered func()) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	for {
		if !waitForKubelet(ctx, cfg) {
			return nil
		}
		err := serveOnce(ctx, cfg, registered)
		if ctx.Err() != nil {
			return nil // told to stop, possibly mid-registration
		}
		if err != nil {
			return err
		}
	}
}

// waitForKubelet waits for the kubelet's socket; false when ctx ends first.
func waitForKubelet(ctx context.Context, cfg Config) bool {
	for {
		if _, err := os.Stat(filepath.Join(cfg.Dir, KubeletSocket)); err == nil {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(cfg.Poll):
		}
	}
}

// serveOnce serves on the plugin's socket and registers with the kubelet,
// until ctx ends (nil) or the socket is removed (nil, for Serve to start
// over): a starting kubelet empties the folder (its
// CleanupPluginDirectory), our socket included, and forgets every
// registration, so that removal is how a kubelet restart shows.
func serveOnce(ctx context.Context, cfg Config, registered func()) error {
	sock := filepath.Join(cfg.Dir, cfg.socketName())
	_ = os.Remove(sock) // a socket left by an earlier run
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return fmt.Errorf("deviceplugin: %w", err)
	}
	srv := &server{cfg: cfg, stop: make(chan struct{})}
	g := grpc.NewServer()
	pluginapi.RegisterDevicePluginServer(g, srv)
	var wg sync.WaitGroup
	wg.Go(func() { _ = g.Serve(ln) })
	defer func() {
		close(srv.stop)
		g.Stop()
		wg.Wait()
		_ = os.Remove(sock)
	}()
	if err := registerRetrying(ctx, cfg); err != nil {
		return err
	}
	if registered != nil {
		registered()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Poll):
		}
		if _, err := os.Stat(sock); err != nil {
			return nil // the kubelet restarted: serve and register again
		}
	}
}

// RegisterTimeout bounds the retries of a registration: a kubelet's socket
// exists from bind(2), and refuses connections until listen(2) a moment
// later.
const RegisterTimeout = 30 * time.Second

func registerRetrying(ctx context.Context, cfg Config) error {
	deadline := time.Now().Add(RegisterTimeout)
	for {
		err := register(ctx, cfg)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(cfg.Poll):
		}
	}
}

// register tells the kubelet about the plugin, over its socket.
func register(ctx context.Context, cfg Config) error {
	conn, err := grpc.NewClient("unix://"+filepath.Join(cfg.Dir, KubeletSocket), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("deviceplugin: kubelet socket: %w", err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = pluginapi.NewRegistrationClient(conn).Register(ctx, &pluginapi.RegisterRequest{
		Version: pluginapi.Version, Endpoint: cfg.socketName(), ResourceName: cfg.Resource,
		Options: &pluginapi.DevicePluginOptions{},
	})
	if err != nil {
		return fmt.Errorf("deviceplugin: register %s with the kubelet: %w", cfg.Resource, err)
	}
	return nil
}
