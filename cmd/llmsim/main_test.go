package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llm-platform/harness/internal/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServesUntilStdinCloses(t *testing.T) {
	stdinR, stdinW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- sim.Serve(context.Background(), []string{"-addr", "127.0.0.1:0", "-preset", "fast", "-ttft", "1ms", "-model", "m", "-stdin"}, stdinR, outW)
		outW.Close()
	}()
	out := bufio.NewReader(outR)
	url, err := out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	banner, _ := out.ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, out) }()
	resp, err := http.Get(strings.TrimSpace(url) + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"id":"m"`) || !strings.Contains(banner, "ttft 1ms") {
		t.Errorf("models %s; banner %s", b, banner)
	}
	stdinW.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("did not stop when stdin closed")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-preset", "h100"}, {"-jitter", "2"}, {"-faults", "meteor=1"}, {"-nope"}} {
		if err := sim.Serve(context.Background(), append(args, "-addr", "127.0.0.1:0"), strings.NewReader(""), io.Discard); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
