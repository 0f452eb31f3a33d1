package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/nginx"
	"github.com/llm-platform/harness/internal/record"
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

// RoutingSpec: host and path reach vLLM; an unknown host is 404; a body
// over the Ingress's limit is 413.
func RoutingSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	t := in.Plane.Target()
	Expect(nginx.CheckModels(ctx, t)).To(Succeed())
	Expect(nginx.CheckChat(ctx, t)).To(Succeed())
	Expect(nginx.CheckUnknownHost(ctx, t)).To(Succeed())
	limit, err := in.Route.BodyLimit(ctx, in.Cluster)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("body limit", fmt.Sprintf("%d bytes, from %s", limit, in.Route.BodyLimitSource()))
	Expect(nginx.CheckBodyLimit(ctx, t, limit)).To(Succeed())
}

// BufferingTolerance is how far TTFT through the ingress may be from TTFT
// direct; the stream lasts many times this (bufferedStream) so a buffering
// proxy, which holds the first token until the stream ends, shows.
const (
	BufferingTolerance = 10 * time.Millisecond
	bufferedStream     = 100 * time.Millisecond
	bufferingAttempts  = 3
)

// NotBufferedSpec: TTFT through the ingress within BufferingTolerance of
// TTFT direct, on a stream sized from the measured pace to last several
// times bufferedStream.
func NotBufferedSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	if in.Direct == nil {
		Skip("no direct route to the backend: the port-forward to the vLLM Service failed and E2E_BACKEND_URL is not set")
	}
	tokens, err := nginx.TokensToOutlast(bufferedStream, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	// Medians within BufferingTolerance: a bias a buffering proxy misses by
	// hundreds of milliseconds every time, so up to bufferingAttempts tries
	// absorb a noisy machine without hiding it.
	for attempt := 1; ; attempt++ {
		d, i, err := nginx.CheckNotBuffered(ctx, in.Plane.Target(), *in.Direct, BufferingTolerance, max(tokens, 4))
		AddReportEntry("TTFT direct vs through the ingress", fmt.Sprintf("attempt %d: %v vs %v", attempt, d, i))
		if err == nil {
			return
		}
		if attempt == bufferingAttempts {
			// The reason first, so a job summary's one line says it.
			Fail(fmt.Sprintf("the route buffers streamed tokens (proxy buffering on?): %v, in each of %d attempts", err, attempt))
		}
	}
}

// LoweredReadTimeout is the proxy read timeout the 504 lesson sets.
const LoweredReadTimeout = time.Second

// ProxyTimeoutLessonSpec: with the route's read timeout (the Ingress's
// proxy-read-timeout annotation, NGF's ProxySettingsPolicy timeout.read,
// or the HTTPRoute's timeouts.request) lowered to LoweredReadTimeout, a
// non-streamed generation sized from the measured pace to last several
// times that ends in 504 (classified http_5xx, status 504); with the
// manifests' value it completes.
func ProxyTimeoutLessonSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	knob, err := in.Route.ReadTimeout()
	Expect(err).NotTo(HaveOccurred())
	original, err := knob.Get(ctx, in.Cluster)
	Expect(err).NotTo(HaveOccurred())
	Expect(original).NotTo(BeEmpty(), "the manifests set %s", knob)
	tokens, err := nginx.TokensToOutlast(LoweredReadTimeout, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("generation", fmt.Sprintf("%d tokens at a measured %v per token (about %v)", tokens, in.Pace.PerToken, (time.Duration(tokens)*in.Pace.PerToken).Round(time.Millisecond)))

	By(fmt.Sprintf("lowering %s to %v", knob, LoweredReadTimeout))
	DeferCleanup(func(ctx SpecContext) { restore(ctx, in) })
	Expect(knob.Set(ctx, in.Cluster, knob.Format(LoweredReadTimeout))).To(Succeed())
	Expect(in.Plane.Sync(ctx)).To(Succeed())
	Eventually(func(g Gomega) {
		rec, err := nginx.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		g.Expect(err).To(HaveOccurred())
		g.Expect(rec.Class).To(Equal(record.HTTP5xx))
		g.Expect(rec.Status).To(Equal(504))
	}).WithContext(ctx).WithTimeout(in.Reconfigure).WithPolling(time.Second).Should(Succeed())

	By("restoring the manifests' value, " + original)
	restore(ctx, in)
	// Polled until the route applies the value; the last error is the
	// reason, first in the failure, so a job summary's one line says it.
	deadline := time.Now().Add(in.Reconfigure)
	for {
		rec, err := nginx.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		if err == nil {
			AddReportEntry(fmt.Sprintf("long generation with %s %s", knob, original), fmt.Sprintf("%d tokens in %v", rec.OutputTokens, rec.End.Sub(rec.Start).Round(time.Millisecond)))
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			Fail(fmt.Sprintf("with the manifests' %s %s a long generation (about %v) must complete, and did not: %v", knob, original, (time.Duration(tokens) * in.Pace.PerToken).Round(time.Millisecond), err))
		}
		time.Sleep(time.Second)
	}
}

// restore puts back every value a lesson changed on the route's objects and
// syncs the data plane, failing the spec.
func restore(ctx context.Context, in IngressInput) {
	_, err := in.Route.Restore(ctx, in.Cluster)
	Expect(err).NotTo(HaveOccurred())
	Expect(in.Plane.Sync(ctx)).To(Succeed())
}

// AbortDeadline is the client deadline of the 499 lesson.
const AbortDeadline = 400 * time.Millisecond

// ClientAbortLessonSpec: a client deadline shorter than the generation
// (sized from the pace to last several times the deadline) is the
// harness's client_abort, and nginx's access log says 499 for it.
func ClientAbortLessonSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	if in.Plane.AccessLog() == nil {
		Skip("the controller's access log is not readable from the suite on this cluster (E2E_CONTROLLER_SELECTOR finds no pod)")
	}
	tokens, err := nginx.TokensToOutlast(AbortDeadline, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	rec, entry, err := nginx.CheckClientAbort(ctx, in.Plane.Target(), in.Plane.AccessLog(), AbortDeadline, tokens)
	AddReportEntry("client abort", fmt.Sprintf("harness: %s after %v; nginx: %d %q after %v", rec.Class, rec.End.Sub(rec.Start).Round(time.Millisecond), entry.Status, entry.Request, entry.RequestTime))
	Expect(err).NotTo(HaveOccurred())
}

// MkdirTemp is os.MkdirTemp for the data plane's folder, failing the spec
// on error.
func MkdirTemp(prefix string) string {
	d, err := os.MkdirTemp("", prefix)
	Expect(err).NotTo(HaveOccurred())
	return d
}
