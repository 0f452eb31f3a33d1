package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/reporters"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"

	"github.com/llm-platform/harness/e2e"
	"github.com/llm-platform/harness/internal/cluster"
)

// Settings, as environment variables (documented in the README).
type settings struct {
	cluster   cluster.Config
	overlay   string // manifests/overlays/<overlay>
	reportDir string
	timeouts  e2e.Timeouts
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func duration(k string, def time.Duration) time.Duration {
	v := os.Getenv(k)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		panic(fmt.Sprintf("%s: %q: %v", k, v, err)) // surfaced by TestE2E before any spec
	}
	return d
}

// repoRoot is the repository root (go test runs this binary in e2e/).
func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Dir(wd)
}

func load() (s settings, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("e2e settings: %v", r)
		}
	}()
	kind := cluster.Kind(env("E2E_CLUSTER", string(cluster.Existing)))
	s.cluster = cluster.Config{Kind: kind, Kubeconfig: os.Getenv("E2E_KUBECONFIG"), Context: os.Getenv("E2E_CONTEXT"),
		Name: env("E2E_CLUSTER_NAME", "llm-lab"), LabBin: os.Getenv("E2E_LAB_BIN")}
	def := "minikube-gpu"
	if kind == cluster.Lab {
		def = "lab"
	}
	s.overlay = env("E2E_OVERLAY", def)
	s.reportDir = env("E2E_REPORT_DIR", filepath.Join(repoRoot(), "reports", "e2e"))
	if !filepath.IsAbs(s.reportDir) {
		s.reportDir = filepath.Join(repoRoot(), s.reportDir)
	}
	s.timeouts = e2e.Timeouts{Deploy: duration("E2E_DEPLOY_TIMEOUT", 15*time.Minute), Schedule: duration("E2E_SCHEDULE_TIMEOUT", time.Minute)}
	return s, s.cluster.Validate()
}

// suite is the run's state, set up in BeforeSuite.
var suite struct {
	settings  settings
	cluster   *cluster.Cluster
	namespace string
	overlays  map[string][]*unstructured.Unstructured
}

func TestE2E(t *testing.T) {
	var err error
	if suite.settings, err = load(); err != nil {
		t.Fatalf("e2e configuration: %v", err)
	}
	if os.Getenv("E2E_CLUSTER") == "" && !kubeconfigResolves() {
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

// render renders every overlay once.
func render(ctx context.Context) map[string][]*unstructured.Unstructured {
	out := map[string][]*unstructured.Unstructured{}
	dirs, err := filepath.Glob(filepath.Join(repoRoot(), "manifests", "overlays", "*"))
	Expect(err).NotTo(HaveOccurred())
	for _, d := range dirs {
		b, err := cluster.Kustomize(ctx, d)
		Expect(err).NotTo(HaveOccurred())
		objs, err := cluster.Decode(b)
		Expect(err).NotTo(HaveOccurred())
		out[filepath.Base(d)] = objs
	}
	return out
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.settings
	c, err := cluster.Open(ctx, s.cluster)
	Expect(err).NotTo(HaveOccurred(), "cluster %s", s.cluster.Kind)
	suite.cluster = c
	if s.cluster.Kind == cluster.Lab {
		// The lab's nodes: one fake RTX 3060 GPU node and one CPU node.
		Expect(c.CreateFile(ctx, filepath.Join(repoRoot(), cluster.LabNodes))).To(Succeed())
	}
	suite.overlays = render(ctx)
	Expect(suite.overlays).To(HaveKey(s.overlay), "E2E_OVERLAY: no manifests/overlays/%s", s.overlay)

	// A namespace per run, through e2e-framework's envfuncs.
	suite.namespace = envconf.RandomName("llm-e2e", 16)
	cfg := envconf.New().WithClient(c.Client)
	_, err = envfuncs.CreateNamespace(suite.namespace)(ctx, cfg)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func(ctx SpecContext) {
		_, err := envfuncs.DeleteNamespace(suite.namespace)(ctx, cfg)
		Expect(err).NotTo(HaveOccurred())
	})
	GinkgoWriter.Printf("cluster %s, namespace %s, overlay %s\n", s.cluster.Kind, suite.namespace, s.overlay)
}, NodeTimeout(5*time.Minute))

// JUnit from the e2e suite too, beside Ginkgo's own --junit-report.
var _ = ReportAfterSuite("e2e junit", func(r Report) {
	if err := os.MkdirAll(suite.settings.reportDir, 0o755); err == nil {
		_ = reporters.GenerateJUnitReport(r, filepath.Join(suite.settings.reportDir, "e2e-junit.xml"))
	}
})
