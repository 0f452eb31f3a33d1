package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/onsi/ginkgo/v2/reporters"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient/wait"
	"sigs.k8s.io/e2e-framework/klient/wait/conditions"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"

	"github.com/llm-platform/harness/e2e"
	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/labingress"
	"github.com/llm-platform/harness/internal/labnode"
)

// settings are every variable the suite reads (documented in
// docs/e2e.md), read once, in load: specs take them from here.
type settings struct {
	cluster   cluster.Config
	overlay   string // manifests/overlays/<overlay>
	reportDir string
	timeouts  e2e.Timeouts
	// route is how traffic reaches vLLM: e2e.RouteIngress or RouteGateway.
	route string
	// platformNamespace is where an already deployed platform is looked
	// for (and verified in place when found).
	platformNamespace string
	// clusterNamed says E2E_CLUSTER was set: without it and without a
	// kubeconfig, the suite skips rather than fails.
	clusterNamed bool
	// ingressURL and ingressHost address a real cluster's ingress or
	// Gateway; caFile is its private CA; backendURL the backend direct.
	ingressURL, ingressHost, caFile, backendURL string
	// controller overrides where the route's controller and its access
	// log are found (each "" keeps the route's default).
	controllerNamespace, controllerSelector, controllerContainer string
	// devicePluginSelector labels the cluster's NVIDIA device plugin pods.
	devicePluginSelector string
	// reconfigure bounds the wait for a controller to apply a changed
	// route; gatewayStatus the wait for the Gateway's status.
	reconfigure, gatewayStatus time.Duration
	// requireLessons fails the run when a lesson spec skipped itself.
	requireLessons bool
}

// reader reads environment variables, keeping the first error.
type reader struct{ err error }

func (r *reader) str(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func (r *reader) duration(k string, def time.Duration) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(fmt.Errorf("%s: %q: want a duration above 0 (90s, 2m)", k, v))
		return def
	}
	return d
}

func (r *reader) integer(k string, def int) int {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		r.fail(fmt.Errorf("%s: %q: want a whole number > 0", k, v))
		return def
	}
	return n
}

func (r *reader) flag(k string) bool { return os.Getenv(k) == "1" }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// repoRoot is the repository root (go test runs this binary in e2e/).
func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

func load() (s settings, err error) {
	var r reader
	kind := cluster.Kind(r.str("E2E_CLUSTER", string(cluster.Existing)))
	s.clusterNamed = os.Getenv("E2E_CLUSTER") != ""
	name := "llm-lab"
	if kind == cluster.Minikube {
		name = cluster.DefaultMinikubeProfile
	}
	s.cluster = cluster.Config{Kind: kind, Kubeconfig: r.str("E2E_KUBECONFIG", ""), Context: r.str("E2E_CONTEXT", ""),
		Name: r.str("E2E_CLUSTER_NAME", name), LabBin: r.str("E2E_LAB_BIN", ""), LabCRDs: r.str("E2E_LAB_CRDS", ""),
		MinikubeCPUs: r.integer("E2E_MINIKUBE_CPUS", cluster.DefaultMinikubeCPUs), MinikubeMemory: r.str("E2E_MINIKUBE_MEMORY", cluster.DefaultMinikubeMemory),
		MinikubeKubernetes: r.str("E2E_MINIKUBE_KUBERNETES_VERSION", cluster.DefaultMinikubeKubernetes), MinikubeAnyVersion: r.flag("E2E_MINIKUBE_ALLOW_ANY_VERSION")}
	s.ingressURL, s.ingressHost = r.str("INGRESS_URL", ""), r.str("INGRESS_HOST", "llm.local")
	s.caFile, s.backendURL = r.str("E2E_CA_FILE", ""), r.str("E2E_BACKEND_URL", "")
	s.controllerNamespace, s.controllerSelector = r.str("E2E_CONTROLLER_NAMESPACE", ""), r.str("E2E_CONTROLLER_SELECTOR", "")
	s.controllerContainer = r.str("E2E_CONTROLLER_CONTAINER", "")
	s.devicePluginSelector = r.str("E2E_DEVICE_PLUGIN_SELECTOR", "")
	s.reconfigure = r.duration("E2E_INGRESS_RECONFIGURE_TIMEOUT", 2*time.Minute)
	s.gatewayStatus = r.duration("E2E_GATEWAY_STATUS_TIMEOUT", 2*time.Minute)
	s.requireLessons = r.flag("E2E_REQUIRE_LESSONS")
	s.platformNamespace = r.str("E2E_PLATFORM_NAMESPACE", "llm")
	s.route = r.str("E2E_ROUTE", e2e.RouteIngress)
	// The default overlay per cluster and route: the Gateway path is NGINX
	// Gateway Fabric's (the lab renders NGF's semantics).
	def := map[string]string{e2e.RouteIngress: "minikube-gpu", e2e.RouteGateway: "minikube-gpu-ngf"}[s.route]
	if kind == cluster.Lab {
		def = map[string]string{e2e.RouteIngress: "lab", e2e.RouteGateway: "lab-gateway"}[s.route]
	}
	if def == "" {
		return s, fmt.Errorf("E2E_ROUTE: %q: want %s or %s", s.route, e2e.RouteIngress, e2e.RouteGateway)
	}
	// E2E_OVERLAY names an overlay under manifests/overlays, or the folder
	// of a kustomization of one's own (a path: it holds a /), as applied.
	s.overlay = r.str("E2E_OVERLAY", def)
	// A relative path is the repository's (the suite runs in e2e/); one of
	// manifests/overlays is that overlay's name.
	if strings.Contains(s.overlay, "/") {
		if !filepath.IsAbs(s.overlay) {
			s.overlay = filepath.Join(repoRoot(), s.overlay)
		}
		if filepath.Dir(s.overlay) == filepath.Join(repoRoot(), "manifests", "overlays") {
			s.overlay = filepath.Base(s.overlay)
		}
	}
	s.reportDir = r.str("E2E_REPORT_DIR", filepath.Join(repoRoot(), "reports", "e2e"))
	if !filepath.IsAbs(s.reportDir) {
		s.reportDir = filepath.Join(repoRoot(), s.reportDir)
	}
	s.timeouts = e2e.Timeouts{Deploy: r.duration("E2E_DEPLOY_TIMEOUT", 15*time.Minute), Schedule: r.duration("E2E_SCHEDULE_TIMEOUT", time.Minute)}
	if r.err != nil {
		return s, r.err
	}
	if kind == cluster.Lab {
		if err := labSettings(&s.cluster); err != nil {
			return s, err
		}
	}
	return s, s.cluster.Validate()
}

// labSettings reads the lab's own variables. The lab's platform pod runs on
// its real node, so the node's folder and images are required, and the
// suite must run as root inside the lab's network namespace (make e2e-lab
// does both); without them it fails at once, saying why, rather than
// skipping or faking a pod.
func labSettings(c *cluster.Config) error {
	if c.LabCRDs == "" {
		return fmt.Errorf("E2E_LAB_CRDS: must name the folder of the lab's CRDs (make tools builds it; make e2e-lab passes it)")
	}
	c.LabDir = os.Getenv("E2E_LAB_NODE_DIR")
	if c.LabDir == "" || !filepath.IsAbs(c.LabDir) {
		return fmt.Errorf("E2E_LAB_NODE_DIR: %q: must be the absolute folder of the lab's real node, where the platform's pod runs (make e2e-lab passes it)", c.LabDir)
	}
	if v := os.Getenv("E2E_LAB_IMAGES"); v != "" {
		c.LabImages = strings.Split(v, ",")
	}
	if len(c.LabImages) == 0 {
		return fmt.Errorf("E2E_LAB_IMAGES: must list the real node's image tarballs, comma-separated (make lab-images builds them; make e2e-lab passes them)")
	}
	if err := labnode.Preflight(); err != nil {
		return fmt.Errorf("E2E_CLUSTER=lab: %w", err)
	}
	return nil
}

// suite is the run's state, set up in BeforeSuite.
var suite struct {
	settings settings
	cluster  *cluster.Cluster
	// namespace holds the platform under test: the deployed one
	// (deployed) or one made for this run and deleted after it.
	namespace string
	deployed  bool
	overlays  map[string][]*unstructured.Unstructured
}

func TestE2E(t *testing.T) {
	var err error
	if suite.settings, err = load(); err != nil {
		t.Fatalf("e2e configuration: %v", err)
	}
	if !suite.settings.clusterNamed && !kubeconfigResolves() {
		// Plain `go test ./...` on a machine with no cluster: say how to
		// get one rather than fail on a missing kubeconfig. An explicit
		// E2E_CLUSTER=existing still fails.
		t.Skip("no cluster: no kubeconfig resolves; run `make e2e-lab` (the lab) or point KUBECONFIG/E2E_CLUSTER at a cluster")
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e")
}

// kubeconfigResolves reports whether kubectl's rules find a usable context.
func kubeconfigResolves() bool {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	_, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	return err == nil
}

// render renders every overlay once, by name, and E2E_OVERLAY's folder
// when it names one, by its path.
func render(ctx context.Context) map[string][]*unstructured.Unstructured {
	out := map[string][]*unstructured.Unstructured{}
	dirs, err := filepath.Glob(filepath.Join(repoRoot(), "manifests", "overlays", "*"))
	Expect(err).NotTo(HaveOccurred())
	names := map[string]string{}
	for _, d := range dirs {
		names[d] = filepath.Base(d)
	}
	if o := suite.settings.overlay; filepath.IsAbs(o) {
		names[o] = o
	}
	for d, name := range names {
		b, err := cluster.Kustomize(ctx, d)
		Expect(err).NotTo(HaveOccurred(), "overlay %s", d)
		objs, err := cluster.Decode(b)
		Expect(err).NotTo(HaveOccurred(), "overlay %s", d)
		out[name] = objs
	}
	return out
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.settings
	c, err := cluster.Open(ctx, s.cluster)
	Expect(err).NotTo(HaveOccurred(), "cluster %s", s.cluster.Kind)
	suite.cluster = c
	if s.cluster.Kind == cluster.Lab {
		// The lab's nodes: one fake RTX 3060 GPU node and one CPU node;
		// and ingress-nginx's admission rule, so a second Ingress for
		// llm.local is refused here as on the team's cluster.
		Expect(c.CreateFile(ctx, filepath.Join(repoRoot(), cluster.LabNodes))).To(Succeed())
		// The Gateway API's CRDs and its implementations' policy CRDs, so
		// the gateway manifests meet the schemas and CEL rules they ship.
		crds, err := c.InstallCRDs(ctx, s.cluster.LabCRDs)
		Expect(err).NotTo(HaveOccurred())
		GinkgoWriter.Printf("lab: %d CRDs installed from %s\n", len(crds), s.cluster.LabCRDs)
		stop, err := labingress.StartAdmission(ctx, c)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(stop)
	}
	suite.overlays = render(ctx)
	Expect(suite.overlays).To(HaveKey(s.overlay), "E2E_OVERLAY: no manifests/overlays/%s", s.overlay)
	GinkgoWriter.Printf("overlay %s (E2E_OVERLAY)\n", s.overlay)
	_, err = e2e.NewRoute(s.route, "", suite.overlays[s.overlay])
	Expect(err).NotTo(HaveOccurred(), "E2E_ROUTE=%s with overlay %s", s.route, s.overlay)
	selectPlatform(ctx, c)
}, NodeTimeout(5*time.Minute))

// namespaceDeleteTimeout bounds the wait for a run's namespace to go.
const namespaceDeleteTimeout = 3 * time.Minute

// selectPlatform verifies a platform already deployed in
// E2E_PLATFORM_NAMESPACE in place; with none there, it makes a namespace
// for this run (through e2e-framework's envfuncs), deleted afterwards.
func selectPlatform(ctx context.Context, c *cluster.Cluster) {
	s := suite.settings
	dep := cluster.Find(suite.overlays[s.overlay], "Deployment")
	Expect(dep).NotTo(BeNil(), "overlay %s has no Deployment", s.overlay)
	var existing appsv1.Deployment
	err := c.Client.Resources(s.platformNamespace).Get(ctx, dep.GetName(), s.platformNamespace, &existing)
	switch {
	case err == nil:
		suite.namespace, suite.deployed = s.platformNamespace, true
		GinkgoWriter.Printf("cluster %s: verifying the platform deployed in namespace %s (overlay %s); it is not redeployed\n", s.cluster.Kind, suite.namespace, s.overlay)
		return
	case !apierrors.IsNotFound(err):
		Expect(err).NotTo(HaveOccurred(), "looking for the platform in namespace %s", s.platformNamespace)
	}
	suite.namespace = envconf.RandomName("llm-e2e", 16)
	cfg := envconf.New().WithClient(c.Client)
	_, err = envfuncs.CreateNamespace(suite.namespace)(ctx, cfg)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) {
		_, err := envfuncs.DeleteNamespace(suite.namespace)(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
		// Wait until it is gone: ingress-nginx's admission counts the
		// Ingress of a terminating namespace, so a run right after this
		// one would find llm.local taken.
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: suite.namespace}}
		Expect(wait.For(conditions.New(c.Client.Resources()).ResourceDeleted(ns), wait.WithTimeout(namespaceDeleteTimeout),
			wait.WithInterval(e2e.PollInterval), wait.WithContext(ctx))).To(Succeed(), "namespace %s still there after %v", suite.namespace, namespaceDeleteTimeout)
	}, NodeTimeout(namespaceDeleteTimeout+time.Minute))
	GinkgoWriter.Printf("cluster %s: no platform in namespace %s; deploying overlay %s into namespace %s for this run\n", s.cluster.Kind, s.platformNamespace, s.overlay, suite.namespace)
}

// JUnit from the e2e suite too, beside Ginkgo's own --junit-report; one
// file per route kind, so the Ingress and Gateway runs keep both.
// With them a short Markdown summary for a CI job's page (summary.md,
// summary-gateway.md): the counts, each failed spec with why, each skipped
// lesson. The GPU workflow's JUnit glob matches only these JUnit files:
// Ginkgo's own --junit-report would report every spec a second time.
var _ = ReportAfterSuite("e2e junit", func(r Report) {
	suffix := ""
	if suite.settings.route == e2e.RouteGateway {
		suffix = "-gateway"
	}
	if err := os.MkdirAll(suite.settings.reportDir, 0o755); err == nil {
		_ = reporters.GenerateJUnitReport(r, filepath.Join(suite.settings.reportDir, "e2e-junit"+suffix+".xml"))
		_ = os.WriteFile(filepath.Join(suite.settings.reportDir, "summary"+suffix+".md"), []byte(e2e.Summary(r, suite.settings.route)), 0o644)
	}
})

// On the lab every lab-ok spec must run: one that skipped itself (a missing
// tool, a variable a make target did not pass) proves nothing, yet the run
// would read green. Specs left out by the label filter carry no skip
// message and are not counted.
var _ = ReportAfterSuite("every lab-ok spec ran on the lab", func(r Report) {
	if suite.cluster == nil || suite.settings.cluster.Kind != cluster.Lab {
		return
	}
	var skipped []string
	for _, s := range r.SpecReports {
		if e2e.SkippedItself(s) && slices.Contains(s.Labels(), "lab-ok") {
			skipped = append(skipped, s.FullText()+": "+s.Failure.Message)
		}
	}
	Expect(skipped).To(BeEmpty(), "lab-ok specs skipped themselves on the lab")
})

// With E2E_REQUIRE_LESSONS=1 (the GPU workflow sets it) a lesson spec that
// skipped itself fails the run: a lesson skipped every night is a lesson
// nobody checks. Specs that skip on a real cluster by design (the Gateway
// status stand-in) carry no lesson label.
var _ = ReportAfterSuite("every lesson ran", func(r Report) {
	if !suite.settings.requireLessons {
		return
	}
	Expect(skippedLessons(r)).To(BeEmpty(), "lesson specs skipped with E2E_REQUIRE_LESSONS=1")
})

// skippedLessons lists the lesson specs that skipped themselves, with why.
func skippedLessons(r Report) []string {
	var out []string
	for _, s := range r.SpecReports {
		if e2e.SkippedItself(s) && slices.Contains(s.Labels(), "lesson") {
			out = append(out, s.FullText()+": "+s.Failure.Message)
		}
	}
	return out
}
