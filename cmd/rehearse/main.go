// Command rehearse runs the GPU workflow (.github/workflows/gpu-perf.yml) on
// the lab, four nights in a row, as the workflow's runner would: each `run:`
// step of the job, in order, as written, with the job's env, GITHUB_ENV
// carried from step to step, `if: always()` honoured, and the job summary
// written to a file standing in for $GITHUB_STEP_SUMMARY. Only what the lab
// cannot be is stood in for, on PATH: minikube (cmd/labminikube, pointing at
// the lab), and for the preflight's checks docker and nvidia-smi. `uses:`
// steps (checkout, setup-go, the artifact and JUnit uploads) are the
// runner's and are not run; the JUnit upload's glob is checked instead.
//
// The nights:
//
//  1. no baseline on the default branch: measured, a warning in the
//     summary; its results.json is then committed as the baseline, as a
//     person would;
//  2. unchanged: gated, passes;
//  3. a vLLM change (the Deployment with a 20% slower token pace): the gate
//     fails the run and names the metric;
//  4. an ingress change (proxy-read-timeout cut to 2 s in the Ingress): the
//     proxy-timeout lesson fails the e2e step and says why. (proxy-buffering
//     on is no such change: nginx passes each streamed chunk on as it
//     arrives to a client that keeps up, buffering or not; the README's
//     "The buffering lesson" has the measurement.)
//
// Each night's summary is kept as OUT/night-N.md. The simulator's latency
// noise is seeded, so each night's verdict is the same on every run. The
// command must run inside the lab's network namespace (make rehearse).
//
//	rehearse -kubeconfig FILE -standins DIR [-out reports/rehearsal] [-nights 1,2,3,4]
package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/standin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "rehearse:", err)
		os.Exit(1)
	}
}

// night is one night's change and what must come of it.
type night struct {
	n    int
	what string
	// args replaces the simulator's arguments' values (flag -> value).
	args map[string]string
	// annotations are set on the Ingress.
	annotations map[string]string
	// failedStep is the script whose step must fail, "" for none.
	failedStep string
	// summary must contain each of these (a regular expression each).
	summary []string
}

// noise is the simulator's seeded latency noise: each night draws the same
// sequence, so a verdict never depends on the draw.
var noise = map[string]string{"--seed": "20261203", "--time-to-first-token-std-dev": "2ms", "--inter-token-latency-std-dev": "800us"}

var nights = []night{
	{n: 1, what: "a first night, with no baseline on the default branch",
		summary: []string{`\*\*no baseline:\*\*`, `### e2e through the ingress: passed`, `### perf: passed`}},
	{n: 2, what: "a second night, nothing changed",
		summary: []string{`Gated against`, `### e2e through the ingress: passed`, `### perf: passed \(0 of \d+ cells failed; 0 regressed`}},
	{n: 3, what: "a vLLM change: the Deployment rolled out with a 20% slower token pace (inter-token latency 8 ms -> 9.6 ms)",
		args: map[string]string{"--inter-token-latency": "9600us"}, failedStep: "perf.sh",
		summary: []string{`### e2e through the ingress: passed`, `### perf: failed \([1-9]\d* of \d+ cells failed; [1-9]\d* regressed`, `baseline: itl_p50_ms \S+ -> \S+ \(\+`}},
	{n: 4, what: "an ingress change: proxy-read-timeout cut to 2 s in the Ingress (shorter than a long generation)",
		annotations: map[string]string{"nginx.ingress.kubernetes.io/proxy-read-timeout": "2"}, failedStep: "e2e.sh",
		summary: []string{`### e2e through the ingress: failed`, `\*\*cuts a long generation with 504 [^*]*\*\*: failed: with the manifests' [^:]*proxy-read-timeout 2 a long generation \(about [^)]*\) must complete, and did not: .*HTTP 504`, `### perf: did not run`}},
}

type options struct {
	root, work, out, kubeconfig, standins string
	k8sVersion                            string
	images                                []string
	only                                  []int
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rehearse", flag.ContinueOnError)
	var o options
	var images, only string
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "the lab's kubeconfig")
	fs.StringVar(&o.standins, "standins", "", "folder holding the stand-in minikube (cmd/labminikube built as minikube)")
	fs.StringVar(&images, "images", labnode.LLMDImage, "comma-separated image references the lab's node has, which the stand-in minikube's image pull finds")
	fs.StringVar(&o.out, "out", "reports/rehearsal", "where each night's job summary is kept")
	fs.StringVar(&o.work, "work", ".cache/rehearsal", "the rehearsal's scratch folder")
	fs.StringVar(&o.k8sVersion, "kubernetes-version", "", "the lab's Kubernetes version, which the stand-in's profile list reports")
	fs.StringVar(&only, "nights", "1,2,3,4", "which nights to run (a later night needs night 1's baseline)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.kubeconfig == "" || o.standins == "" {
		return errors.New("-kubeconfig and -standins are required (make rehearse passes them)")
	}
	o.images = strings.Split(images, ",")
	for _, s := range strings.Split(only, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > len(nights) {
			return fmt.Errorf("-nights %q: want numbers from 1 to %d", only, len(nights))
		}
		o.only = append(o.only, n)
	}
	var err error
	if o.root, err = os.Getwd(); err != nil {
		return err
	}
	for _, p := range []*string{&o.work, &o.out, &o.kubeconfig, &o.standins} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	wf, err := readWorkflow(filepath.Join(o.root, ".github", "workflows", "gpu-perf.yml"))
	if err != nil {
		return err
	}
	if err := setUp(o); err != nil {
		return err
	}
	defer func() {
		// The stand-in controller outlives each night, as the addon does;
		// it goes with the rehearsal.
		_ = exec.Command(filepath.Join(o.standins, "minikube"), "stand-in-stop").Run()
	}()
	began := time.Now()
	var failures []string
	for _, nt := range nights {
		if !slices.Contains(o.only, nt.n) {
			continue
		}
		problems, err := rehearseNight(ctx, o, wf, nt)
		if err != nil {
			return fmt.Errorf("night %d: %w", nt.n, err)
		}
		for _, p := range problems {
			failures = append(failures, fmt.Sprintf("night %d: %s", nt.n, p))
		}
		if nt.n == 1 {
			if len(problems) > 0 {
				break // the later nights need night 1's baseline
			}
			if err := commitBaseline(o, wf); err != nil {
				return err
			}
		}
	}
	fmt.Printf("== rehearsal: %d nights in %v; summaries in %s\n", len(o.only), time.Since(began).Round(time.Second), o.out)
	if len(failures) > 0 {
		return fmt.Errorf("the nights did not behave as they must:\n  %s", strings.Join(failures, "\n  "))
	}
	return nil
}

// setUp writes the stand-ins' settings and the scratch repository that
// stands in for the default branch.
func setUp(o options) error {
	if err := os.RemoveAll(o.work); err != nil {
		return err
	}
	if err := os.RemoveAll(o.out); err != nil {
		return err
	}
	for _, d := range []string{o.work, o.out, filepath.Join(o.work, "minikube-home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	settings := standin.Settings{Profile: "minikube", Kubeconfig: o.kubeconfig, IP: labnode.NodeIP, Version: "v1.38.0",
		KubernetesVersion: o.k8sVersion, Images: o.images}
	if err := settings.Write(filepath.Join(o.work, "minikube-home")); err != nil {
		return err
	}
	// The preflight's view of a GPU box: docker with the nvidia runtime and
	// an R570 driver. Stand-ins, and labelled so in their output.
	stubs := map[string]string{
		"docker": `#!/bin/sh
# Stand-in docker for the rehearsal's preflight: the GPU box's answers.
case "$*" in
  "info") echo "stand-in docker (the rehearsal)";;
  "info --format {{json .Runtimes}}") echo '{"nvidia":{"path":"nvidia-container-runtime"},"runc":{"path":"runc"}}';;
  "info --format {{.DockerRootDir}}") echo /;;
  *) echo "stand-in docker: $* is not a call the preflight makes" >&2; exit 1;;
esac
`,
		"nvidia-smi": `#!/bin/sh
# Stand-in nvidia-smi for the rehearsal's preflight: an R570 driver.
echo 570.86.15
`,
	}
	bin := filepath.Join(o.work, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	for name, text := range stubs {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(text), 0o755); err != nil {
			return err
		}
	}
	repo := filepath.Join(o.work, "default-branch")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		return err
	}
	return git(repo, "init", "-q", "-b", "main")
}

// git runs git in dir as the rehearsal's own committer.
func git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=rehearsal", "GIT_AUTHOR_EMAIL=rehearsal@lab", "GIT_COMMITTER_NAME=rehearsal", "GIT_COMMITTER_EMAIL=rehearsal@lab")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// commitBaseline does what the workflow's summary tells the team after a
// first night: night 1's results.json committed as $BASELINE on the
// default branch (here a scratch repository whose origin/main the
// baseline step reads).
func commitBaseline(o options, wf workflow) error {
	base := wf.env["BASELINE"]
	src := filepath.Join(o.work, "night-1", "reports", "results.json")
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("night 1 wrote no results.json to make the baseline from: %w", err)
	}
	repo := filepath.Join(o.work, "default-branch")
	dst := filepath.Join(repo, base)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return err
	}
	for _, args := range [][]string{{"add", base}, {"commit", "-q", "-m", "baseline from night 1"}, {"update-ref", "refs/remotes/origin/main", "main"}} {
		if err := git(repo, args...); err != nil {
			return err
		}
	}
	fmt.Printf("== rehearsal: night 1's results.json committed as %s on the default branch\n", base)
	return nil
}

// overlay writes the night's overlay: the lab's, with the seeded noise and
// the night's change.
func overlay(o options, nt night) (string, error) {
	dir := filepath.Join(o.work, fmt.Sprintf("night-%d", nt.n), "overlay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lab, err := filepath.Rel(dir, filepath.Join(o.root, "manifests", "overlays", "lab"))
	if err != nil {
		return "", err
	}
	base, err := labArgs(o)
	if err != nil {
		return "", err
	}
	args := setArgs(base, noise)
	args = setArgs(args, nt.args)
	argsJSON, _ := json.Marshal(args)
	var k strings.Builder
	fmt.Fprintf(&k, "# Rehearsal night %d: %s.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\npatches:\n", nt.n, nt.what, lab)
	fmt.Fprintf(&k, "  - target: {kind: Deployment, name: vllm}\n    patch: |-\n      - op: replace\n        path: /spec/template/spec/containers/0/args\n        value: %s\n", argsJSON)
	for key, v := range nt.annotations {
		fmt.Fprintf(&k, "  - target: {kind: Ingress, name: vllm}\n    patch: |-\n      - op: add\n        path: /metadata/annotations/%s\n        value: %q\n", strings.ReplaceAll(key, "/", "~1"), v)
	}
	return dir, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k.String()), 0o644)
}

// labArgs are the simulator's arguments in the lab overlay.
func labArgs(o options) ([]string, error) {
	out, err := exec.Command("kubectl", "kustomize", filepath.Join(o.root, "manifests", "overlays", "lab")).Output()
	if err != nil {
		return nil, fmt.Errorf("kubectl kustomize the lab overlay: %w", err)
	}
	var args []string
	for _, doc := range strings.Split(string(out), "\n---\n") {
		var d struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct{ Args []string }
					}
				}
			}
		}
		if yaml.Unmarshal([]byte(doc), &d) == nil && d.Kind == "Deployment" && len(d.Spec.Template.Spec.Containers) > 0 {
			args = d.Spec.Template.Spec.Containers[0].Args
		}
	}
	if len(args) == 0 {
		return nil, errors.New("the lab overlay's Deployment has no args")
	}
	return args, nil
}

// setArgs sets each flag's value in args, appending flags it lacks.
func setArgs(args []string, set map[string]string) []string {
	out := slices.Clone(args)
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if i := slices.Index(out, k); i >= 0 && i+1 < len(out) {
			out[i+1] = set[k]
		} else {
			out = append(out, k, set[k])
		}
	}
	return out
}

// rehearseNight runs the job once and judges it.
func rehearseNight(ctx context.Context, o options, wf workflow, nt night) ([]string, error) {
	fmt.Printf("== rehearsal night %d: %s\n", nt.n, nt.what)
	dir := filepath.Join(o.work, fmt.Sprintf("night-%d", nt.n))
	ov, err := overlay(o, nt)
	if err != nil {
		return nil, err
	}
	summary := filepath.Join(dir, "step-summary.md")
	ghEnv := filepath.Join(dir, "github-env")
	for _, f := range []string{summary, ghEnv} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			return nil, err
		}
	}
	// The job's env, then what the lab changes: the lab's overlay, a CPU
	// count the lab has, and the GPU the lab does not have (the rehearsal
	// checks the workflow, not the GPU sampler; make gpu-check does that).
	env := maps.Clone(wf.env)
	reports := filepath.Join(dir, "reports")
	maps.Copy(env, map[string]string{
		"GITHUB_ENV": ghEnv, "GITHUB_STEP_SUMMARY": summary, "RUNNER_TEMP": dir, "CI": "true",
		"PATH":               filepath.Join(o.work, "bin") + ":" + o.standins + ":" + os.Getenv("PATH"),
		standin.HomeVariable: filepath.Join(o.work, "minikube-home"),
		"KUBECONFIG":         filepath.Join(o.work, "kubeconfig"),
		"BASELINE_REPO":      filepath.Join(o.work, "default-branch"),
		"OVERLAY":            ov,
		"PERF_REPORT_DIR":    reports, "E2E_REPORT_DIR": filepath.Join(reports, "e2e"),
		// The preflight on the lab: root, two cores, a small disk.
		"MINIKUBE_CPUS": "2", "PREFLIGHT_ALLOW_ROOT": "1", "PREFLIGHT_MIN_DISK_GB": "1",
		// The nightly, small: one payload, two loads, repeats enough to gate.
		"PERF_REQUIRE_GPU": "0", "PERF_PAYLOADS": "short", "PERF_CONCURRENCY": "1,4",
		"PERF_ITERATIONS_PER_VU": "6", "PERF_REPEATS": "5",
		// The stand-in controller applies a change within a second.
		"E2E_INGRESS_RECONFIGURE_TIMEOUT": "20s",
		// The lab's stand-in for NVIDIA's device plugin, by its own label.
		"E2E_DEVICE_PLUGIN_SELECTOR": labnode.DevicePluginSelector,
	})
	var results []string
	failedStep := "" // the first step that failed
	for i, st := range wf.steps {
		if st.run == "" {
			continue
		}
		name := st.name
		if name == "" {
			name = st.run
		}
		if failedStep != "" && !st.always {
			results = append(results, "skipped "+name)
			continue
		}
		stepEnv := maps.Clone(env)
		maps.Copy(stepEnv, st.env)
		log := filepath.Join(dir, fmt.Sprintf("step-%02d.log", i))
		began := time.Now()
		err := runStep(ctx, st, stepEnv, log)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		mark := "✓"
		if err != nil {
			mark = "✗"
			if failedStep == "" {
				failedStep = st.run
			}
		}
		results = append(results, fmt.Sprintf("%s %s (%v)", mark, name, time.Since(began).Round(time.Second)))
		fmt.Printf("   %s %s: %v (log %s)\n", mark, name, time.Since(began).Round(100*time.Millisecond), log)
		if err != nil {
			tail(log, 15)
		}
		added, err := readGitHubEnv(ghEnv)
		if err != nil {
			return nil, err
		}
		maps.Copy(env, added)
	}
	text, err := os.ReadFile(summary)
	if err != nil {
		return nil, err
	}
	page := fmt.Sprintf("# Rehearsal night %d: %s\n\nSteps: %s\n\n%s", nt.n, nt.what, strings.Join(results, " · "), text)
	if err := os.WriteFile(filepath.Join(o.out, fmt.Sprintf("night-%d.md", nt.n)), []byte(page), 0o644); err != nil {
		return nil, err
	}
	return judge(nt, failedStep, string(text), reports), nil
}

// judge lists how the night differs from what it must be.
func judge(nt night, failedStep, summary, reports string) []string {
	var out []string
	switch {
	case nt.failedStep == "" && failedStep != "":
		out = append(out, fmt.Sprintf("step %q failed; every step must pass", failedStep))
	case nt.failedStep != "" && !strings.HasSuffix(failedStep, nt.failedStep):
		out = append(out, fmt.Sprintf("the first failed step is %q, want the one running %s", failedStep, nt.failedStep))
	}
	for _, re := range nt.summary {
		if !regexp.MustCompile(re).MatchString(summary) {
			out = append(out, fmt.Sprintf("the job summary lacks /%s/", re))
		}
	}
	if strings.Contains(summary, "a lesson, skipped") {
		out = append(out, "a lesson spec skipped")
	}
	if dup := duplicateCases(reports); len(dup) > 0 {
		out = append(out, fmt.Sprintf("the JUnit upload's glob (reports/**/*junit*.xml) reports specs twice: %v", dup))
	}
	return out
}

// duplicateCases lists the test cases that more than one JUnit file under
// dir reports, as the workflow's glob would upload them.
func duplicateCases(dir string) []string {
	seen := map[string]string{}
	var dup []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(d.Name(), "junit") || !strings.HasSuffix(d.Name(), ".xml") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var doc struct {
			Suites []struct {
				Cases []struct {
					Name string `xml:"name,attr"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if xml.Unmarshal(b, &doc) != nil {
			return nil
		}
		for _, s := range doc.Suites {
			for _, c := range s.Cases {
				if first, ok := seen[c.Name]; ok && first != path {
					dup = append(dup, c.Name)
				}
				seen[c.Name] = path
			}
		}
		return nil
	})
	return dup
}

// stepTimeout bounds a step without timeout-minutes: the rehearsal's own
// budget for a step.
const stepTimeout = 10 * time.Minute

// runStep runs a step's script as Actions does: bash --noprofile --norc
// -eo pipefail, in the repository root.
func runStep(ctx context.Context, st step, env map[string]string, log string) error {
	limit := stepTimeout
	if st.timeoutMinutes > 0 && time.Duration(st.timeoutMinutes)*time.Minute < limit {
		limit = time.Duration(st.timeoutMinutes) * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	f, err := os.Create(log)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", st.run)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// The runner's own environment, less make's (a step's make must not
	// inherit make rehearse's flags), then the job's; no module downloads
	// in the lab's namespace.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" && env[k] == "" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "GOPROXY=off")
	err = cmd.Run()
	if ctx.Err() == context.DeadlineExceeded {
		return fmt.Errorf("timed out after %v", limit)
	}
	return err
}

func tail(path string, n int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for _, l := range lines {
		fmt.Println("     | " + l)
	}
}

// readGitHubEnv reads the KEY=VALUE lines a step appended to $GITHUB_ENV.
func readGitHubEnv(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			out[k] = v
		}
	}
	return out, nil
}

// workflow is the gpu-perf job as the rehearsal runs it.
type workflow struct {
	env   map[string]string
	steps []step
}

type step struct {
	name, run      string
	env            map[string]string
	always         bool
	timeoutMinutes int
}

// scheduleContext is what the expressions the job uses evaluate to on a
// scheduled run (no inputs; the default branch main). An expression not
// listed fails the rehearsal: add it here with its value.
var scheduleContext = map[string]string{
	"${{ inputs.route == 'gateway' && 'fixtures/baselines/gpu-gateway.json' || 'fixtures/baselines/gpu.json' }}": "fixtures/baselines/gpu.json",
	"${{ inputs.route || 'ingress' }}":                                 "ingress",
	"${{ github.event.repository.default_branch || github.ref_name }}": "main",
}

var expression = regexp.MustCompile(`\$\{\{[^}]*\}\}`)

func evaluate(v string) (string, error) {
	var err error
	out := expression.ReplaceAllStringFunc(v, func(e string) string {
		val, ok := scheduleContext[e]
		if !ok {
			err = fmt.Errorf("the workflow's expression %s is not one the rehearsal knows (cmd/rehearse: scheduleContext)", e)
		}
		return val
	})
	return out, err
}

func readWorkflow(path string) (workflow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return workflow{}, err
	}
	var doc struct {
		Jobs map[string]struct {
			Env   map[string]string
			Steps []struct {
				Name           string
				Run            string
				If             string
				Env            map[string]string
				TimeoutMinutes int `json:"timeout-minutes"`
			}
		}
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return workflow{}, fmt.Errorf("%s: %w", path, err)
	}
	job, ok := doc.Jobs["gpu-perf"]
	if !ok {
		return workflow{}, fmt.Errorf("%s: no job gpu-perf", path)
	}
	wf := workflow{env: map[string]string{}}
	for k, v := range job.Env {
		if wf.env[k], err = evaluate(v); err != nil {
			return wf, err
		}
	}
	for _, s := range job.Steps {
		st := step{name: s.Name, run: strings.TrimSpace(s.Run), always: strings.Contains(s.If, "always()"), timeoutMinutes: s.TimeoutMinutes, env: map[string]string{}}
		for k, v := range s.Env {
			if st.env[k], err = evaluate(v); err != nil {
				return wf, err
			}
		}
		if _, err := evaluate(st.run); err != nil {
			return wf, err
		}
		wf.steps = append(wf.steps, st)
	}
	return wf, nil
}
