package openai

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Endpoint is where a server is and how to address it: the parts of Config
// that requests other than completions need too.
type Endpoint struct {
	// BaseURL is the server's root, e.g. http://127.0.0.1:8000 or an
	// ingress address; API paths such as /v1/chat/completions are appended.
	BaseURL string
	// Host overrides the Host header (e.g. llm.local through an ingress
	// address, without editing /etc/hosts).
	Host string
	// APIKey, when set, is sent as a bearer token.
	APIKey string
	// TLS is the https set-up (TLSConfig); nil is Go's defaults.
	TLS *tls.Config
}

// Validate reports a malformed BaseURL, naming the field.
func (e Endpoint) Validate() error {
	u, err := url.Parse(e.BaseURL)
	switch {
	case e.BaseURL == "":
		return errors.New("openai: config: base_url: must be set")
	case err != nil:
		return fmt.Errorf("openai: config: base_url: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("openai: config: base_url: %q: scheme must be http or https", e.BaseURL)
	case u.Host == "":
		return fmt.Errorf("openai: config: base_url: %q: no host", e.BaseURL)
	}
	return nil
}

// NewRequest is a GET of path on the endpoint, with its Host override and
// bearer token: every non-completion request the harness sends (/v1/models,
// /metrics) is built here.
func (e Endpoint) NewRequest(ctx context.Context, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(e.BaseURL, "/")+path, nil)
	if err != nil {
		return nil, fmt.Errorf("openai: %s: %w", path, err)
	}
	if e.Host != "" {
		req.Host = e.Host
	}
	if e.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	return req, nil
}

// chatCompletions is the path of the streaming chat completions API.
const chatCompletions = "/v1/chat/completions"

// ChatPath is the path chat completions are sent to under baseURL (its own
// path, e.g. /llm behind a path-routing gateway, then the API's).
func ChatPath(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return chatCompletions
	}
	return strings.TrimRight(u.Path, "/") + chatCompletions
}

// Model is one entry of GET /v1/models.
type Model struct {
	ID string `json:"id"`
	// MaxModelLen is the context window (prompt plus output tokens) that
	// vLLM and llm-d-inference-sim report; 0 where the server omits it.
	MaxModelLen int `json:"max_model_len"`
}

// ListModels returns the model IDs the server serves (GET /v1/models), in
// the server's order. The first is what vLLM serves.
func ListModels(ctx context.Context, hc *http.Client, e Endpoint) ([]string, error) {
	models, err := Models(ctx, hc, e)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(models))
	for _, m := range models {
		ids = append(ids, m.ID)
	}
	return ids, nil
}

// Models returns the server's models (GET /v1/models), in its order.
func Models(ctx context.Context, hc *http.Client, e Endpoint) ([]Model, error) {
	req, err := e.NewRequest(ctx, "/v1/models")
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("openai: list models: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		return nil, fmt.Errorf("openai: list models: HTTP %s", resp.Status)
	}
	var list struct {
		Data []Model `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&list); err != nil {
		return nil, fmt.Errorf("openai: list models: decode: %w", err)
	}
	if len(list.Data) == 0 {
		return nil, fmt.Errorf("openai: list models: the server lists none")
	}
	return list.Data, nil
}

// ServerVersion returns what GET /version answers ({"version": "0.11.0"}
// on vLLM); an error when the server has no such endpoint.
func ServerVersion(ctx context.Context, hc *http.Client, e Endpoint) (string, error) {
	req, err := e.NewRequest(ctx, "/version")
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("openai: version: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		return "", fmt.Errorf("openai: version: HTTP %s", resp.Status)
	}
	var v struct {
		Version string `json:"version"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&v); err != nil || v.Version == "" {
		return "", fmt.Errorf("openai: version: no version in the answer (%v)", err)
	}
	return v.Version, nil
}

// ErrNoTokenize means the server has no POST /tokenize.
var ErrNoTokenize = errors.New("openai: the server has no /tokenize")

// Tokenize returns how many tokens the server counts for a chat's messages,
// its chat template included (vLLM's POST /tokenize, which
// llm-d-inference-sim also answers): what it will report as
// usage.prompt_tokens.
func Tokenize(ctx context.Context, hc *http.Client, e Endpoint, model string, messages []Message) (int, error) {
	body, err := json.Marshal(map[string]any{"model": model, "messages": messages})
	if err != nil {
		return 0, fmt.Errorf("openai: tokenize: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(e.BaseURL, "/")+"/tokenize", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("openai: tokenize: %w", err)
	}
	if e.Host != "" {
		req.Host = e.Host
	}
	if e.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+e.APIKey)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("openai: tokenize: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return 0, ErrNoTokenize
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return 0, fmt.Errorf("openai: tokenize: HTTP %s: %s", resp.Status, b)
	}
	var out struct {
		Count  *int  `json:"count"`
		Tokens []int `json:"tokens"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&out); err != nil {
		return 0, fmt.Errorf("openai: tokenize: %w", err)
	}
	if out.Count != nil {
		return *out.Count, nil
	}
	return len(out.Tokens), nil
}
