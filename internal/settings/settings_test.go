package settings

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/capacity"
	"github.com/llm-platform/harness/internal/gate"
	"github.com/llm-platform/harness/internal/gpu"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/trace"
)

func resolve(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	c, err := f.Config(func(k string) string { return env[k] }, "")
	if err != nil {
		return c, err
	}
	_, err = c.Load()
	return c, err
}

func TestDefaults(t *testing.T) {
	c, err := resolve(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Target != "" || c.SimPreset != "rtx3060-tinyllama" || strings.Join(c.Payloads, ",") != "short,long" ||
		len(c.Concurrency) != 5 || c.IterationsPerVU != 2 || c.Warmup != 0 ||
		c.ReportDir != "reports" || c.Tolerance != 0.07 || c.Repeats != 1 || c.Alpha != 0.05 || c.MaxCV != 0.10 || c.GateRequired || c.MaxErrorRate != 0 || c.Timeout != 2*time.Minute || !c.Progress {
		t.Errorf("defaults against the embedded simulator: %+v", c)
	}
	c, err = resolve(t, map[string]string{"PERF_TARGET": "http://127.0.0.1:8000"})
	if err != nil {
		t.Fatal(err)
	}
	if c.IterationsPerVU != 48 || c.Warmup != 1 {
		t.Errorf("defaults against a real target: iterations %d warmup %d", c.IterationsPerVU, c.Warmup)
	}
	if c, _ := resolve(t, map[string]string{"BASE_URL": "http://llm.local/v1/chat/completions"}); c.IterationsPerVU != 48 {
		t.Errorf("a target named by k6's BASE_URL takes a real target's defaults: iterations %d", c.IterationsPerVU)
	}
}

// TestDefaultsAgreeWithPackages: the table's defaults are the ones the
// packages that own each figure state for their other callers (llmload,
// the capacity search's own defaults), so a change to one shows here.
func TestDefaultsAgreeWithPackages(t *testing.T) {
	c := Defaults(false)
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"PERF_TIMEOUT", c.Timeout, openai.DefaultTimeout},
		{"PERF_TOLERANCE", c.Tolerance, gate.DefaultTolerance},
		{"PERF_ALPHA", c.Alpha, gate.DefaultAlpha},
		{"PERF_MAX_CV", c.MaxCV, gate.DefaultMaxCV},
		{"PERF_GPU_INTERVAL", c.GPUInterval, gpu.DefaultInterval},
		{"PERF_TRACE_BLOCK_TOKENS", c.TraceBlockTokens, trace.DefaultBlockTokens},
		{"PERF_SEARCH_RESOLUTION", c.SearchResolution, capacity.DefaultResolution},
		{"PERF_SEARCH_MAX_REPEATS", c.SearchMaxRepeats, capacity.DefaultMaxRepeats},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: the table's default %v, its package's %v", tc.name, tc.got, tc.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
}

func TestEnvAndFlags(t *testing.T) {
	env := map[string]string{
		"PERF_TARGET": "http://10.0.0.1:80", "PERF_HOST": "llm.local", "PERF_CONCURRENCY": "2, 8",
		"PERF_ITERATIONS_PER_VU": "10", "PERF_RATES": "0.5,4", "PERF_SLO_TTFT_MS": "250", "PERF_SLO_E2E_MS": "1500.5",
		"PERF_MAX_ERROR_RATE": "0.01", "PERF_DURATION": "30s", "PERF_WARMUP": "2", "PERF_PROGRESS": "0",
	}
	c, err := resolve(t, env, "-perf.concurrency=4", "-perf.payloads=long")
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "llm.local" || len(c.Concurrency) != 1 || c.Concurrency[0] != 4 || c.Payloads[0] != "long" ||
		c.IterationsPerVU != 10 || len(c.Rates) != 2 || c.SLOTTFT != 250*time.Millisecond || c.SLOE2E != 1500500*time.Microsecond ||
		c.MaxErrorRate != 0.01 || c.Duration != 30*time.Second || c.Progress {
		t.Errorf("%+v", c)
	}
}

func TestInvalidNamesSetting(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PERF_CONCURRENCY": "0"}, "PERF_CONCURRENCY"},
		{map[string]string{"PERF_CONCURRENCY": "four"}, "PERF_CONCURRENCY"},
		{map[string]string{"PERF_CONCURRENCY": "none"}, ""},
		{map[string]string{"PERF_RATES": "-1"}, "PERF_RATES"},
		{map[string]string{"PERF_ITERATIONS_PER_VU": "-3"}, "PERF_ITERATIONS_PER_VU"},
		{map[string]string{"PERF_ITERATIONS_PER_VU": "0"}, "PERF_ITERATIONS_PER_VU/PERF_DURATION"},
		{map[string]string{"PERF_DURATION": "soon"}, "PERF_DURATION"},
		{map[string]string{"PERF_TIMEOUT": "0s"}, "PERF_TIMEOUT"},
		{map[string]string{"PERF_PAYLOADS": "short,huge"}, "PERF_PAYLOADS"},
		{map[string]string{"PERF_PAYLOADS": " , "}, "PERF_PAYLOADS"},
		{map[string]string{"PERF_PAYLOADS_FILE": "/nonexistent.yaml"}, "PERF_PAYLOADS_FILE"},
		{map[string]string{"PERF_TARGET": "llm.local"}, "PERF_TARGET"},
		{map[string]string{"PERF_SIM_PRESET": "h100"}, "PERF_SIM_PRESET"},
		{map[string]string{"PERF_SLO_TTFT_MS": "fast"}, "PERF_SLO_TTFT_MS"},
		{map[string]string{"PERF_MAX_ERROR_RATE": "5"}, "PERF_MAX_ERROR_RATE"},
		{map[string]string{"PERF_TOLERANCE": "-0.1"}, "PERF_TOLERANCE"},
		{map[string]string{"PERF_BASELINE": "/nonexistent.json"}, "PERF_BASELINE"},
		{map[string]string{"PERF_RATES": "2", "PERF_REQUESTS": "0"}, "PERF_REQUESTS/PERF_DURATION"},
		{map[string]string{"PERF_PROGRESS": "maybe"}, "PERF_PROGRESS"},
		{map[string]string{"PERF_TRACE_FIT": "squeeze"}, "PERF_TRACE_FIT"},
		{map[string]string{"PERF_TRACE_FORMAT": "sharegpt"}, "PERF_TRACE_FORMAT"},
		{map[string]string{"PERF_MAX_MODEL_LEN": "0"}, "PERF_MAX_MODEL_LEN"},
		{map[string]string{"PERF_HISTORY_MIN_RUNS": "2"}, "PERF_HISTORY_MIN_RUNS"},
		{map[string]string{"PERF_ROUTE_KIND": "mesh"}, "PERF_ROUTE_KIND"},
		{map[string]string{"PERF_TRACE": "../../fixtures/traces/azure-conv-2023.csv", "PERF_TRACE_START": "1h"}, "PERF_TRACE_START"},
	} {
		_, err := resolve(t, tc.env)
		if tc.want == "" {
			tc.want = "PERF_CONCURRENCY/PERF_RATES"
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to name %s", tc.env, err, tc.want)
		}
	}
	if _, err := resolve(t, nil, "-perf.concurrency=x"); err == nil || !strings.Contains(err.Error(), "-perf.concurrency") {
		t.Errorf("bad flag: err = %v, want it to name the flag", err)
	}
}

func TestRelativePathsFromBase(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := Register(fs)
	_ = fs.Parse(nil)
	c, err := f.Config(func(k string) string {
		return map[string]string{"PERF_REPORT_DIR": "out/r", "PERF_HISTORY": "perf-history"}[k]
	}, "/repo")
	if err != nil {
		t.Fatal(err)
	}
	if c.ReportDir != filepath.Join("/repo", "out/r") || c.History != filepath.Join("/repo", "perf-history") {
		t.Errorf("report dir %q, history %q", c.ReportDir, c.History)
	}
}

// TestEverySettingDocumented keeps Settings and the README's table one list.
func TestEverySettingDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range Settings {
		if !strings.HasPrefix(s.Env, "PERF_") || !strings.HasPrefix(s.Flag, "perf.") || s.Help == "" || seen[s.Env] {
			t.Errorf("setting %+v", s)
		}
		seen[s.Env] = true
	}
}

// userDocs are the pages a user reads for the settings: the README (the
// most used) and docs/configuration.md (the full table).
var userDocs = []string{"../../README.md", "../../docs/configuration.md", "../../docs/workloads.md"}

// TestDocsListEverySetting: docs/configuration.md's table names every
// setting with its flag and its default as the table states it (one
// source: a default changed in the code shows here), and the user's pages
// name no PERF_ variable the code lacks.
func TestDocsListEverySetting(t *testing.T) {
	b, err := os.ReadFile(userDocs[1])
	if err != nil {
		t.Fatal(err)
	}
	table := string(b)
	known := map[string]bool{}
	for _, s := range Settings {
		known[s.Env] = true
		row := fmt.Sprintf("| `%s` | `-%s` | %s |", s.Env, s.Flag, s.DefaultDoc())
		if !strings.Contains(table, row) {
			t.Errorf("docs/configuration.md's table lacks the row %s", row)
		}
	}
	readme, err := os.ReadFile(userDocs[0])
	if err != nil {
		t.Fatal(err)
	}
	short := 0
	for _, s := range Settings {
		if strings.Contains(string(readme), "| `"+s.Env+"` |") {
			short++
			if row := fmt.Sprintf("| `%s` | %s |", s.Env, s.DefaultDoc()); !strings.Contains(string(readme), row) {
				t.Errorf("the README's short table lacks the row %s", row)
			}
		}
	}
	if short < 5 {
		t.Errorf("the README's table of the most used settings has %d rows", short)
	}
	for _, p := range userDocs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\bPERF_[A-Z0-9_]*[A-Z0-9]`).FindAllString(string(b), -1) {
			if !known[m] {
				t.Errorf("%s names %s, which no setting reads", p, m)
			}
		}
	}
}

// FuzzSetting: any value of any setting resolves or fails with an error
// naming that setting; never a panic.
func FuzzSetting(f *testing.F) {
	for i, s := range Settings {
		f.Add(i, s.Default)
		f.Add(i, "-1")
		f.Add(i, "1,2,,x")
	}
	f.Fuzz(func(t *testing.T, i int, v string) {
		if i < 0 || i >= len(Settings) || strings.Contains(v, "\x00") {
			return
		}
		s := Settings[i]
		if s.Env == "PERF_PAYLOADS_FILE" || s.Env == "PERF_BASELINE" || s.Env == "PERF_COMPARE" || s.Env == "PERF_CA_FILE" || s.Env == "PERF_TRACE" {
			return // paths: reading arbitrary files is not what is fuzzed here
		}
		_, err := resolve(t, map[string]string{s.Env: v})
		if err != nil && !strings.Contains(err.Error(), "PERF_") {
			t.Fatalf("%s=%q: error names no setting: %v", s.Env, v, err)
		}
	})
}

// The team's k6 command's variables, taken with k6's meaning: the target
// from the full chat-completions URL, one payload, one concurrency, and
// ITERATIONS shared by the VUs (no divisibility needed).
func TestK6Variables(t *testing.T) {
	c, err := resolve(t, map[string]string{"BASE_URL": "http://llm.local/v1/chat/completions", "PAYLOAD_TYPE": "short", "VUS": "4", "ITERATIONS": "192"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Target != "http://llm.local" || c.Host != "" || strings.Join(c.Payloads, ",") != "short" || len(c.Concurrency) != 1 || c.Concurrency[0] != 4 ||
		c.Iterations != 192 || c.Warmup != 1 || len(c.K6) != 4 {
		t.Fatalf("config %+v", c)
	}
	if line := c.K6Line(); line != "perf: taken from k6 variables: BASE_URL=http://llm.local/v1/chat/completions (for PERF_TARGET), "+
		"PAYLOAD_TYPE=short (for PERF_PAYLOADS), VUS=4 (for PERF_CONCURRENCY), ITERATIONS=192 (for PERF_ITERATIONS_PER_VU)" {
		t.Errorf("first line %q", line)
	}
	c, err = resolve(t, map[string]string{"VUS": "4", "ITERATIONS": "10"})
	if err != nil || c.Iterations != 10 || c.Concurrency[0] != 4 {
		t.Errorf("10 iterations at 4 VUs: %v %+v", err, c)
	}
	if c, _ := resolve(t, nil); c.K6Line() != "" || c.K6 != nil {
		t.Errorf("no k6 variable set: %q", c.K6Line())
	}
	for in, want := range map[string]string{
		"http://gw/llm/v1/chat/completions":           "http://gw/llm",
		"http://llm.local":                            "http://llm.local",
		"http://llm.local/":                           "http://llm.local",
		"http://llm.local/v1":                         "http://llm.local",
		"https://llm.local:8443/v1/chat/completions/": "https://llm.local:8443",
		"http://10.0.0.1/team/llm":                    "http://10.0.0.1/team/llm",
	} {
		c, err := resolve(t, map[string]string{"BASE_URL": in})
		if err != nil || c.Target != want {
			t.Errorf("BASE_URL=%s: target %q, %v; want %q", in, c.Target, err, want)
		}
	}
}

func TestK6VariableErrors(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		flags []string
		want  string
	}{
		{map[string]string{"BASE_URL": "http://a", "PERF_TARGET": "http://a"}, nil, "BASE_URL and PERF_TARGET are both set"},
		{map[string]string{"PAYLOAD_TYPE": "short", "PERF_PAYLOADS": "long"}, nil, "PAYLOAD_TYPE and PERF_PAYLOADS are both set"},
		{map[string]string{"VUS": "4"}, []string{"-perf.concurrency=4"}, "VUS and PERF_CONCURRENCY are both set"},
		{map[string]string{"ITERATIONS": "192", "PERF_ITERATIONS_PER_VU": "48"}, nil, "ITERATIONS and PERF_ITERATIONS_PER_VU are both set"},
		{map[string]string{"BASE_URL": "llm.local/v1/chat/completions"}, nil, "BASE_URL (k6)"},
		{map[string]string{"BASE_URL": "http://llm.local/v1/chat/completions?x=1"}, nil, "a query or fragment is not sent"},
		{map[string]string{"VUS": "0"}, nil, "VUS (k6)"},
		{map[string]string{"VUS": "2,4"}, nil, "VUS (k6)"},
		{map[string]string{"ITERATIONS": "x"}, nil, "ITERATIONS (k6)"},
		{map[string]string{"VUS": "4", "ITERATIONS": "2"}, nil, "ITERATIONS: 2 is fewer than 4 VUs"},
		{map[string]string{"PAYLOAD_TYPE": "huge"}, nil, "PERF_PAYLOADS"},
	} {
		if _, err := resolve(t, tc.env, tc.flags...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: %v, want %q", tc.env, tc.flags, err, tc.want)
		}
	}
}

// docs/configuration.md's k6 table names every k6 variable with its twin.
func TestDocsListK6Variables(t *testing.T) {
	b, err := os.ReadFile(userDocs[1])
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range K6Variables {
		if !strings.Contains(string(b), fmt.Sprintf("| `%s` | `%s` |", k.Name, k.Twin)) {
			t.Errorf("docs/configuration.md's k6 table lacks %s (%s)", k.Name, k.Twin)
		}
	}
}

// TestTraceWindow: PERF_TRACE_START and PERF_TRACE_DURATION take a window
// of the trace, in its own time: the Azure excerpt's 5 requests 2 s to 7 s
// after its first.
func TestTraceWindow(t *testing.T) {
	c, err := resolve(t, map[string]string{"PERF_TRACE": "../../fixtures/traces/azure-conv-2023.csv", "PERF_TRACE_START": "2s", "PERF_TRACE_DURATION": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.Load()
	if err != nil {
		t.Fatal(err)
	}
	first := in.Replay[0].Timestamp
	if len(in.Replay) != 5 || in.ReplayNotes.Format != "azure" || first < 1700158546680+2000 || in.Replay[len(in.Replay)-1].Timestamp >= 1700158546680+7000 {
		t.Errorf("%d requests, format %q, from %d to %d", len(in.Replay), in.ReplayNotes.Format, first, in.Replay[len(in.Replay)-1].Timestamp)
	}
}
