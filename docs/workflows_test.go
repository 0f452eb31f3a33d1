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

// scriptRun matches a step that runs one of the workflow's scripts.
var scriptRun = regexp.MustCompile(`^\.github/scripts/gpu-perf/[a-z0-9-]+\.sh$`)

// gpuSteps are the gpu-perf job's steps, each `run:` with the text of the
// script it runs (and the scripts' shared lib.sh) appended: what the step
// does, wherever its lines live.
func gpuSteps(t *testing.T) (workflow, []string) {
	t.Helper()
	w, _ := readWorkflow(t, "gpu-perf.yml")
	lib := read(t, filepath.Join("..", ".github", "scripts", "gpu-perf", "lib.sh"))
	var texts []string
	for _, s := range w.Jobs["gpu-perf"].Steps {
		text := s.Run
		if scriptRun.MatchString(strings.TrimSpace(s.Run)) {
			text += "\n" + read(t, filepath.Join("..", strings.TrimSpace(s.Run))) + "\n" + lib
		}
		texts = append(texts, text)
	}
	return w, texts
}

// The gpu-perf job: the platform first, the suite verifying it, Minikube
// sized for vLLM, and a missing baseline visible in the job summary.
func TestGPUWorkflow(t *testing.T) {
	w, texts := gpuSteps(t)
	job := w.Jobs["gpu-perf"]
	var start, baseline, e2e string
	for i, text := range texts {
		switch {
		case strings.Contains(text, "minikube start"):
			start = text
		case strings.Contains(text, "$BASELINE"):
			baseline = text
		case strings.Contains(text, "make e2e"):
			e2e = job.Steps[i].Name
			if !strings.Contains(text, "E2E_PLATFORM_NAMESPACE=llm") || !strings.Contains(text, "E2E_REQUIRE_LESSONS=1") {
				t.Error("the e2e step must name the platform's namespace and require every lesson")
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
	if !strings.Contains(baseline, "GITHUB_STEP_SUMMARY") || !strings.Contains(baseline, "warn ") {
		t.Errorf("a missing baseline must show in the job summary and as a warning: %q", baseline)
	}
	if e2e == "" {
		t.Error("no e2e step")
	}
	if job.Steps[2].Run != "make preflight" {
		t.Errorf("the first step after checkout and setup-go runs %q, want make preflight", job.Steps[2].Run)
	}
	// Ginkgo's deadline for the sweep must come before the job's, so a
	// stopped sweep still writes its reports.
	jobLimit := regexp.MustCompile(`(?m)^\s*timeout-minutes:\s*(\d+)`).FindStringSubmatch(read(t, filepath.Join("..", ".github", "workflows", "gpu-perf.yml")))
	var sweepLimit []string
	for i, text := range texts {
		if strings.Contains(text, "make perf") {
			if m := regexp.MustCompile(`^(\d+)m$`).FindStringSubmatch(job.Steps[i].Env["GINKGO_TIMEOUT"]); m != nil {
				sweepLimit = m
			}
		}
	}
	if jobLimit == nil || sweepLimit == nil {
		t.Fatalf("job timeout-minutes %v, the perf step's GINKGO_TIMEOUT %v: want both, in minutes", jobLimit, sweepLimit)
	}
	jobMinutes, sweep := atoi(t, jobLimit[1]), atoi(t, sweepLimit[1])
	if sweep >= jobMinutes {
		t.Errorf("make perf's GINKGO_TIMEOUT=%dm is not inside the job's %d minutes", sweep, jobMinutes)
	}
}

// Every step longer than a line or two is a script that the rehearsal
// (make rehearse) runs too: the workflow's shell is run, not only linted.
func TestGPUWorkflowStepsAreScripts(t *testing.T) {
	w, _ := readWorkflow(t, "gpu-perf.yml")
	for _, s := range w.Jobs["gpu-perf"].Steps {
		run := strings.TrimSpace(s.Run)
		if run == "" {
			continue
		}
		if strings.Count(run, "\n") > 1 {
			t.Errorf("step %q runs %d lines inline; move them into .github/scripts/gpu-perf/", s.Name, strings.Count(run, "\n")+1)
		}
		if scriptRun.MatchString(run) {
			info, err := os.Stat(filepath.Join("..", run))
			if err != nil || info.Mode()&0o111 == 0 {
				t.Errorf("step %q: %s is missing or not executable (%v)", s.Name, run, err)
			}
		}
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
	w, texts := gpuSteps(t)
	text := strings.Join(texts, "\n") + read(t, filepath.Join("..", ".github", "workflows", "gpu-perf.yml"))
	for _, want := range []string{"inputs.route", "manifests/overlays/minikube-gpu-ngf", `E2E_ROUTE="$ROUTE"`, `INGRESS_URL="$ROUTE_URL"`, `PERF_TARGET="$ROUTE_URL"`, `kubectl apply -k "$(overlay)"`} {
		if !strings.Contains(text, want) {
			t.Errorf("gpu-perf.yml and its scripts lack %s", want)
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
	// The lab validates the gateway manifests against the Gateway API that
	// the workflow's NGF installs on the box (NGF's own CRD kustomization
	// at that tag), not a newer one whose fields the box would refuse.
	installs := map[string]string{"v2.6.7": "v1.5.1"}
	gw := regexp.MustCompile(`(?m)^GATEWAY_API_VERSION\s*:=\s*(\S+)`).FindStringSubmatch(makefile)
	if want, ok := installs[m[1]]; !ok || gw == nil || gw[1] != want {
		t.Errorf("the lab's Gateway API is %v; NGF %s installs %q (add the pair here when NGF moves)", gw, m[1], want)
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

// The CI cache of the tools is keyed by every file that names a cached
// tool (the Makefile's key: go.mod and go.sum alike): a file the names
// hash and the key does not would rebuild the tools on every run after a
// change to it.
func TestToolsCacheKeyCoversTheNames(t *testing.T) {
	makefile := read(t, filepath.Join("..", "Makefile"))
	_, ci := readWorkflow(t, "ci.yml")
	key := regexp.MustCompile(`key: tools-[^\n]*hashFiles\(([^)]*)\)`).FindStringSubmatch(ci)
	if key == nil {
		t.Fatal("ci.yml: no tools cache key with hashFiles")
	}
	seen := 0
	for _, m := range regexp.MustCompile(`\$\(call key,((?:[^()]|\([^()]*\))*)\)`).FindAllStringSubmatch(makefile, -1) {
		for _, f := range strings.Fields(m[1]) {
			if strings.HasPrefix(f, "tools/bench/") { // vegeta: make bench-rate only, never cached in CI
				continue
			}
			if strings.HasPrefix(f, "$(NGF_CRDS)") {
				f = "fixtures/crds/**"
			}
			seen++
			if !strings.Contains(key[1], "'"+f+"'") {
				t.Errorf("ci.yml's tools cache key does not hash %s, which the Makefile's tool names hash", f)
			}
		}
	}
	if seen < 8 {
		t.Errorf("only %d hashed files found in the Makefile: is the pattern still right?", seen)
	}
}
