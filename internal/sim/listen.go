package sim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// shutdownGrace is how long Close lets in-flight requests finish before
// dropping them (a hang fault would otherwise hold Close for HangLimit).
const shutdownGrace = 2 * time.Second

// Instance is a simulator serving on a loopback port.
type Instance struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234.
	URL    string
	Server *Server
	http   *http.Server
	done   chan error
}

// Start serves a simulator for cfg on addr ("127.0.0.1:0" picks a free
// loopback port when addr is empty).
func Start(cfg Config, addr string) (*Instance, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("sim: listen %s: %w", addr, err)
	}
	in := &Instance{
		URL:    "http://" + ln.Addr().String(),
		Server: s,
		http:   &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		done:   make(chan error, 1),
	}
	go func() { in.done <- in.http.Serve(ln) }()
	return in, nil
}

// Close stops the server: in-flight requests get shutdownGrace, then their
// connections are closed.
func (in *Instance) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := in.http.Shutdown(ctx)
	if err != nil {
		err = in.http.Close()
	}
	if serr := <-in.done; !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("sim: serve: %w", serr)
	}
	if cerr := in.Server.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sim: close: %w", err)
	}
	return nil
}
