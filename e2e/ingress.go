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
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/ingress"
	"github.com/llm-platform/harness/internal/record"
)

// DataPlane is what serves the platform's Ingress: the lab's nginx or a
// real cluster's NGINX Ingress Controller.
type DataPlane interface {
	Target() ingress.Target
	// Sync makes the data plane serve the cluster's current Ingress: the
	// lab renders and restarts nginx; a real controller watches by itself.
	Sync(ctx context.Context) error
	// AccessLog is nginx's access log, "" where the suite cannot read it.
	AccessLog() string
}

// LabPlane is the lab's data plane: nginx on loopback, configured from the
// Ingress object in the lab cluster, proxying to a vLLM-compatible server
// on loopback that stands in for the Service's pods.
type LabPlane struct {
	Cluster   *cluster.Cluster
	Namespace string
	Ingress   string // name
	Backend   string // host:port standing in for every Service
	Model     string
	Dir       string
	nginx     *ingress.Nginx
	listen    string
}

// Sync renders nginx.conf from the cluster's Ingress and (re)starts nginx.
func (p *LabPlane) Sync(ctx context.Context) error {
	var ing networkingv1.Ingress
	if err := p.Cluster.Client.Resources(p.Namespace).Get(ctx, p.Ingress, p.Namespace, &ing); err != nil {
		return err
	}
	if p.listen == "" {
		addr, err := ingress.FreeAddr()
		if err != nil {
			return err
		}
		p.listen = addr
	}
	cfg, err := ingress.FromIngress(&ing, p.listen, func(string, networkingv1.ServiceBackendPort) (string, error) { return p.Backend, nil })
	if err != nil {
		return err
	}
	if p.nginx != nil {
		_ = p.nginx.Stop()
	}
	p.nginx, err = ingress.Start(cfg, p.Dir)
	return err
}

// Target is nginx with Host llm.local.
func (p *LabPlane) Target() ingress.Target {
	return ingress.Target{URL: "http://" + p.listen, Host: "llm.local", Model: p.Model}
}

// AccessLog is nginx's access log.
func (p *LabPlane) AccessLog() string { return filepath.Join(p.Dir, "access.log") }

// Stop stops nginx.
func (p *LabPlane) Stop() {
	if p.nginx != nil {
		_ = p.nginx.Stop()
	}
}

// ExternalPlane is a real cluster's ingress at INGRESS_URL.
type ExternalPlane struct{ T ingress.Target }

func (p ExternalPlane) Target() ingress.Target     { return p.T }
func (p ExternalPlane) Sync(context.Context) error { return nil }
func (p ExternalPlane) AccessLog() string          { return "" }

// IngressInput is what the ingress scenarios need.
type IngressInput struct {
	Cluster   *cluster.Cluster
	Namespace string
	Ingress   string // the platform's Ingress name
	Plane     DataPlane
	// Direct reaches the backend without the ingress; nil where it cannot
	// be reached (a real cluster's pods), which skips the buffering spec.
	Direct *ingress.Target
	// Reconfigure bounds how long a changed annotation may take to apply.
	Reconfigure time.Duration
}

func (in IngressInput) validate() error {
	switch {
	case in.Cluster == nil || in.Namespace == "" || in.Ingress == "":
		return errors.New("e2e: IngressInput: Cluster, Namespace and Ingress must be set")
	case in.Plane == nil:
		return errors.New("e2e: IngressInput.Plane: must be set")
	case in.Reconfigure <= 0:
		return errors.New("e2e: IngressInput.Reconfigure: must be > 0")
	}
	return nil
}

// RoutingSpec: host and path reach vLLM; an unknown host is 404; a body
// over the Ingress's limit is 413.
func RoutingSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	t := in.Plane.Target()
	Expect(ingress.CheckModels(ctx, t)).To(Succeed())
	Expect(ingress.CheckChat(ctx, t)).To(Succeed())
	Expect(ingress.CheckUnknownHost(ctx, t)).To(Succeed())
	var ing networkingv1.Ingress
	Expect(in.Cluster.Client.Resources(in.Namespace).Get(ctx, in.Ingress, in.Namespace, &ing)).To(Succeed())
	limit, err := bodyLimit(ing.Annotations[ingress.AnnotationBodySize])
	Expect(err).NotTo(HaveOccurred())
	Expect(ingress.CheckBodyLimit(ctx, t, limit)).To(Succeed())
}

// bodyLimit parses an nginx size ("8m") into bytes.
func bodyLimit(v string) (int, error) {
	if v == "" {
		v = ingress.DefaultBodySize
	}
	mult := map[byte]int{'k': 1 << 10, 'K': 1 << 10, 'm': 1 << 20, 'M': 1 << 20, 'g': 1 << 30, 'G': 1 << 30}
	n, unit := v, 1
	if m, ok := mult[v[len(v)-1]]; ok {
		n, unit = v[:len(v)-1], m
	}
	var x int
	if _, err := fmt.Sscanf(n, "%d", &x); err != nil {
		return 0, fmt.Errorf("e2e: body size %q: %w", v, err)
	}
	return x * unit, nil
}

// NotBufferedSpec: TTFT through the ingress within 10 ms of TTFT direct,
// on a stream whose tokens are 100 ms apart.
func NotBufferedSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	if in.Direct == nil {
		Skip("no direct route to the backend (set E2E_BACKEND_URL, e.g. a kubectl port-forward to the vllm Service)")
	}
	d, i, err := ingress.CheckNotBuffered(ctx, in.Plane.Target(), *in.Direct, 10*time.Millisecond)
	AddReportEntry("TTFT direct vs through the ingress", fmt.Sprintf("%v vs %v", d, i))
	Expect(err).NotTo(HaveOccurred())
}

// setAnnotation sets (or, with "", removes) an annotation on the Ingress.
func setAnnotation(ctx context.Context, in IngressInput, key, value string) {
	r := in.Cluster.Client.Resources(in.Namespace)
	var ing networkingv1.Ingress
	Expect(r.Get(ctx, in.Ingress, in.Namespace, &ing)).To(Succeed())
	if value == "" {
		delete(ing.Annotations, key)
	} else {
		ing.Annotations[key] = value
	}
	Expect(r.Update(ctx, &ing)).To(Succeed())
	Expect(in.Plane.Sync(ctx)).To(Succeed())
}

// ProxyTimeoutLessonSpec: with the read timeout annotation shorter than a
// generation, the request ends in 504 (classified http_5xx, status 504);
// with the manifests' value it completes.
func ProxyTimeoutLessonSpec(ctx context.Context, inputGetter func() IngressInput, tokens int) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	var ing networkingv1.Ingress
	Expect(in.Cluster.Client.Resources(in.Namespace).Get(ctx, in.Ingress, in.Namespace, &ing)).To(Succeed())
	original := ing.Annotations[ingress.AnnotationReadTimeout]
	Expect(original).NotTo(BeEmpty(), "the manifests set %s", ingress.AnnotationReadTimeout)

	By("lowering proxy-read-timeout to 1 s")
	setAnnotation(ctx, in, ingress.AnnotationReadTimeout, "1")
	DeferCleanup(func(ctx SpecContext) { setAnnotation(ctx, in, ingress.AnnotationReadTimeout, original) })
	Eventually(func(g Gomega) {
		rec, err := ingress.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		g.Expect(err).To(HaveOccurred())
		g.Expect(rec.Class).To(Equal(record.HTTP5xx))
		g.Expect(rec.Status).To(Equal(504))
	}).WithContext(ctx).WithTimeout(in.Reconfigure).WithPolling(time.Second).Should(Succeed())

	By("restoring the manifests' value, " + original)
	setAnnotation(ctx, in, ingress.AnnotationReadTimeout, original)
	Eventually(func(g Gomega) {
		rec, err := ingress.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		g.Expect(err).NotTo(HaveOccurred())
		AddReportEntry("long generation with proxy-read-timeout "+original, fmt.Sprintf("%d tokens in %v", rec.OutputTokens, rec.End.Sub(rec.Start).Round(time.Millisecond)))
	}).WithContext(ctx).WithTimeout(in.Reconfigure).WithPolling(time.Second).Should(Succeed())
}

// ClientAbortLessonSpec: a client deadline shorter than the generation is
// the harness's client_abort, and nginx's access log says 499 for it.
func ClientAbortLessonSpec(ctx context.Context, inputGetter func() IngressInput, tokens int) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	if in.Plane.AccessLog() == "" {
		Skip("the controller's access log is not readable from the suite on this cluster")
	}
	rec, entry, err := ingress.CheckClientAbort(ctx, in.Plane.Target(), in.Plane.AccessLog(), 400*time.Millisecond, tokens)
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
