package history

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/results"
)

func testRun(start time.Time, commit string) *results.Run {
	return &results.Run{Schema: results.Schema, Start: start, Model: "m", GitCommit: commit, Stack: results.Stack{RouteKind: "ingress"}}
}

// TestAppendNeverOverwrites: a run's file is named by its start and
// commit; a second run of the same second and commit gets a suffix; an
// interrupted run is refused; Load reads them back oldest first.
func TestAppendNeverOverwrites(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "h")
	h, err := Load(dir)
	if err != nil || len(h.Entries) != 0 {
		t.Fatalf("a missing folder: %v, %d entries", err, len(h.Entries))
	}
	t0 := time.Date(2026, 12, 7, 3, 17, 0, 0, time.UTC)
	names := []string{}
	for _, r := range []*results.Run{testRun(t0.Add(time.Hour), "0123456789abcdef"), testRun(t0, "0123456789abcdef"), testRun(t0, "0123456789abcdef")} {
		n, err := h.Append(r)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	want := []string{"run-20261207T041700Z-0123456789ab.json", "run-20261207T031700Z-0123456789ab.json", "run-20261207T031700Z-0123456789ab-2.json"}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("name %d: %s, want %s", i, names[i], want[i])
		}
	}
	interrupted := testRun(t0, "x")
	interrupted.Interrupted = true
	if _, err := h.Append(interrupted); err == nil {
		t.Error("an interrupted run was appended")
	}
	back, err := Load(dir)
	if err != nil || len(back.Entries) != 3 || back.Entries[2].File != want[0] {
		t.Fatalf("Load: %v, %+v", err, back.Entries)
	}
	if err := os.WriteFile(filepath.Join(dir, "run-broken.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "run-broken.json") {
		t.Errorf("a broken run file: %v, want an error naming it", err)
	}
}

// TestAccept: an acceptance needs a reason and a run of the history, and
// a pool after it starts at the accepted run.
func TestAccept(t *testing.T) {
	h := &History{Dir: t.TempDir()}
	t0 := time.Date(2026, 12, 1, 3, 17, 0, 0, time.UTC)
	var files []string
	for n := range 8 {
		r := testRun(t0.AddDate(0, 0, n), "c")
		v := 10.0
		if n >= 4 {
			v = 13 // 30% slower from the fifth run
		}
		c := results.OneRepeat(results.Cell{Payload: "p", Mode: "closed", Concurrency: 1, ITL: results.Dist{P50: v + 0.01*float64(n%2)}})
		r.Cells = []results.Cell{c}
		name, err := h.Append(r)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	if _, err := h.Accept(files[4], " ", t0); err == nil || !strings.Contains(err.Error(), "REASON") {
		t.Errorf("no reason: %v", err)
	}
	if _, err := h.Accept("run-nope.json", "x", t0); err == nil || !strings.Contains(err.Error(), "RUN") {
		t.Errorf("unknown run: %v", err)
	}
	_, o := defaultGate()
	next := testRun(t0.AddDate(0, 0, 9), "c")
	if p := h.Pools(next, "p/closed/1", o)["itl_p50_ms"]; p.Unaccepted != files[4] || len(p.Medians) != 4 {
		t.Errorf("before the acceptance: %+v, want the 4 runs before an unaccepted change at %s", p, files[4])
	}
	if _, err := h.Accept(files[4], "vLLM 0.11.1: slower decode, accepted", t0.AddDate(0, 0, 9)); err != nil {
		t.Fatal(err)
	}
	back, err := Load(h.Dir)
	if err != nil || len(back.Accepted) != 1 {
		t.Fatalf("Load: %v, %+v", err, back.Accepted)
	}
	p := back.Pools(next, "p/closed/1", o)["itl_p50_ms"]
	if p.Unaccepted != "" || len(p.Medians) != 4 || p.Runs[0] != files[4] || !strings.HasPrefix(p.Since, "accepted at "+files[4]) {
		t.Errorf("after the acceptance: %+v, want the 4 runs from %s", p, files[4])
	}
}
