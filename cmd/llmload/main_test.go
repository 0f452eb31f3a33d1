package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-platform/harness/internal/sim"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSweepAgainstEmbeddedSimulator(t *testing.T) {
	recs := filepath.Join(t.TempDir(), "records.jsonl")
	var out strings.Builder
	err := run(context.Background(), []string{
		"-sim-preset", "fast", "-payload", "short", "-vus", "1,4", "-iterations-per-vu", "2", "-rate", "50", "-requests", "5", "-records", recs,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"target: embedded simulator (preset fast)", "model: TinyLlama/TinyLlama-1.1B-Chat-v1.0",
		"TTFT p50", "1 VU", "4 VUs", "50/s"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	b, err := os.ReadFile(recs)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n != 2+8+5 {
		t.Errorf("%d records, want 15", n)
	}
}

func TestJSONOutput(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-sim-preset", "fast", "-vus", "2", "-iterations", "4", "-json"}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var cell struct {
		Stats struct {
			Requests  int64 `json:"requests"`
			Successes int64 `json:"successes"`
		} `json:"stats"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &cell); err != nil || cell.Stats.Requests != 4 || cell.Stats.Successes != 4 {
		t.Fatalf("last line %q: %+v %v", lines[len(lines)-1], cell, err)
	}
}

func TestInvalidArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-payload", "short"}, "vus/rate"},
		{[]string{"-vus", "0", "-iterations", "4"}, "vus/rate"},
		{[]string{"-vus", "-1", "-iterations", "4"}, "vus:"},
		{[]string{"-vus", "8", "-iterations", "4"}, "iterations:"},
		{[]string{"-vus", "x"}, "vus:"},
		{[]string{"-vus", "1", "-payload", "huge"}, `payload: payload: "huge": unknown payload`},
		{[]string{"-vus", "1", "-target", "llm.local"}, "base_url:"},
		{[]string{"-vus", "1", "-iterations", "1", "-iterations-per-vu", "1"}, "iterations/iterations-per-vu"},
		{[]string{"-rate", "5"}, "requests/duration"},
		{[]string{"-vus", "1", "-sim-preset", "h100"}, "preset"},
		{[]string{"-vus", "1", "extra"}, "unexpected argument"},
	} {
		var out strings.Builder
		err := run(context.Background(), tc.args, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

// TestInterruptKeepsFinishedRequests: a sweep cancelled mid-cell still
// prints the requests that finished.
func TestInterruptKeepsFinishedRequests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	var out strings.Builder
	err := run(ctx, []string{"-sim-preset", "fast", "-vus", "1,2", "-iterations-per-vu", "1000"}, &out)
	if err == nil || !strings.Contains(err.Error(), "interrupted in cell 1 of 2") {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(out.String(), "1 VU") || strings.Contains(out.String(), "2 VUs") {
		t.Errorf("want the interrupted first cell only:\n%s", out.String())
	}
}

// An https target with a private CA: refused with what to set, then
// trusted through -ca-file.
func TestHTTPSTarget(t *testing.T) {
	s, err := sim.New(sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(s)
	defer func() { srv.Close(); _ = s.Close() }()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-target", srv.URL, "-payload", "short", "-vus", "2", "-iterations", "4"}
	var out strings.Builder
	if err := run(context.Background(), args, &out); err == nil || !strings.Contains(err.Error(), "set -ca-file") {
		t.Fatalf("untrusted: %v", err)
	}
	out.Reset()
	if err := run(context.Background(), append(args, "-ca-file", ca, "-json"), &out); err != nil || !strings.Contains(out.String(), `"successes":4`) {
		t.Fatalf("trusted: %v\n%s", err, out.String())
	}
}
