package openai

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/llm-platform/harness/internal/record"
)

// classify maps a transport or read error to its error class. Which timer
// ended the request decides between the two timeout classes: the idle timer
// (the server sent nothing for IdleTimeout) is the server's timeout; the
// request deadline (Timeout) is the client giving up, whatever the server
// was doing, which is what NGINX logs as 499 when it happens before the
// response headers (a non-streamed request, or a stream that has not begun).
func classify(ctx context.Context, err error) record.Class {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errIdle):
		return record.Timeout
	case errors.Is(cause, errDeadline):
		return record.ClientAbort
	case cause != nil:
		// The caller cancelled: the run is stopping. The engine drops
		// such records; anyone else sees the abort for what it is.
		return record.ClientAbort
	}
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return record.ConnRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return record.ConnReset
	case errors.Is(err, io.ErrUnexpectedEOF):
		// The body's framing ended early: the stream was cut short.
		return record.StreamTruncated
	case errors.Is(err, io.EOF), strings.Contains(err.Error(), "server closed idle connection"):
		// The server closed the connection before answering (the second
		// is net/http's unexported errServerClosedIdle: a server shutting
		// down closed a kept-alive connection as the request went out).
		return record.ConnReset
	case errors.As(err, &netErr) && netErr.Timeout():
		return record.Timeout
	}
	return record.Other
}
