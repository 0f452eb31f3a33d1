package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/nginx"
)

// DataPlane is what serves the platform's route: the lab's nginx or a real
// cluster's controller (the NGINX Ingress Controller, a Gateway).
type DataPlane interface {
	Target() nginx.Address
	// Sync makes the data plane serve the cluster's current route objects:
	// the lab renders and restarts nginx; a real controller watches by
	// itself.
	Sync(ctx context.Context) error
	// AccessLog is nginx's access log: the lab's file, or the controller's
	// log read through the API server; nil where neither can be read.
	AccessLog() nginx.AccessLog
}

// LabPlane is the lab's data plane: nginx, listening on loopback in the
// lab's network namespace, configured from the route objects in the lab
// cluster (an Ingress with ingress-nginx's semantics, or an HTTPRoute and
// NGF's policies with NGF's), proxying to Backend: the platform Service's
// ClusterIP, which kube-proxy's rules carry on to the pod on the lab's
// real node.
type LabPlane struct {
	Cluster *cluster.Cluster
	Route   Route
	Backend string // host:port the route's Service resolves to (ServiceAddr)
	Model   string
	Dir     string
	nginx   *nginx.Nginx
	listen  string
}

// Sync renders nginx.conf from the cluster's route objects and (re)starts
// nginx.
func (p *LabPlane) Sync(ctx context.Context) error {
	if p.listen == "" {
		addr, err := nginx.FreeAddr()
		if err != nil {
			return err
		}
		p.listen = addr
	}
	cfg, err := p.Route.LabConfig(ctx, p.Cluster, p.listen, p.Backend)
	if err != nil {
		return err
	}
	if p.nginx != nil {
		_ = p.nginx.Stop()
	}
	p.nginx, err = nginx.Start(cfg, p.Dir)
	return err
}

// Target is nginx with Host llm.local.
func (p *LabPlane) Target() nginx.Address {
	return nginx.Address{URL: "http://" + p.listen, Host: "llm.local", Model: p.Model}
}

// AccessLog is nginx's access log.
func (p *LabPlane) AccessLog() nginx.AccessLog {
	return nginx.LogFile(filepath.Join(p.Dir, "access.log"))
}

// Stop stops nginx.
func (p *LabPlane) Stop() {
	if p.nginx != nil {
		_ = p.nginx.Stop()
	}
}

// ExternalPlane is a real cluster's ingress or Gateway at INGRESS_URL.
type ExternalPlane struct {
	T nginx.Address
	// Log is the controller's access log (ControllerLog), nil where the
	// suite is not to read it.
	Log nginx.AccessLog
}

func (p ExternalPlane) Target() nginx.Address      { return p.T }
func (p ExternalPlane) Sync(context.Context) error { return nil }
func (p ExternalPlane) AccessLog() nginx.AccessLog { return p.Log }

// IngressInput is what the route scenarios need.
type IngressInput struct {
	Cluster *cluster.Cluster
	Route   Route
	Plane   DataPlane
	// Direct reaches the backend without the ingress (the lab: the pod's
	// address; a real cluster: a port-forward through the API server, or
	// E2E_BACKEND_URL); nil skips the buffering spec.
	Direct *nginx.Address
	// Reconfigure bounds how long a changed setting may take to apply.
	Reconfigure time.Duration
	// Pace is the backend's token speed measured through the plane; the
	// lessons size their generations from it (ingress.TokensToOutlast).
	Pace nginx.Generation
}

func (in IngressInput) validate() error {
	switch {
	case in.Cluster == nil:
		return errors.New("e2e: IngressInput.Cluster: must be set")
	case in.Route.validate() != nil:
		return in.Route.validate()
	case in.Plane == nil:
		return errors.New("e2e: IngressInput.Plane: must be set")
	case in.Reconfigure <= 0:
		return errors.New("e2e: IngressInput.Reconfigure: must be > 0")
	case in.Pace.PerToken <= 0:
		return errors.New("e2e: IngressInput.Pace: measure it first (ingress.MeasurePace)")
	}
	return nil
}

// BufferingTolerance is how far TTFT through the ingress may be from TTFT
// direct; the stream lasts many times this (bufferedStream) so a buffering
// proxy, which holds the first token until the stream ends, shows.
const (
	BufferingTolerance = 10 * time.Millisecond
	bufferedStream     = 100 * time.Millisecond
	bufferingAttempts  = 3
)

// LoweredReadTimeout is the proxy read timeout the 504 lesson sets.
const LoweredReadTimeout = time.Second

// restore puts back every value a lesson changed on the route's objects and
// syncs the data plane, failing the spec.
func restore(ctx context.Context, in IngressInput) {
	_, err := in.Route.Restore(ctx, in.Cluster)
	Expect(err).NotTo(HaveOccurred())
	Expect(in.Plane.Sync(ctx)).To(Succeed())
}

// AbortDeadline is the client deadline of the 499 lesson.
const AbortDeadline = 400 * time.Millisecond

// MkdirTemp is os.MkdirTemp for the data plane's folder, failing the spec
// on error.
func MkdirTemp(prefix string) string {
	d, err := os.MkdirTemp("", prefix)
	Expect(err).NotTo(HaveOccurred())
	return d
}
