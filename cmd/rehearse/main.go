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
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

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
		summary: []string{`Gated against`, `### e2e through the ingress: passed`, `### perf: passed \(0 of \d+ cells failed; 0 regressed`,
			`Run history: none yet on .perf-history.`, `Run history .*: no history gate yet \(pools of 0 runs; it gates from 5\)`, `Trend of the run history: .trend\.md.`}},
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
