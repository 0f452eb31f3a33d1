package sim

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// vocabulary is what the simulator "generates": one entry per token.
var vocabulary = []string{"The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. "}

// generation is one request's output, written as the latency model says.
type generation struct {
	s            *Server
	w            http.ResponseWriter
	chat         bool
	model        string
	fault        Fault
	id           []byte
	maxTokens    int
	promptTokens int
	usage        bool
	firstAt      time.Time
	buf          []byte
}

// stream writes the SSE response token by token on an absolute schedule
// (token k is due at first + the sum of the ITLs before it), so timer
// slack never accumulates. It reports whether the request completed.
func (g *generation) stream(ctx context.Context, first time.Time) bool {
	h := g.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	g.w.WriteHeader(http.StatusOK)
	fl, _ := g.w.(http.Flusher)
	flush := func() {
		if fl != nil {
			fl.Flush()
		}
	}
	flush()

	wt := g.s.clk.NewWaiter()
	due := first
	cut := g.maxTokens / 2 // where mid-stream faults strike
	for k := 0; k < g.maxTokens; k++ {
		if k > 0 {
			due = due.Add(g.s.itl())
		}
		if !wt.Until(ctx, due) {
			return false
		}
		if k == cut {
			switch g.fault {
			case FaultDisconnect:
				resetConn(g.w)
				return false
			case FaultStall:
				hang(ctx, g.s.cfg.HangLimit)
				return false
			case FaultMalformed:
				_, _ = g.w.Write([]byte("data: {\"choices\": [{\"delta\": \n\n"))
				flush()
			}
		}
		g.buf = g.buf[:0]
		if k == 0 {
			g.firstAt = time.Now()
			if g.chat { // vLLM sends the role alone, in the same step as the first token
				g.buf = g.appendRoleChunk(g.buf)
			}
		}
		g.buf = g.appendChunk(g.buf, k)
		if _, err := g.w.Write(g.buf); err != nil {
			return false
		}
		flush()
	}
	if g.usage {
		g.buf = g.appendUsageChunk(g.buf[:0])
		_, _ = g.w.Write(g.buf)
	}
	if g.fault != FaultNoDone {
		_, _ = g.w.Write([]byte("data: [DONE]\n\n"))
	}
	flush()
	return true
}

// whole waits out the whole generation, then writes one JSON response.
func (g *generation) whole(ctx context.Context, first time.Time) bool {
	due := first
	for k := 1; k < g.maxTokens; k++ {
		due = due.Add(g.s.itl())
	}
	wt := g.s.clk.NewWaiter()
	if !wt.Until(ctx, first) {
		return false
	}
	g.firstAt = time.Now()
	if !wt.Until(ctx, due) {
		return false
	}
	switch g.fault {
	case FaultDisconnect:
		resetConn(g.w)
		return false
	case FaultStall:
		hang(ctx, g.s.cfg.HangLimit)
		return false
	}
	b := g.appendHead(g.buf[:0], false)
	b = append(b, `"choices":[{"index":0,`...)
	var text []byte
	for k := 0; k < g.maxTokens; k++ {
		text = append(text, vocabulary[k%len(vocabulary)]...)
	}
	if g.chat {
		b = append(b, `"message":{"role":"assistant","content":`...)
		b = strconv.AppendQuote(b, string(text))
		b = append(b, '}')
	} else {
		b = append(b, `"text":`...)
		b = strconv.AppendQuote(b, string(text))
	}
	b = append(b, `,"finish_reason":"length"}],`...)
	b = g.appendUsage(b)
	b = append(b, "}\n"...)
	if g.fault == FaultMalformed {
		b = b[:len(b)/2]
	}
	g.w.Header().Set("Content-Type", "application/json")
	_, err := g.w.Write(b)
	return err == nil
}

func (g *generation) appendHead(b []byte, chunk bool) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, g.id...)
	switch {
	case g.chat && chunk:
		b = append(b, `","object":"chat.completion.chunk","created":`...)
	case g.chat:
		b = append(b, `","object":"chat.completion","created":`...)
	default:
		b = append(b, `","object":"text_completion","created":`...)
	}
	b = strconv.AppendInt(b, g.s.created, 10)
	b = append(b, `,"model":`...)
	b = strconv.AppendQuote(b, g.model)
	return append(b, ',')
}

// appendChunk appends the SSE event for token k.
func (g *generation) appendChunk(b []byte, k int) []byte {
	b = append(b, "data: "...)
	b = g.appendHead(b, true)
	b = append(b, `"choices":[{"index":0,`...)
	tok := strconv.Quote(vocabulary[k%len(vocabulary)])
	switch {
	case g.chat:
		b = append(b, `"delta":{"content":`...)
		b = append(b, tok...)
		b = append(b, '}')
	default:
		b = append(b, `"text":`...)
		b = append(b, tok...)
	}
	if k == g.maxTokens-1 {
		b = append(b, `,"finish_reason":"length"}]}`...)
	} else {
		b = append(b, `,"finish_reason":null}]}`...)
	}
	return append(b, "\n\n"...)
}

func (g *generation) appendRoleChunk(b []byte) []byte {
	b = append(b, "data: "...)
	b = g.appendHead(b, true)
	return append(b, `"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n"...)
}

func (g *generation) appendUsageChunk(b []byte) []byte {
	b = append(b, "data: "...)
	b = g.appendHead(b, true)
	b = append(b, `"choices":[],`...)
	b = g.appendUsage(b)
	return append(b, "}\n\n"...)
}

func (g *generation) appendUsage(b []byte) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(g.promptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(g.maxTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(g.promptTokens+g.maxTokens), 10)
	return append(b, '}')
}
