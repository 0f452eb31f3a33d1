package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	// Pace is the backend's token speed measured through the plane; the
	// lessons size their generations from it (ingress.TokensToOutlast).
	Pace ingress.Pace
}

func (in IngressInput) validate() error {
	switch {
	case in.Cluster == nil || in.Namespace == "" || in.Ingress == "":
		return errors.New("e2e: IngressInput: Cluster, Namespace and Ingress must be set")
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
		Skip("no direct route to the backend (set E2E_BACKEND_URL, e.g. a kubectl port-forward to the vllm Service)")
	}
	tokens, err := ingress.TokensToOutlast(bufferedStream, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	// Medians within BufferingTolerance: a bias a buffering proxy misses by
	// hundreds of milliseconds every time, so up to bufferingAttempts tries
	// absorb a noisy machine without hiding it.
	for attempt := 1; ; attempt++ {
		d, i, err := ingress.CheckNotBuffered(ctx, in.Plane.Target(), *in.Direct, BufferingTolerance, max(tokens, 4))
		AddReportEntry("TTFT direct vs through the ingress", fmt.Sprintf("attempt %d: %v vs %v", attempt, d, i))
		if err == nil || attempt == bufferingAttempts {
			Expect(err).NotTo(HaveOccurred())
			return
		}
	}
}

// StashAnnotation holds, as a JSON object, the original value of every
// annotation a lesson spec changed, on the Ingress itself, until the spec
// restores them: a run killed mid-spec (no cleanup ran) is repaired by the
// next run's RestoreIngress. The platform's own Ingress is never left with
// a lesson's value.
const StashAnnotation = "harness.llm-platform.io/original-annotations"

// absent is the stashed value of an annotation that was not set.
const absent = "<absent>"

// LowerAnnotation sets an annotation on the platform's Ingress to a
// lesson's value, stashing the original first, and syncs the data plane.
func LowerAnnotation(ctx context.Context, in IngressInput, key, value string) {
	r := in.Cluster.Client.Resources(in.Namespace)
	var ing networkingv1.Ingress
	Expect(r.Get(ctx, in.Ingress, in.Namespace, &ing)).To(Succeed())
	stash := map[string]string{}
	if v, ok := ing.Annotations[StashAnnotation]; ok {
		Expect(json.Unmarshal([]byte(v), &stash)).To(Succeed(), "annotation %s", StashAnnotation)
	}
	if _, stashed := stash[key]; !stashed {
		orig, ok := ing.Annotations[key]
		if !ok {
			orig = absent
		}
		stash[key] = orig
	}
	b, err := json.Marshal(stash)
	Expect(err).NotTo(HaveOccurred())
	ing.Annotations[StashAnnotation] = string(b)
	ing.Annotations[key] = value
	Expect(r.Update(ctx, &ing)).To(Succeed())
	Expect(in.Plane.Sync(ctx)).To(Succeed())
}

// RestoreIngress puts back every stashed annotation on the Ingress and
// removes the stash; it returns what it restored, as key=value.
func RestoreIngress(ctx context.Context, c *cluster.Cluster, namespace, name string) ([]string, error) {
	r := c.Client.Resources(namespace)
	var ing networkingv1.Ingress
	if err := r.Get(ctx, name, namespace, &ing); err != nil {
		return nil, err
	}
	v, ok := ing.Annotations[StashAnnotation]
	if !ok {
		return nil, nil
	}
	stash := map[string]string{}
	if err := json.Unmarshal([]byte(v), &stash); err != nil {
		return nil, fmt.Errorf("e2e: annotation %s: %w", StashAnnotation, err)
	}
	var restored []string
	for key, orig := range stash {
		if orig == absent {
			delete(ing.Annotations, key)
		} else {
			ing.Annotations[key] = orig
		}
		restored = append(restored, key+"="+orig)
	}
	delete(ing.Annotations, StashAnnotation)
	slices.Sort(restored)
	return restored, r.Update(ctx, &ing)
}

// restore is RestoreIngress plus a data plane sync, failing the spec.
func restore(ctx context.Context, in IngressInput) {
	_, err := RestoreIngress(ctx, in.Cluster, in.Namespace, in.Ingress)
	Expect(err).NotTo(HaveOccurred())
	Expect(in.Plane.Sync(ctx)).To(Succeed())
}

// LoweredReadTimeout is the proxy-read-timeout the 504 lesson sets.
const LoweredReadTimeout = time.Second

// ProxyTimeoutLessonSpec: with the read timeout annotation lowered to
// LoweredReadTimeout, a non-streamed generation sized from the measured
// pace to last several times that ends in 504 (classified http_5xx,
// status 504); with the manifests' value it completes.
func ProxyTimeoutLessonSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	var ing networkingv1.Ingress
	Expect(in.Cluster.Client.Resources(in.Namespace).Get(ctx, in.Ingress, in.Namespace, &ing)).To(Succeed())
	original := ing.Annotations[ingress.AnnotationReadTimeout]
	Expect(original).NotTo(BeEmpty(), "the manifests set %s", ingress.AnnotationReadTimeout)
	tokens, err := ingress.TokensToOutlast(LoweredReadTimeout, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("generation", fmt.Sprintf("%d tokens at a measured %v per token (about %v)", tokens, in.Pace.PerToken, (time.Duration(tokens)*in.Pace.PerToken).Round(time.Millisecond)))

	By(fmt.Sprintf("lowering proxy-read-timeout to %v", LoweredReadTimeout))
	DeferCleanup(func(ctx SpecContext) { restore(ctx, in) })
	LowerAnnotation(ctx, in, ingress.AnnotationReadTimeout, fmt.Sprint(int(LoweredReadTimeout.Seconds())))
	Eventually(func(g Gomega) {
		rec, err := ingress.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		g.Expect(err).To(HaveOccurred())
		g.Expect(rec.Class).To(Equal(record.HTTP5xx))
		g.Expect(rec.Status).To(Equal(504))
	}).WithContext(ctx).WithTimeout(in.Reconfigure).WithPolling(time.Second).Should(Succeed())

	By("restoring the manifests' value, " + original)
	restore(ctx, in)
	Eventually(func(g Gomega) {
		rec, err := ingress.CheckLongGeneration(ctx, in.Plane.Target(), tokens)
		g.Expect(err).NotTo(HaveOccurred())
		AddReportEntry("long generation with proxy-read-timeout "+original, fmt.Sprintf("%d tokens in %v", rec.OutputTokens, rec.End.Sub(rec.Start).Round(time.Millisecond)))
	}).WithContext(ctx).WithTimeout(in.Reconfigure).WithPolling(time.Second).Should(Succeed())
}

// AbortDeadline is the client deadline of the 499 lesson.
const AbortDeadline = 400 * time.Millisecond

// ClientAbortLessonSpec: a client deadline shorter than the generation
// (sized from the pace to last several times the deadline) is the
// harness's client_abort, and nginx's access log says 499 for it.
func ClientAbortLessonSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	if in.Plane.AccessLog() == "" {
		Skip("the controller's access log is not readable from the suite on this cluster")
	}
	tokens, err := ingress.TokensToOutlast(AbortDeadline, in.Pace)
	Expect(err).NotTo(HaveOccurred())
	rec, entry, err := ingress.CheckClientAbort(ctx, in.Plane.Target(), in.Plane.AccessLog(), AbortDeadline, tokens)
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
