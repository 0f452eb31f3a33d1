package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTrendAndAccept runs the command as make trend and make accept do,
// on a copy of the example history, and its refusals of bad input.
func TestTrendAndAccept(t *testing.T) {
	src := "../../fixtures/history/example"
	dir := t.TempDir()
	names, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	now := func() time.Time { return time.Date(2026, 12, 14, 9, 0, 0, 0, time.UTC) }
	var out bytes.Buffer
	if err := run([]string{"trend", "-history", dir}, &out, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "trend.md")); err != nil || !strings.Contains(out.String(), "trend of 12 runs") {
		t.Fatalf("trend: %v, %q", err, out.String())
	}
	run9 := "run-20261210T031700Z-c0ffee12ab34.json"
	if err := run([]string{"accept", "-history", dir, "-run", filepath.Join(dir, run9), "-reason", "vLLM 0.11.1"}, &out, now); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"trend", "-history", dir}, &out, now); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "trend.md"))
	if !strings.Contains(string(md), "`"+run9+"`, vLLM 0.11.1") {
		t.Errorf("trend.md does not show the acceptance:\n%s", md)
	}
	for _, bad := range [][]string{
		{},
		{"trend"},
		{"trend", "-history", filepath.Join(dir, "missing")},
		{"accept", "-history", dir, "-run", run9},
		{"accept", "-history", dir, "-run", "run-nope.json", "-reason", "x"},
		{"plot", "-history", dir},
	} {
		if err := run(bad, &out, now); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
