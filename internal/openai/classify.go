package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/valyala/fastjson"

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

// contextOverflow is what the error body of an over-long request says,
// in vLLM ("This model's maximum context length is %d tokens. However, you
// requested ...": vllm/entrypoints/openai/serving_engine.py, the input
// validation of every completion request) and in llm-d-inference-sim (the
// same sentence, pkg/llm-d-inference-sim/request.go), each with status 400.
// errorHead is how much of an error body is read to find it.
var contextOverflow = []byte("maximum context length")

const errorHead = 1024

// errorEventClass classifies an error a stream carried in place of its
// tokens (HTTP 200, then `data: {"error": {...}}`): llm-d-inference-sim
// answers a streamed request over the context window so, and vLLM reports
// errors that arise mid-stream so. Its code is the status it stands for.
func errorEventClass(e *fastjson.Value) record.Class {
	code := e.GetInt("code")
	switch {
	case code == http.StatusBadRequest && bytes.Contains(e.GetStringBytes("message"), contextOverflow):
		return record.ContextOverflow
	case code >= 400:
		return statusClass(code)
	}
	return record.BadEvent
}

func statusClass(code int) record.Class {
	switch {
	case code == http.StatusTooManyRequests:
		return record.HTTP429
	case code >= 500:
		return record.HTTP5xx
	case code >= 400:
		return record.HTTP4xx
	}
	return record.Other // a 3xx (redirects are not followed) or an unexpected 2xx
}
