package main

import (
	"context"
	"encoding/xml"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/labnode"
	"github.com/llm-platform/harness/internal/standin"
)

// nightEnv is the job's env, then what the lab changes: the lab's overlay
// ov, a CPU count the lab has, and the GPU the lab does not have (the
// rehearsal checks the workflow, not the GPU sampler; make gpu-check does
// that). dir is the night's folder, reports its report folder.
func nightEnv(o options, wf workflow, dir, ov, reports string) map[string]string {
	env := maps.Clone(wf.env)
	maps.Copy(env, map[string]string{
		"GITHUB_ENV": filepath.Join(dir, "github-env"), "GITHUB_STEP_SUMMARY": filepath.Join(dir, "step-summary.md"), "RUNNER_TEMP": dir, "CI": "true",
		"PATH":               filepath.Join(o.work, "bin") + ":" + o.standins + ":" + os.Getenv("PATH"),
		standin.HomeVariable: filepath.Join(o.work, "minikube-home"),
		"KUBECONFIG":         filepath.Join(o.work, "kubeconfig"),
		"BASELINE_REPO":      filepath.Join(o.work, "default-branch"),
		// Its perf-history branch does not exist: each night starts a run
		// history of its own (the history job, which writes the branch on
		// the box, is not part of the rehearsal).
		"HISTORY_REPO":    filepath.Join(o.work, "default-branch"),
		"OVERLAY":         ov,
		"PERF_REPORT_DIR": reports, "E2E_REPORT_DIR": filepath.Join(reports, "e2e"),
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
	return env
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
	reports := filepath.Join(dir, "reports")
	env := nightEnv(o, wf, dir, ov, reports)
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
