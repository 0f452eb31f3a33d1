package nginx

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/record"
)

// Address is where the checks send requests: an ingress (the lab's nginx or
// a real cluster's controller) and the Host it routes on.
type Address struct {
	URL, Host, Model string
	// TLS is an https ingress's trust (E2E_CA_FILE); nil is Go's defaults.
	TLS *tls.Config
}

// endpoint is t as the client addresses it.
func (t Address) endpoint() openai.Endpoint {
	return openai.Endpoint{BaseURL: t.URL, Host: t.Host, TLS: t.TLS}
}

// httpClient sends t's requests other than completions. A check sends a
// handful, often polled: no connection is kept for reuse.
func (t Address) httpClient() *http.Client {
	c := t.endpoint().HTTPClient(requestTimeout)
	c.Transport.(*http.Transport).DisableKeepAlives = true
	return c
}

// requestTimeout bounds each request the checks send outside completions.
const requestTimeout = time.Minute

func (t Address) client(cfg openai.Config) (*openai.Client, error) {
	cfg.Endpoint = t.endpoint()
	cfg.Model = t.Model
	if cfg.Messages == nil {
		cfg.Messages = []openai.Message{{Role: "user", Content: "Say something."}}
	}
	return openai.New(cfg)
}

// Do sends one chat completion through t and returns its record.
func (t Address) Do(ctx context.Context, cfg openai.Config) (record.Record, error) {
	c, err := t.client(cfg)
	if err != nil {
		return record.Record{}, err
	}
	defer c.Close()
	var rec record.Record
	c.Do(ctx, &rec)
	return rec, nil
}

// get sends a GET with t's Host.
func (t Address) get(ctx context.Context, host, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(t.URL, "/")+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Host = host
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, nil
}

// CheckModels: /v1/models through the ingress lists the model.
func CheckModels(ctx context.Context, t Address) error {
	ids, err := openai.ListModels(ctx, t.httpClient(), t.endpoint())
	if err != nil {
		return err
	}
	if !slices.Contains(ids, t.Model) {
		return fmt.Errorf("ingress: /v1/models lists %v, not %s", ids, t.Model)
	}
	return nil
}

// CheckChat: a chat completion through the ingress succeeds.
func CheckChat(ctx context.Context, t Address) error {
	rec, err := t.Do(ctx, openai.Config{MaxTokens: 4})
	if err != nil {
		return err
	}
	if !rec.Succeeded() || rec.Status != 200 || rec.OutputTokens != 4 {
		return fmt.Errorf("ingress: chat completion: status %d class %q (%s), %d tokens", rec.Status, rec.Class, rec.Err, rec.OutputTokens)
	}
	return nil
}

// CheckUnknownHost: a host no rule names gets 404.
func CheckUnknownHost(ctx context.Context, t Address) error {
	code, _, err := t.get(ctx, "nobody.invalid", "/v1/models")
	if err != nil {
		return err
	}
	if code != http.StatusNotFound {
		return fmt.Errorf("ingress: unknown host got HTTP %d, want 404", code)
	}
	return nil
}

// CheckBodyLimit: a request body over limit bytes gets 413.
func CheckBodyLimit(ctx context.Context, t Address, limit int) error {
	body := `{"model":"` + t.Model + `","messages":[{"role":"user","content":"` + strings.Repeat("x", limit+1024) + `"}],"max_tokens":1}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(t.URL, "/")+"/v1/chat/completions", bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Host = t.Host
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.httpClient().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		return fmt.Errorf("ingress: a %d-byte body got HTTP %d, want 413", len(body), resp.StatusCode)
	}
	return nil
}

// medianTTFT streams n requests and returns their median TTFT.
func medianTTFT(ctx context.Context, t Address, n, tokens int) (time.Duration, error) {
	var ttfts []time.Duration
	for range n {
		rec, err := t.Do(ctx, openai.Config{MaxTokens: tokens})
		if err != nil {
			return 0, err
		}
		if !rec.Succeeded() {
			return 0, fmt.Errorf("ingress: stream failed: %s (%s)", rec.Class, rec.Err)
		}
		ttfts = append(ttfts, rec.TTFT())
	}
	slices.Sort(ttfts)
	return ttfts[len(ttfts)/2], nil
}

// CheckNotBuffered: streaming through the ingress is not held back: the
// median TTFT through it is within tolerance of the median TTFT direct to
// the backend. A buffering proxy holds the first token until its buffer
// fills or the stream ends, so the stream of tokens must last many times
// the tolerance (TokensToOutlast sizes it from the target's pace).
func CheckNotBuffered(ctx context.Context, through, direct Address, tolerance time.Duration, tokens int) (time.Duration, time.Duration, error) {
	const n = 5
	d, err := medianTTFT(ctx, direct, n, tokens)
	if err != nil {
		return 0, 0, err
	}
	i, err := medianTTFT(ctx, through, n, tokens)
	if err != nil {
		return d, 0, err
	}
	if diff := i - d; diff > tolerance || diff < -tolerance {
		return d, i, fmt.Errorf("ingress: TTFT %v through the ingress vs %v direct: %v apart, want within %v", i, d, diff, tolerance)
	}
	return d, i, nil
}

// CheckLongGeneration is the proxy-timeout lesson: a non-streamed
// generation that takes several seconds (nothing reaches the proxy until
// it ends) must complete; with a proxy read timeout shorter than that, it
// ends in 504, which the harness classifies as http_5xx with status 504.
func CheckLongGeneration(ctx context.Context, t Address, tokens int) (record.Record, error) {
	rec, err := t.Do(ctx, openai.Config{MaxTokens: tokens, NoStream: true})
	if err != nil {
		return rec, err
	}
	if !rec.Succeeded() {
		return rec, fmt.Errorf("ingress: a %d-token generation ended in %s (HTTP %d) after %v: %s",
			tokens, rec.Class, rec.Status, rec.End.Sub(rec.Start).Round(time.Millisecond), rec.Err)
	}
	return rec, nil
}

// CheckClientAbort is the 499 lesson: a client deadline shorter than a
// non-streamed generation yields the harness's client_abort class, and
// nginx's access log records 499 for that request, found by a User-Agent
// of its own. Non-streamed, because NGINX logs 499 only for a request
// whose response headers it had not sent: a stream cut mid-way is logged
// as 200.
func CheckClientAbort(ctx context.Context, t Address, accessLog AccessLog, deadline time.Duration, tokens int) (record.Record, LogEntry, error) {
	agent := fmt.Sprintf("llm-harness-abort-lesson/%d", time.Now().UnixNano())
	rec, err := t.Do(ctx, openai.Config{MaxTokens: tokens, Timeout: deadline, NoStream: true, UserAgent: agent})
	if err != nil {
		return rec, LogEntry{}, err
	}
	if rec.Class != record.ClientAbort {
		return rec, LogEntry{}, fmt.Errorf("ingress: a %v deadline on a %d-token generation ended in %q, want client_abort", deadline, tokens, rec.Class)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	entry, err := WaitForEntry(wctx, accessLog, func(e LogEntry) bool { return e.UserAgent == agent })
	if err != nil {
		return rec, LogEntry{}, fmt.Errorf("ingress: the aborted request (User-Agent %s) is not in the access log: %w", agent, err)
	}
	if entry.Status != 499 {
		return rec, entry, fmt.Errorf("ingress: the aborted request is logged with status %d, want 499 (client closed request)", entry.Status)
	}
	return rec, entry, nil
}

// CheckNoUpstream: /v1/models through the route finds no upstream: nginx
// answers 502 (the upstream refused the connection: kube-proxy rejects a
// Service with no endpoints) or 503 (ingress-nginx's answer for a Service
// with no endpoints). It returns the status seen.
func CheckNoUpstream(ctx context.Context, t Address) (int, error) {
	code, body, err := t.get(ctx, t.Host, "/v1/models")
	if err != nil {
		return 0, err
	}
	if code != http.StatusBadGateway && code != http.StatusServiceUnavailable {
		return code, fmt.Errorf("ingress: /v1/models answered %d (%.80q), want 502 or 503: the route reached an upstream", code, body)
	}
	return code, nil
}
