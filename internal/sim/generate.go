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
	written      []time.Time // each choices event flushed, when Config.Delivered is set
	buf          []byte
	held         int64 // KV cache tokens the sequence holds
	slot         bool  // it holds a running slot
}

// tokens paces a generation: token k is due at first plus the ITLs before
// it, each ITL taken at the running batch's current size (so a sequence
// slows down while others join it), on an absolute schedule so timer slack
// never accumulates. emit is called for each token when it is due and may
// end the generation by returning false; tokens reports whether every token
// was emitted.
func (g *generation) tokens(ctx context.Context, first time.Time, emit func(k int) bool) bool {
	wt := g.s.clk.NewWaiter()
	due := first
	for k := range g.maxTokens {
		if k > 0 {
			due = due.Add(g.s.itl())
			if !g.s.kv.try(1) {
				var ok bool
				if due, ok = g.preempt(ctx); !ok {
					return false
				}
			}
			g.held++
		}
		if !wt.Until(ctx, due) {
			return false
		}
		if k == 0 {
			g.firstAt = time.Now()
		}
		if !emit(k) {
			return false
		}
	}
	return true
}

// preempt frees the sequence's KV cache, sends it back to the waiting
// queue, and when a slot and room for everything it held (and the token it
// needs) come back, recomputes them: the next token is due after a prefill
// of all of them. It returns that instant, or false when ctx ended.
func (g *generation) preempt(ctx context.Context) (time.Time, bool) {
	s := g.s
	s.m.preempt.Inc()
	held := g.held
	s.kv.free(held)
	g.held = 0
	s.release()
	g.slot = false
	if _, ok := s.admit(ctx, time.Now()); !ok {
		return time.Time{}, false
	}
	g.slot = true
	if !s.kv.wait(ctx, held+1) {
		return time.Time{}, false
	}
	g.held = held // the caller counts the new token
	return time.Now().Add(s.scale(s.prefill(s.cfg.TTFT + time.Duration(held)*s.cfg.PrefillPerToken))), true
}

// midpoint is the token at which mid-stream faults strike.
func (g *generation) midpoint() int { return g.maxTokens / 2 }

// cutShort applies the faults that end a response early (a reset
// connection, a stall) and reports whether one did.
func (g *generation) cutShort(ctx context.Context) bool {
	switch g.fault {
	case FaultDisconnect:
		resetConn(g.w)
		return true
	case FaultStall:
		hang(ctx, g.s.cfg.HangLimit)
		return true
	}
	return false
}

// stream writes the SSE response token by token. It reports whether the
// request completed.
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
	ok := g.tokens(ctx, first, func(k int) bool {
		if k == g.midpoint() {
			if g.cutShort(ctx) {
				return false
			}
			if g.fault == FaultMalformed {
				_, _ = g.w.Write([]byte("data: {\"choices\": [{\"delta\": \n\n"))
			}
		}
		g.buf = g.buf[:0]
		if k == 0 && g.chat { // vLLM sends the role alone, in the same step as the first token
			g.buf = g.appendRoleChunk(g.buf)
		}
		g.buf = g.appendChunk(g.buf, k)
		_, err := g.w.Write(g.buf)
		flush()
		if g.s.cfg.Delivered != nil {
			// The role chunk and the first token leave in one write.
			now := time.Now()
			if k == 0 && g.chat {
				g.written = append(g.written, now)
			}
			g.written = append(g.written, now)
		}
		return err == nil
	})
	if !ok {
		return false
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

// whole generates on the same schedule as stream, then writes one JSON
// response.
func (g *generation) whole(ctx context.Context, first time.Time) bool {
	ok := g.tokens(ctx, first, func(k int) bool { return k != g.midpoint() || !g.cutShort(ctx) })
	if !ok {
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
