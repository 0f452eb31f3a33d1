package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-count", "0"}, "count 0: must be > 0"},
		{[]string{"-resource", "gpu"}, `resource "gpu"`},
		{[]string{"-dir", ""}, "dir: must name"},
		{[]string{"-bogus"}, "flag provided but not defined"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), c.args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

// Stopped before any kubelet appears, it says what it waited for and ends
// cleanly.
func TestStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-dir", t.TempDir(), "-count", "2"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 x nvidia.com/gpu ([GPU-lab-0 GPU-lab-1])") {
		t.Errorf("output %q", out.String())
	}
}
