package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llm-platform/harness/internal/clock"
)

// maxBody bounds a request body; larger ones get 413, like vLLM behind a proxy.
const maxBody = 8 << 20

// Server is the simulator as an http.Handler.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	m       *metrics
	slots   chan struct{} // one token per running sequence
	kv      *kvCache
	prefix  *prefixCache // nil without Config.PrefixCaching
	running atomic.Int64
	ids     atomic.Uint64
	created int64

	// clk schedules tokens: runtime timers would add up to a millisecond
	// of slack to every token (see package clock).
	clk *clock.Clock

	mu     sync.Mutex // guards rng and runRng
	rng    *rand.Rand
	runRng *rand.Rand
	// speed is the current run's factor on every latency (float64 bits):
	// Slowdown times the lifetime's factor (restart) times the one NewRun
	// drew.
	speed   atomic.Uint64
	restart float64
}

// New validates cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:     cfg,
		mux:     http.NewServeMux(),
		m:       newMetrics(cfg.Model),
		slots:   make(chan struct{}, cfg.MaxNumSeqs),
		created: time.Now().Unix(),
		rng:     rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		runRng:  rand.New(rand.NewPCG(cfg.Seed^0x5851f42d4c957f2d, cfg.Seed)),
		clk:     clock.New(),
	}
	if cfg.PrefixCaching {
		s.prefix = newPrefixCache()
	}
	s.kv = newKVCache(int64(cfg.KVCacheTokens), func(used, capacity int64) { s.m.kvUsage.Set(float64(used) / float64(capacity)) })
	s.restart = lifetime(cfg.RestartCV, cfg.RestartSeed)
	s.speed.Store(math.Float64bits(cfg.Slowdown * s.restart))
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version":%q}`, Version)
	})
	s.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.generate(w, r, true) })
	s.mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.generate(w, r, false) })
	s.mux.HandleFunc("POST /tokenize", s.tokenize)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	return s, nil
}

// Close releases the server's clock. Requests still running fail their
// token waits; close the HTTP server first.
func (s *Server) Close() error { return s.clk.Close() }

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) models(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"object":"list","data":[{"id":%q,"object":"model","created":%d,"owned_by":"vllm","root":%q,"max_model_len":%d}]}`,
		s.cfg.Model, s.created, s.cfg.Model, s.cfg.MaxModelLen)
}

// tokenize answers vLLM's POST /tokenize: the token count of a chat's
// messages (with the template's tokens) or of a prompt, by the same count
// the simulator reports as usage.prompt_tokens, so a prompt sized through
// it is exactly that long in the usage.
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) {
	var req genRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if len(req.Messages) == 0 && req.Prompt == nil {
		writeError(w, http.StatusBadRequest, "messages or prompt is required")
		return
	}
	n := req.promptTokens()
	tokens := make([]int, n)
	for i := range tokens {
		tokens[i] = i + 1
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"count": n, "max_model_len": s.cfg.MaxModelLen, "tokens": tokens})
}

// genRequest is the union of the chat and completions request fields the
// simulator honours.
type genRequest struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Prompt        any  `json:"prompt"`
	MaxTokens     *int `json:"max_tokens"`
	Stream        bool `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

// promptTokens estimates the prompt's token count as vLLM's tokenizer would
// roughly see it: about four bytes per token, plus a few per chat message
// for the template.
func (g *genRequest) promptTokens() int {
	n := 0
	for _, m := range g.Messages {
		n += 4 + (len(m.Content)+3)/4
	}
	if p, ok := g.Prompt.(string); ok {
		n += (len(p) + 3) / 4
	}
	return max(n, 1)
}

// promptText is the prompt as the prefix cache sees it: each message's role
// and content in order, or the completion prompt.
func (g *genRequest) promptText() string {
	var b strings.Builder
	for _, m := range g.Messages {
		b.WriteString(m.Role)
		b.WriteByte(0)
		b.WriteString(m.Content)
		b.WriteByte(0)
	}
	if p, ok := g.Prompt.(string); ok {
		b.WriteString(p)
	}
	return b.String()
}

// overflowMessage is vLLM's answer to a request longer than the context
// window: the sentence of vllm/entrypoints/openai/serving_engine.py's
// input validation (OpenAIServing._validate_input), sent with status 400
// in vLLM's error object, as llm-d-inference-sim sends it too.
func overflowMessage(window, prompt, maxTokens int) string {
	return fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the messages, %d in the completion). Please reduce the length of the messages or completion.",
		window, prompt+maxTokens, prompt, maxTokens)
}

// writeError answers with vLLM's error object and the type names vLLM
// gives them (BadRequestError, NotFoundError; others their status text).
func writeError(w http.ResponseWriter, code int, msg string) {
	typ := http.StatusText(code)
	switch code {
	case http.StatusBadRequest:
		typ = "BadRequestError"
	case http.StatusNotFound:
		typ = "NotFoundError"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"object":"error","message":%q,"type":%q,"param":null,"code":%d}`, msg, typ, code)
}

// pickFault returns the request's fault: the header's, else one drawn by rate.
func (s *Server) pickFault(r *http.Request) (Fault, error) {
	if h := r.Header.Get(FaultHeader); h != "" {
		f := Fault(h)
		if !f.valid() {
			return "", fmt.Errorf("%s: %q: unknown mode (have %s)", FaultHeader, h, faultNames())
		}
		return f, nil
	}
	if len(s.cfg.Faults) == 0 {
		return "", nil
	}
	s.mu.Lock()
	x := s.rng.Float64()
	s.mu.Unlock()
	for _, f := range Faults { // fixed order keeps seeded runs repeatable
		if x < s.cfg.Faults[f] {
			return f, nil
		}
		x -= s.cfg.Faults[f]
	}
	return "", nil
}

// NewRun starts a new run: it draws the run's speed factor (Config.RunCV)
// and returns it, Slowdown included. Without RunCV it changes nothing.
func (s *Server) NewRun() float64 {
	if s.cfg.RunCV == 0 {
		return s.Speed()
	}
	s.mu.Lock()
	f := 1 + s.cfg.RunCV*s.runRng.NormFloat64()
	s.mu.Unlock()
	f = min(max(f, 0.5), 2) * s.cfg.Slowdown * s.restart // a 10-sigma draw must not stop time
	s.speed.Store(math.Float64bits(f))
	return f
}

// lifetime draws a server lifetime's speed factor, 1 + cv*N(0,1) within
// [0.5, 2]; seed 0 takes one from the clock.
func lifetime(cv float64, seed uint64) float64 {
	if cv == 0 {
		return 1
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	f := 1 + cv*rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d)).NormFloat64()
	return min(max(f, 0.5), 2)
}

// Restart is the lifetime's speed factor (Config.RestartCV), 1 without one.
func (s *Server) Restart() float64 { return s.restart }

// Speed is the current run's factor on every latency.
func (s *Server) Speed() float64 { return math.Float64frombits(s.speed.Load()) }

// scale applies the run's speed and the per-token jitter to d.
func (s *Server) scale(d time.Duration) time.Duration {
	if d == 0 {
		return d
	}
	f := s.Speed()
	if s.cfg.Jitter != 0 {
		s.mu.Lock()
		f *= 1 + s.cfg.Jitter*(2*s.rng.Float64()-1)
		s.mu.Unlock()
	}
	return time.Duration(float64(d) * f)
}

// prefill applies PrefillSlowdown to a prefill's time.
func (s *Server) prefill(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.cfg.PrefillSlowdown)
}

// itl is the current inter-token latency given the running batch.
func (s *Server) itl() time.Duration {
	n := s.running.Load()
	return s.scale(time.Duration(float64(s.cfg.ITL) * s.cfg.DecodeSlowdown * (1 + s.cfg.BatchSlowdown*float64(max(n-1, 0)))))
}

// admit waits for a running slot, counting the wait in
// vllm:num_requests_waiting. It returns when the sequence started running:
// arrived if a slot was free, so the latency model runs from the request's
// arrival as vLLM's own TTFT does.
func (s *Server) admit(ctx context.Context, arrived time.Time) (time.Time, bool) {
	start := arrived
	select {
	case s.slots <- struct{}{}:
	default:
		s.m.waiting.Inc()
		select {
		case s.slots <- struct{}{}:
			start = time.Now()
		case <-ctx.Done():
			s.m.waiting.Dec()
			return time.Time{}, false
		}
		s.m.waiting.Dec()
	}
	s.running.Add(1)
	s.m.running.Inc()
	return start, true
}

func (s *Server) release() {
	s.running.Add(-1)
	s.m.running.Dec()
	<-s.slots
}

// decode reads and checks a generation request, answering the client
// itself (with vLLM's status) when the request is refused.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, chat bool) (req genRequest, maxTokens int, ok bool) {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, err.Error())
			return req, 0, false
		}
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return req, 0, false
	}
	if chat && len(req.Messages) == 0 {
		writeError(w, http.StatusBadRequest, "messages: at least one is required")
		return req, 0, false
	}
	if req.Model != "" && req.Model != s.cfg.Model {
		writeError(w, http.StatusNotFound, fmt.Sprintf("The model `%s` does not exist.", req.Model))
		return req, 0, false
	}
	maxTokens = s.cfg.DefaultMaxTokens
	if req.MaxTokens != nil {
		if *req.MaxTokens <= 0 {
			writeError(w, http.StatusBadRequest, "max_tokens must be at least 1")
			return req, 0, false
		}
		maxTokens = *req.MaxTokens
	}
	return req, maxTokens, true
}

func (s *Server) generate(w http.ResponseWriter, r *http.Request, chat bool) {
	arrived := time.Now()
	req, maxTokens, ok := s.decode(w, r, chat)
	if !ok {
		return
	}
	fault, err := s.pickFault(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if code := fault.status(); code != 0 {
		writeError(w, code, "injected fault "+string(fault))
		return
	}
	ctx := r.Context()
	if fault == FaultHang {
		hang(ctx, s.cfg.HangLimit)
		return
	}
	prompt := req.promptTokens()
	if total := prompt + maxTokens; total > s.cfg.MaxModelLen {
		writeError(w, http.StatusBadRequest, overflowMessage(s.cfg.MaxModelLen, prompt, maxTokens))
		return
	}
	if c := s.cfg.KVCacheTokens; c > 0 && prompt+maxTokens > c {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("prompt and max_tokens (%d) exceed the KV cache (%d tokens)", prompt+maxTokens, c))
		return
	}
	admitted, ok := s.admit(ctx, arrived)
	if !ok {
		return
	}
	if !s.kv.wait(ctx, int64(prompt)) {
		s.release()
		return
	}
	s.m.queueTime.Observe(time.Since(arrived).Seconds())
	if now := time.Now(); now.After(admitted) {
		admitted = now // waited for room in the KV cache too
	}

	g := generation{
		s: s, w: w, chat: chat, model: s.cfg.Model, fault: fault, maxTokens: maxTokens, promptTokens: prompt,
		id:    strconv.AppendUint([]byte("cmpl-"), s.ids.Add(1), 10),
		usage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		held:  int64(prompt),
		slot:  true,
	}
	defer func() {
		s.kv.free(g.held)
		if g.slot {
			s.release()
		}
	}()
	computed := prompt
	if s.prefix != nil {
		hit := s.prefix.lookup(req.promptText(), prompt)
		s.m.pcQueries.Add(float64(prompt))
		s.m.pcHits.Add(float64(hit))
		computed -= hit
	}
	first := admitted.Add(s.scale(s.prefill(s.cfg.TTFT + time.Duration(computed)*s.cfg.PrefillPerToken)))
	if req.Stream {
		ok = g.stream(ctx, first)
	} else {
		ok = g.whole(ctx, first)
	}
	if !ok {
		return
	}
	if s.cfg.Delivered != nil && req.Stream {
		s.cfg.Delivered(Delivery{Received: arrived, Chunks: g.written})
	}
	s.m.ttft.Observe(g.firstAt.Sub(arrived).Seconds())
	s.m.e2e.Observe(time.Since(arrived).Seconds())
	s.m.genTokens.Add(float64(maxTokens))
	s.m.prompt.Add(float64(prompt))
	s.m.success.WithLabelValues("length").Inc()
}

// hang holds a request without answering until the client leaves or limit passes.
func hang(ctx context.Context, limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// resetConn drops the request's connection with a TCP reset, as a crashed
// backend or a killed pod would.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // HTTP/2: net/http resets the stream
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
