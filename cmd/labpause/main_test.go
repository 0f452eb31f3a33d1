package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

var child = flag.Bool("child", false, "run as labpause (TestExitsOnSIGTERM's child)")

// Run as a child: SIGTERM ends it with status 0.
func TestExitsOnSIGTERM(t *testing.T) {
	if *child {
		os.Exit(run(func() { fmt.Println("ready") }))
	}
	cmd := exec.Command(os.Args[0], "-test.run=TestExitsOnSIGTERM", "-child")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Its handlers are installed once it says so.
	if line, _ := bufio.NewReader(out).ReadString('\n'); strings.TrimSpace(line) != "ready" {
		t.Fatalf("child said %q", line)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v, want exit 0", err)
	}
}

// zombie waits until pid has exited and awaits reaping.
func zombie(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a bound on a hang
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d never exited", pid)
		}
		time.Sleep(5 * time.Millisecond) // polling /proc
	}
}

// A dead child is reaped on SIGCHLD, and the loop goes on to SIGTERM.
func TestReaps(t *testing.T) {
	child := exec.Command("true")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid := child.Process.Pid
	zombie(t, pid)
	sig := make(chan os.Signal, 2)
	sig <- syscall.SIGCHLD
	sig <- syscall.SIGTERM
	if code := wait(sig); code != 0 {
		t.Fatalf("code %d", code)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		t.Errorf("child %d still exists: not reaped", pid)
	}
}
