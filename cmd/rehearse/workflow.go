package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"
)

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
