package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// workflow is the part of a GitHub Actions workflow these tests read.
type workflow struct {
	Jobs map[string]struct {
		Env   map[string]string
		Steps []struct {
			Name string
			Uses string
			Run  string
			Env  map[string]string
			With map[string]string
		}
	}
}

func readWorkflow(t *testing.T, name string) (workflow, string) {
	t.Helper()
	text := read(t, filepath.Join("..", ".github", "workflows", name))
	var w workflow
	if err := yaml.Unmarshal([]byte(text), &w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return w, text
}

// On schedule events the payload's repository object has no
// default_branch: an expression that reads it must fall back, or the gate
// looks up origin/ and silently gates nothing.
func TestDefaultBranchHasFallback(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", ".github", "workflows", "*.yml"))
	expr := regexp.MustCompile(`\$\{\{[^}]*github\.event\.repository\.default_branch[^}]*\}\}`)
	var seen int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range expr.FindAllString(string(b), -1) {
			seen++
			if !regexp.MustCompile(`default_branch\s*\|\|\s*github\.ref_name`).MatchString(e) {
				t.Errorf("%s: %s has no fallback for schedule events (want `|| github.ref_name`)", filepath.Base(f), e)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no workflow reads the default branch: the gpu-perf gate lost its baseline lookup")
	}
}

// The gpu-perf job: the platform first, the suite verifying it, Minikube
// sized for vLLM, and a missing baseline visible in the job summary.
func TestGPUWorkflow(t *testing.T) {
	w, _ := readWorkflow(t, "gpu-perf.yml")
	job := w.Jobs["gpu-perf"]
	var start, baseline, e2e string
	for _, s := range job.Steps {
		switch {
		case strings.Contains(s.Run, "minikube start"):
			start = s.Run
		case strings.Contains(s.Run, "$BASELINE"):
			baseline = s.Run
		case strings.Contains(s.Run, "make e2e"):
			e2e = s.Name
			if s.Env["E2E_PLATFORM_NAMESPACE"] == "" {
				t.Error("the e2e step does not name the platform's namespace")
			}
		}
	}
	for _, flag := range []string{"--gpus all", "--cpus", "--memory", "--kubernetes-version"} {
		if !strings.Contains(start, flag) {
			t.Errorf("minikube start lacks %s: %q", flag, start)
		}
	}
	if job.Env["MINIKUBE_PROFILE"] != "minikube" {
		t.Errorf("MINIKUBE_PROFILE %q: want the team's own profile, minikube", job.Env["MINIKUBE_PROFILE"])
	}
	if !strings.Contains(baseline, "GITHUB_STEP_SUMMARY") || !strings.Contains(baseline, "::warning") {
		t.Errorf("a missing baseline must show in the job summary and as a warning: %q", baseline)
	}
	if e2e == "" {
		t.Error("no e2e step")
	}
	// Ginkgo's deadline for the sweep must come before the job's, so a
	// stopped sweep still writes its reports.
	jobLimit := regexp.MustCompile(`(?m)^\s*timeout-minutes:\s*(\d+)`).FindStringSubmatch(read(t, filepath.Join("..", ".github", "workflows", "gpu-perf.yml")))
	var sweepLimit []string
	for _, s := range job.Steps {
		if m := regexp.MustCompile(`GINKGO_TIMEOUT=(\d+)m\b[^\n]*make perf`).FindStringSubmatch(s.Run); m != nil {
			sweepLimit = m
		}
	}
	if jobLimit == nil || sweepLimit == nil {
		t.Fatalf("job timeout-minutes %v, make perf's GINKGO_TIMEOUT %v: want both, in minutes", jobLimit, sweepLimit)
	}
	jobMinutes, sweep := atoi(t, jobLimit[1]), atoi(t, sweepLimit[1])
	if sweep >= jobMinutes {
		t.Errorf("make perf's GINKGO_TIMEOUT=%dm is not inside the job's %d minutes", sweep, jobMinutes)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The GPU workflow runs either route: the input reaches the overlay, the
// suite (E2E_ROUTE) and the sweep's target, and NGF is the version the
// Makefile's lab pins CRDs for.
func TestGPUWorkflowRoutes(t *testing.T) {
	w, text := readWorkflow(t, "gpu-perf.yml")
	for _, want := range []string{"inputs.route", "manifests/overlays/$overlay", "overlay=minikube-gpu-ngf", `E2E_ROUTE="$ROUTE"`, `INGRESS_URL="$ROUTE_URL"`, `PERF_TARGET="$ROUTE_URL"`} {
		if !strings.Contains(text, want) {
			t.Errorf("gpu-perf.yml lacks %s", want)
		}
	}
	makefile := read(t, filepath.Join("..", "Makefile"))
	m := regexp.MustCompile(`(?m)^NGF_VERSION\s*:=\s*(\S+)`).FindStringSubmatch(makefile)
	if m == nil {
		t.Fatal("Makefile: no NGF_VERSION")
	}
	if got := w.Jobs["gpu-perf"].Env["NGF_VERSION"]; got != m[1] {
		t.Errorf("gpu-perf.yml installs NGF %q, the lab's CRDs are NGF %s", got, m[1])
	}
	if readme := read(t, filepath.Join("..", "README.md")); !strings.Contains(readme, "nginx-gateway-fabric/"+m[1]+"/deploy") {
		t.Errorf("README's NGF install is not pinned to %s", m[1])
	}
}

// Pull requests from forks get a read-only token: the JUnit step must
// only annotate there.
func TestJUnitAnnotatesOnForks(t *testing.T) {
	w, _ := readWorkflow(t, "ci.yml")
	var found bool
	for _, s := range w.Jobs["test"].Steps {
		if strings.HasPrefix(s.Uses, "mikepenz/action-junit-report") {
			found = true
			if !strings.Contains(s.With["annotate_only"], "head.repo.full_name != github.repository") {
				t.Errorf("annotate_only %q: want true on fork pull requests", s.With["annotate_only"])
			}
		}
	}
	if !found {
		t.Error("no JUnit step in ci.yml")
	}
}
