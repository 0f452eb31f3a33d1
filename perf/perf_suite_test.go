// Package perf_test is the perf sweep: `ginkgo ./perf` (or `make perf`)
// runs a DescribeTable with one Serial entry per payload x concurrency (and
// x rate) cell, configured by PERF_* environment variables or the same flags
// after `--` (see the README), and writes results.json, report.md with its
// charts, and junit.xml to PERF_REPORT_DIR after every cell.
package perf_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/term"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/fleet"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/gpu/dcgm"
	"github.com/llm-platform/harness/internal/gpu/dcgm/kube"
	"github.com/llm-platform/harness/internal/promrw"
	"github.com/llm-platform/harness/internal/settings"
	"github.com/llm-platform/harness/internal/sweep"
	"github.com/llm-platform/harness/internal/worker"
)

var flags = settings.Register(flag.CommandLine)

// setupTimeout bounds BeforeSuite: the target's readiness wait
// (PERF_READY_TIMEOUT, checked inside) plus opening the GPUs and the first
// report write.
const setupTimeout = 30 * time.Minute

// suite is the sweep's state, set up once in BeforeSuite.
var suite struct {
	cfg    sweep.Config
	cfgErr error
	runner *sweep.Runner
	// began is when the suite started: Ginkgo's --timeout counts from it.
	began time.Time
}

// TestMain resolves the configuration before any test runs, so that the
// line naming the k6 variables taken is the suite's first (k6's names are
// generic: a stray BASE_URL in a CI shell must not change a target
// unnoticed).
func TestMain(m *testing.M) {
	flag.Parse()
	s, err := flags.Config(os.Getenv, moduleRoot())
	if line := s.K6Line(); line != "" {
		fmt.Println(line)
	}
	if err == nil {
		suite.cfg, err = sweep.Load(s)
	}
	suite.cfgErr = err
	os.Exit(m.Run())
}

func TestPerf(t *testing.T) {
	suite.began = time.Now()
	clock.TuneGC(os.Getenv)
	if suite.cfgErr != nil {
		// Fail before any spec or request: the message names the setting.
		t.Fatalf("perf configuration: %v", suite.cfgErr)
	}
	RegisterFailHandler(Fail)
	RunSpecs(t, "perf")
}

// moduleRoot is the repository root: go test runs this binary in perf/, but
// relative paths in the settings mean the folder the user ran make from.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// fleetOptions are the worker pods' settings (PERF_WORKER_*).
func fleetOptions(c sweep.Config) fleet.Setup {
	w := c.Workers
	target := w.Target
	if target == "" {
		target = c.Target
	}
	return fleet.Setup{Workers: w.N, Kubeconfig: w.Kubeconfig, Namespace: w.Namespace, Image: w.Image, NodeSelector: w.NodeSelector,
		CPURequest: w.CPURequest, CPULimit: w.CPULimit, StartTimeout: w.StartTimeout, MaxClockBound: w.MaxClockBound,
		CellTimeout: 30*time.Minute + c.Timeout,
		Target:      worker.Reach{BaseURL: target, Host: c.Host, APIKey: c.APIKey, InsecureSkipVerify: c.InsecureSkipVerify}}
}

// dcgmSource opens the DCGM exporter's GPU source the settings name
// (PERF_DCGM_URL, else PERF_DCGM_SERVICE through the kubeconfig).
func dcgmSource(c sweep.Config) func(context.Context) (gpu.Source, error) {
	return func(ctx context.Context) (gpu.Source, error) {
		pod, _ := dcgm.ParseRef(c.DCGM.Pod) // checked by the settings; empty: no pod
		svc, _ := dcgm.ParseRef(c.DCGM.Service)
		return kube.Open(ctx, kube.Lookup{Kubeconfig: c.Workers.Kubeconfig, Service: svc, Pod: pod, UUID: c.DCGM.UUID, URL: c.DCGM.URL})
	}
}

// progressOut is the terminal the live line goes to, or nil when stdout is
// not one (CI logs, pipes): then the line stays quiet.
func progressOut() *os.File {
	if term.IsTerminal(int(os.Stdout.Fd())) {
		return os.Stdout
	}
	return nil
}

var _ = BeforeSuite(func(ctx SpecContext) {
	var err error
	if w := suite.cfg.Workers; w.N > 0 {
		f, err := fleet.Open(ctx, fleetOptions(suite.cfg))
		Expect(err).NotTo(HaveOccurred(), "starting the worker pods (PERF_WORKERS)")
		DeferCleanup(func() { Expect(f.Close()).To(Succeed(), "deleting the workers' Job") })
		suite.cfg.Driver = f
		fmt.Printf("perf: %d worker pods (Job %s/%s, image %s) drive the cells; this process coordinates\n", w.N, w.Namespace, f.Job(), w.Image)
	}
	if suite.cfg.GPUSource != "nvml" {
		suite.cfg.OpenDCGM = dcgmSource(suite.cfg)
	}
	if u := suite.cfg.PrometheusRW; u != "" {
		w, err := promrw.New(u, 0)
		Expect(err).NotTo(HaveOccurred(), "PERF_PROMETHEUS_RW_URL")
		suite.cfg.OnCell = w.Cell
		DeferCleanup(func() { fmt.Println("perf: " + w.Close(time.Minute).String()) })
	}
	if out := progressOut(); out != nil {
		suite.runner, err = sweep.Start(ctx, suite.cfg, out)
	} else {
		suite.runner, err = sweep.Start(ctx, suite.cfg, nil) // a nil *os.File is not a nil io.Writer
	}
	Expect(err).NotTo(HaveOccurred(), "resolving the target")
	DeferCleanup(suite.runner.Close)
	GinkgoWriter.Printf("target %s, model %s, reports in %s\n", suite.runner.Target(), suite.runner.Model(), suite.cfg.ReportDir)
	for name, p := range suite.runner.Results().Payloads {
		if p.TraceFormat != "" { // said at start, as in the report: how the trace was made to fit the model
			fmt.Printf("perf: %s: a %s trace of %d requests, fitted to max_model_len %d by PERF_TRACE_FIT=%s. %s\n", name, p.TraceFormat, p.TraceRequests, p.MaxModelLen, p.TraceFit, p.InputNote)
		}
	}
	// Ginkgo stops a suite at its --timeout (one hour unless told): a plan
	// that cannot fit fails now, naming the value to pass, not an hour in.
	e, why := suite.runner.Estimate()
	if why != "" {
		fmt.Printf("perf: no estimate of the plan's length: %s\n", why)
	}
	if e.Total > 0 {
		sc, _ := GinkgoConfiguration()
		fmt.Printf("perf: the plan needs %s; Ginkgo's --timeout is %v\n", e, sc.Timeout)
		if err := e.CheckDeadline(sc.Timeout - time.Since(suite.began)); err != nil {
			Fail(err.Error())
		}
	}
}, NodeTimeout(setupTimeout))

// A sweep that Ginkgo stopped early (Ctrl-C, --timeout) is marked as such
// in the reports, which already hold every finished cell.
// A sweep that ran to its end joins the run history (PERF_HISTORY), and
// the history's trend is written beside the reports.
var _ = ReportAfterSuite("perf reports", func(r Report) {
	if suite.runner == nil {
		return
	}
	if len(r.SpecialSuiteFailureReasons) > 0 {
		Expect(suite.runner.MarkInterrupted()).To(Succeed())
		return
	}
	name, err := suite.runner.Finish()
	Expect(err).NotTo(HaveOccurred())
	if name != "" {
		fmt.Printf("perf: appended to the history as %s; trend in %s/trend.md\n", name, suite.cfg.ReportDir)
	}
})
