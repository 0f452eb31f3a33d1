package sweep

import (
	"flag"
	"testing"

	"github.com/llm-platform/harness/internal/settings"
)

// resolve is what the perf suite does with its flags and environment:
// the settings (package settings), then the files they name (Load).
func resolve(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	f := settings.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	s, err := f.Config(func(k string) string { return env[k] }, "")
	if err != nil {
		return Config{Config: s}, err
	}
	return Load(s)
}

// config is resolve over a small sweep's settings (one payload, 2 VUs, 2
// requests each, the fast simulator preset) with env on top; it fails the
// test on an error.
func config(t *testing.T, env map[string]string) Config {
	t.Helper()
	base := map[string]string{"PERF_REPORT_DIR": t.TempDir(), "PERF_PAYLOADS": "short", "PERF_CONCURRENCY": "2",
		"PERF_ITERATIONS_PER_VU": "2", "PERF_SIM_PRESET": "fast"}
	for k, v := range env {
		base[k] = v
	}
	c, err := resolve(t, base)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
