// Command lablog writes a file's lines to stdout as they are appended, from
// the file's start, and waits for the file to appear: the lab's stand-in
// ingress controller pod, whose container log is then the access log of the
// nginx the stand-in runs on the host (mounted into the pod), in
// ingress-nginx's format, read through the API server as a real
// controller pod's log is. It is a static Go program so that its image is
// one file; it exits 0 on SIGTERM or SIGINT.
//
//	lablog FILE
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// poll is how often the file is checked for new lines.
const poll = 100 * time.Millisecond

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: lablog FILE")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := follow(ctx, os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lablog:", err)
		os.Exit(1)
	}
}

// follow copies path's complete lines to w until ctx ends.
func follow(ctx context.Context, path string, w io.Writer) error {
	var f *os.File
	for f == nil {
		var err error
		if f, err = os.Open(path); err != nil && !os.IsNotExist(err) {
			return err
		}
		if f == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(poll):
			}
		}
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := r.ReadBytes('\n')
		partial = append(partial, line...)
		if err == nil {
			if _, err := w.Write(partial); err != nil {
				return err
			}
			partial = partial[:0]
			continue
		}
		if err != io.EOF {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(poll):
		}
	}
}
