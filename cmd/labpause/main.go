// Command labpause is the lab's pod sandbox ("pause") program: the first
// process of every pod on the lab's real node, holding the pod's
// namespaces. It waits for SIGTERM or SIGINT and exits 0, and reaps the
// zombies a pod's shared PID namespace hands it, as Kubernetes' own pause
// does. It is a static Go program so that its image is one file.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run(nil)) }

// run installs the handlers, calls ready (when not nil), and waits.
func run(ready func()) int {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	if ready != nil {
		ready()
	}
	return wait(sig)
}

// wait reaps children on SIGCHLD and returns on SIGINT or SIGTERM.
func wait(sig <-chan os.Signal) int {
	for s := range sig {
		if s != syscall.SIGCHLD {
			return 0
		}
		for {
			var ws syscall.WaitStatus
			if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
				break
			}
		}
	}
	return 0
}
