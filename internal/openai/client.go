// Package openai is the streaming chat-completions client the load engine
// drives: one call is one request, measured into a record.Record exactly as
// docs/metrics.md defines TTFT, ITL, TPOT, E2E, token
// counts and error classes.
//
// The request body is encoded once per Client (every request of a cell is the
// same payload); events are decoded by package sse (arrival-stamped, no
// allocation per event) and each chunk's JSON by github.com/valyala/fastjson,
// whose reusable Parser validates and indexes a chunk without allocating:
// encoding/json allocated about 1 KiB per chunk here, which at tens of
// thousands of chunks a second made the load generator's own GC pauses show
// up in the TTFT tail it measures. Decoders and parsers are pooled per Client.
// Use a Client for measurement; it is not a general OpenAI SDK.
package openai

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fastjson"

	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/sse"
)

// Defaults for Config fields left zero.
const (
	// DefaultTimeout bounds one request end to end. A 256-token generation
	// on the team's RTX 3060 takes a few seconds even at concurrency 16;
	// two minutes leaves room for queueing without letting a run hang.
	DefaultTimeout = 2 * time.Minute
	// DefaultIdleTimeout is the longest silence (before headers, or between
	// stream bytes) treated as a live server: past it the request is a
	// timeout. vLLM sends a chunk per token, so 30 s of silence is a stall.
	DefaultIdleTimeout = 30 * time.Second
	// DefaultDialTimeout bounds connection set-up.
	DefaultDialTimeout = 5 * time.Second
)

// drainLimit is how much of an error response or post-[DONE] tail is read
// so the connection can be reused.
const drainLimit = 64 << 10

// Message is one chat message.
type Message struct {
	Role    string `json:"role" yaml:"role"`
	Content string `json:"content" yaml:"content"`
}

// Config says where and how requests are sent.
type Config struct {
	Endpoint
	// Model is the model name sent in every request.
	Model string
	// Messages is the prompt.
	Messages []Message
	// MaxTokens is the output length; with ignore_eos every request
	// generates exactly this many tokens.
	MaxTokens int
	// Prompts, when set, replace Messages: request i sends Prompts[i mod
	// len], by its record's Seq, so a cell cycles through them in order.
	Prompts []Prompt
	// NoStream sends stream: false (used to compare with tools such as hey
	// that cannot stream). TTFT then equals E2E.
	NoStream bool
	// Timeout bounds each request end to end (DefaultTimeout when zero);
	// when it ends a request, the class is client_abort.
	Timeout time.Duration
	// IdleTimeout bounds silence before headers and between stream reads
	// (DefaultIdleTimeout when zero); past it the class is timeout.
	IdleTimeout time.Duration
	// MaxConns is the number of idle connections kept for reuse; set it to
	// the concurrency. Zero means http.DefaultMaxIdleConnsPerHost.
	MaxConns int
	// UserAgent, when set, is every request's User-Agent: an access log
	// that records it (ingress-nginx's and NGF's do) then tells these
	// requests from any other.
	UserAgent string
}

// Validate reports the first invalid field, by name.
func (c Config) Validate() error {
	if err := c.Endpoint.Validate(); err != nil {
		return err
	}
	switch {
	case c.Model == "":
		return errors.New("openai: config: model: must be set")
	case len(c.Messages) == 0 && len(c.Prompts) == 0:
		return errors.New("openai: config: messages: at least one is needed")
	case c.MaxTokens <= 0:
		return fmt.Errorf("openai: config: max_tokens: %d: must be > 0", c.MaxTokens)
	case c.Timeout < 0:
		return fmt.Errorf("openai: config: timeout: %v: must be >= 0", c.Timeout)
	case c.IdleTimeout < 0:
		return fmt.Errorf("openai: config: idle_timeout: %v: must be >= 0", c.IdleTimeout)
	case c.MaxConns < 0:
		return fmt.Errorf("openai: config: max_conns: %d: must be >= 0", c.MaxConns)
	}
	return nil
}

// Prompt is one of several prompts a Client sends in turn.
type Prompt struct {
	Messages []Message
	// MaxTokens, when > 0, is this prompt's output length (a replayed
	// trace's), instead of Config.MaxTokens.
	MaxTokens int
	// Tokens, when > 0, is the prompt's exact token count (it was sized
	// through the server's /tokenize): a usage.prompt_tokens that differs
	// sets the record's PromptMismatch.
	Tokens int
}

// chatRequest is the wire form of a request.
type chatRequest struct {
	Model         string         `json:"model"`
	Messages      []Message      `json:"messages"`
	MaxTokens     int            `json:"max_tokens"`
	Stream        bool           `json:"stream"`
	StreamOptions *streamOptions `json:"stream_options,omitempty"`
	// IgnoreEOS is vLLM's extra parameter: generate exactly max_tokens.
	IgnoreEOS bool `json:"ignore_eos"`
}

type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// Client sends one kind of request repeatedly. It is safe for concurrent use.
type Client struct {
	cfg     Config
	url     string
	bodies  [][]byte // one per prompt, encoded once
	expect  []int    // each prompt's exact token count, 0 when unknown
	header  http.Header
	http    *http.Client
	parsers sync.Pool // of *parser
}

// New validates cfg and returns a Client with its own connection pool.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	prompts := cfg.Prompts
	if len(prompts) == 0 {
		prompts = []Prompt{{Messages: cfg.Messages}}
	}
	var bodies [][]byte
	var expect []int
	for _, p := range prompts {
		req := chatRequest{Model: cfg.Model, Messages: p.Messages, MaxTokens: cmp.Or(p.MaxTokens, cfg.MaxTokens), Stream: !cfg.NoStream, IgnoreEOS: true}
		if req.Stream {
			req.StreamOptions = &streamOptions{IncludeUsage: true}
		}
		body, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("openai: encode request: %w", err)
		}
		bodies, expect = append(bodies, body), append(expect, p.Tokens)
	}
	tr := &http.Transport{
		Proxy:                 nil, // a load test measures the target, never an environment proxy
		DialContext:           (&net.Dialer{Timeout: DefaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          0,
		MaxIdleConnsPerHost:   cfg.MaxConns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // the watchdog covers the wait for headers, with a classified cause
		// Compression would make a proxy buffer the stream and hide TTFT.
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
	}
	tr.TLSClientConfig = cfg.tlsClient()
	header := http.Header{"Content-Type": {"application/json"}}
	if !cfg.NoStream {
		header.Set("Accept", "text/event-stream")
	}
	if cfg.APIKey != "" {
		header.Set("Authorization", "Bearer "+cfg.APIKey)
	}
	if cfg.UserAgent != "" {
		header.Set("User-Agent", cfg.UserAgent)
	}
	return &Client{
		cfg:    cfg,
		header: header,
		url:    strings.TrimRight(cfg.BaseURL, "/") + chatCompletions,
		bodies: bodies,
		expect: expect,
		// A redirect is recorded, not followed: following a 302 would turn
		// the POST into a GET against some other endpoint.
		http:    &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		parsers: sync.Pool{New: func() any { return &parser{sse: sse.NewDecoder(nil)} }},
	}, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Sentinel causes for the per-request context, so a cancellation can be
// classified by why it happened.
var (
	errDeadline = errors.New("request deadline")
	errIdle     = errors.New("idle timeout")
)

// Do sends one request and fills rec (which the caller has Reset). A failure
// is recorded in rec, never returned: the caller's only decision is what to
// do with the record.
func (c *Client) Do(ctx context.Context, rec *record.Record) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := startWatchdog(cancel, c.cfg.Timeout, c.cfg.IdleTimeout)
	defer wd.stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(c.bodies[rec.Seq%uint64(len(c.bodies))]))
	if err != nil { // cannot happen after Validate; recorded, not returned
		rec.Start, rec.End = time.Now(), time.Now()
		rec.Fail(record.Other, 0, err)
		return
	}
	req.Header = c.header // shared and never written: the transport only reads it
	if c.cfg.Host != "" {
		req.Host = c.cfg.Host
	}

	rec.Start = time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		rec.End = time.Now()
		rec.Fail(classify(ctx, err), 0, err)
		return
	}
	defer resp.Body.Close()
	wd.touch(time.Now())
	rec.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		head := make([]byte, errorHead)
		n, _ := io.ReadFull(resp.Body, head)
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		rec.End = time.Now()
		class := statusClass(resp.StatusCode)
		if resp.StatusCode == http.StatusBadRequest && bytes.Contains(head[:n], contextOverflow) {
			class = record.ContextOverflow
		}
		rec.Fail(class, resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status))
		return
	}
	if c.cfg.NoStream {
		c.readWhole(ctx, resp.Body, rec)
		return
	}
	c.readStream(ctx, resp.Body, rec, wd)
}

// parser is one request's decoding state, pooled so that a request
// allocates neither a read buffer nor JSON parse state.
type parser struct {
	sse  *sse.Decoder
	json fastjson.Parser
	body bytes.Buffer // a whole (non-streamed) response
}

// usage is the usage object of a chunk or response.
type usage struct {
	PromptTokens, CompletionTokens int
}

// readUsage returns v's usage object, if it has one.
func readUsage(v *fastjson.Value) (usage, bool) {
	u := v.Get("usage")
	if u == nil || u.Type() != fastjson.TypeObject {
		return usage{}, false
	}
	return usage{PromptTokens: u.GetInt("prompt_tokens"), CompletionTokens: u.GetInt("completion_tokens")}, true
}

// hasContent reports whether a choice carries generated text: delta.content
// for streamed chat, message.content for a whole chat response, text for
// completions.
func hasContent(c *fastjson.Value) bool {
	return len(c.GetStringBytes("delta", "content")) > 0 ||
		len(c.GetStringBytes("message", "content")) > 0 ||
		len(c.GetStringBytes("text")) > 0
}

var doneMarker = []byte("[DONE]")

func (c *Client) readStream(ctx context.Context, body io.Reader, rec *record.Record, wd *watchdog) {
	p := c.parsers.Get().(*parser)
	defer c.parsers.Put(p)
	p.sse.Reset(body)
	var (
		u        usage
		hasUsage bool
		sawDone  bool
		finalErr error
	)
	for {
		ev, err := p.sse.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				finalErr = err
			}
			break
		}
		wd.touch(ev.Time)
		if bytes.Equal(ev.Data, doneMarker) {
			sawDone = true
			// [DONE] is the last event; read the tail so the connection
			// returns to the pool.
			_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
			break
		}
		v, err := p.json.ParseBytes(ev.Data)
		if err != nil {
			rec.End = time.Now()
			rec.Fail(record.BadEvent, rec.Status, fmt.Errorf("event %d: %w", rec.Chunks+1, err))
			return
		}
		if uu, ok := readUsage(v); ok {
			u, hasUsage = uu, true
		}
		choices := v.GetArray("choices")
		if len(choices) == 0 {
			// An error in place of tokens (llm-d-inference-sim streams a
			// refusal so): looked for only here, off the token path.
			if e := v.Get("error"); e != nil && e.Type() == fastjson.TypeObject {
				_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
				p.sse.Reset(nil)
				rec.End = time.Now()
				rec.Fail(errorEventClass(e), e.GetInt("code"), fmt.Errorf("error event: %s", e.GetStringBytes("message")))
				return
			}
			continue
		}
		if rec.Chunks == 0 {
			rec.FirstToken = ev.Time
		} else {
			rec.ChunkGaps = append(rec.ChunkGaps, ev.Time.Sub(rec.LastToken))
		}
		rec.LastToken = ev.Time
		rec.Chunks++
		if hasContent(choices[0]) {
			rec.ContentChunks++
		}
	}
	p.sse.Reset(nil) // drop the body reference while pooled
	rec.End = time.Now()
	c.countTokens(rec, u, hasUsage)
	switch {
	case finalErr != nil:
		rec.Fail(classify(ctx, finalErr), rec.Status, finalErr)
	case !sawDone:
		rec.Fail(record.StreamTruncated, rec.Status, errors.New("stream ended without [DONE]"))
	case rec.Chunks == 0:
		rec.Fail(record.BadEvent, rec.Status, errors.New("stream had no choices event"))
	}
}

// countTokens sets the output token count from usage, falling back to the
// content chunks, and flags a disagreement.
func (c *Client) countTokens(rec *record.Record, u usage, hasUsage bool) {
	rec.OutputTokens = rec.ContentChunks
	if hasUsage {
		rec.PromptTokens = u.PromptTokens
		rec.OutputTokens = u.CompletionTokens
		rec.UsageMismatch = u.CompletionTokens != rec.ContentChunks
		rec.PromptMismatch = c.promptMismatch(rec, u.PromptTokens)
	}
}

// promptMismatch reports whether rec's prompt, sized to an exact count,
// came back with another in the usage.
func (c *Client) promptMismatch(rec *record.Record, got int) bool {
	want := c.expect[rec.Seq%uint64(len(c.expect))]
	return want > 0 && got != want
}

func (c *Client) readWhole(ctx context.Context, body io.Reader, rec *record.Record) {
	p := c.parsers.Get().(*parser)
	defer c.parsers.Put(p)
	p.body.Reset()
	_, err := p.body.ReadFrom(io.LimitReader(body, sse.DefaultMaxLine))
	rec.End = time.Now()
	if err != nil {
		rec.Fail(classify(ctx, err), rec.Status, err)
		return
	}
	v, err := p.json.ParseBytes(p.body.Bytes())
	if err != nil {
		rec.Fail(record.BadEvent, rec.Status, err)
		return
	}
	if len(v.GetArray("choices")) == 0 {
		rec.Fail(record.BadEvent, rec.Status, errors.New("response had no choices"))
		return
	}
	rec.FirstToken, rec.LastToken, rec.Chunks = rec.End, rec.End, 1
	if u, ok := readUsage(v); ok {
		// One body carries every token: usage is the only count there is.
		rec.PromptTokens, rec.OutputTokens = u.PromptTokens, u.CompletionTokens
		rec.PromptMismatch = c.promptMismatch(rec, u.PromptTokens)
	}
}
