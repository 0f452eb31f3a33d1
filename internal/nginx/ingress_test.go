package nginx

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/llm-platform/harness/internal/clock"
	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/record"
	"github.com/llm-platform/harness/internal/sim"
	"github.com/llm-platform/harness/internal/sim/simtest"
)

// manifestIngress is the platform's Ingress as committed.
func manifestIngress(t *testing.T) *networkingv1.Ingress {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "manifests", "components", "ingress-nginx", "ingress.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ing networkingv1.Ingress
	if err := yaml.Unmarshal(b, &ing); err != nil {
		t.Fatal(err)
	}
	return &ing
}

func requireNginx(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		if _, err := os.Stat("/usr/sbin/nginx"); err != nil {
			simtest.Missing(t, ErrNoNginx.Error())
		}
	}
}

// lab serves ing through a real nginx in front of an embedded simulator
// (TTFT 50 ms, tokens 100 ms apart) and returns the ingress target, the
// direct one, and nginx.
func lab(t *testing.T, ing *networkingv1.Ingress, edit func(*Config)) (Address, Address, *Nginx) {
	t.Helper()
	return labWith(t, ing, sim.Config{TTFT: 50 * time.Millisecond, ITL: 100 * time.Millisecond}, edit)
}

func labWith(t *testing.T, ing *networkingv1.Ingress, sc sim.Config, edit func(*Config)) (Address, Address, *Nginx) {
	t.Helper()
	requireNginx(t)
	backend := simtest.Start(t, sc)
	listen, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromIngress(ing, listen, func(svc string, port networkingv1.ServiceBackendPort) (string, error) {
		return strings.TrimPrefix(backend, "http://"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	n, err := Start(cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	return Address{URL: n.URL, Host: "llm.local", Model: sim.DefaultModel}, Address{URL: backend, Model: sim.DefaultModel}, n
}

func TestAnnotationMapping(t *testing.T) {
	ing := manifestIngress(t)
	cfg, err := FromIngress(ing, "127.0.0.1:1", func(string, networkingv1.ServiceBackendPort) (string, error) { return "127.0.0.1:2", nil })
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Routes[0]
	if r.Host != "llm.local" || r.Path != "/" || r.Settings.ReadTimeout != 600*time.Second || r.Settings.SendTimeout != 600*time.Second ||
		r.Settings.Buffering || r.Settings.RequestBuffering || r.Settings.BodySize != "8m" {
		t.Errorf("route %+v", r)
	}
	conf := string(cfg.Render("/p"))
	for _, want := range []string{"server_name llm.local;", "client_max_body_size 8m;", "proxy_read_timeout 600s;", "proxy_buffering off;", "proxy_pass http://127.0.0.1:2;", "default_server"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
	// Without annotations: the controller's defaults.
	ing.Annotations = nil
	cfg, _ = FromIngress(ing, "127.0.0.1:1", func(string, networkingv1.ServiceBackendPort) (string, error) { return "x:1", nil })
	if s := cfg.Routes[0].Settings; s.ReadTimeout != DefaultTimeout || s.BodySize != DefaultBodySize || s.Buffering || !s.RequestBuffering {
		t.Errorf("defaults %+v", s)
	}
	for key, bad := range map[string]string{AnnotationReadTimeout: "soon", AnnotationBuffering: "maybe", AnnotationBodySize: "lots"} {
		ing.Annotations = map[string]string{key: bad}
		if _, err := FromIngress(ing, "x:1", func(string, networkingv1.ServiceBackendPort) (string, error) { return "x:1", nil }); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%q: err = %v", key, bad, err)
		}
	}
}

// TestRouting runs the routing checks through nginx rendered from the
// committed manifests.
func TestRouting(t *testing.T) {
	through, direct, _ := lab(t, manifestIngress(t), nil)
	ctx := context.Background()
	for name, check := range map[string]func() error{
		"models":       func() error { return CheckModels(ctx, through) },
		"chat":         func() error { return CheckChat(ctx, through) },
		"unknown host": func() error { return CheckUnknownHost(ctx, through) },
		"body limit":   func() error { return CheckBodyLimit(ctx, through, 8<<20) },
	} {
		if err := check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Medians over 5 streams within 10 ms: a bias check, under the
	// attempt policy (a buffering proxy fails every attempt by ~300 ms).
	clock.Attempts(t, clock.DefaultAttempts, func(int) []string {
		d, i, err := CheckNotBuffered(ctx, through, direct, 10*time.Millisecond, 4)
		t.Logf("TTFT direct %v, through nginx %v", d, i)
		if err != nil {
			return []string{err.Error()}
		}
		return nil
	})
}

// TestProxyTimeoutLesson: the manifests' read timeout lets a long
// generation finish; lowered below the generation's length (the lesson
// undone), the same request ends in 504.
func TestProxyTimeoutLesson(t *testing.T) {
	ctx := context.Background()
	through, _, _ := lab(t, manifestIngress(t), nil)
	rec, err := CheckLongGeneration(ctx, through, 15) // 50 ms + 14 x 100 ms
	if err != nil {
		t.Fatalf("with the manifests' timeout: %v", err)
	}
	t.Logf("with proxy-read-timeout 600: %d tokens in %v", rec.OutputTokens, rec.End.Sub(rec.Start).Round(time.Millisecond))

	undone := manifestIngress(t)
	undone.Annotations[AnnotationReadTimeout] = "1"
	through, _, _ = lab(t, undone, nil)
	rec, err = CheckLongGeneration(ctx, through, 15)
	if err == nil || rec.Class != record.HTTP5xx || rec.Status != 504 {
		t.Fatalf("with proxy-read-timeout 1: err %v, class %q status %d; want 504 classified http_5xx", err, rec.Class, rec.Status)
	}
	t.Logf("lesson undone: %v", err)
}

// TestProxyTimeoutLessonAtGPUSpeed: at an RTX 3060's ~8 ms per token a
// fixed 15-token generation ends in about 170 ms, long before a lowered
// 1 s timeout, so no 504 can come; sized from the measured pace, the
// generation outlasts the timeout and the lesson fires.
func TestProxyTimeoutLessonAtGPUSpeed(t *testing.T) {
	ctx := context.Background()
	lowered := manifestIngress(t)
	lowered.Annotations[AnnotationReadTimeout] = "1"
	through, _, _ := fastLab(t, lowered)
	p, err := MeasurePace(ctx, through)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := TokensToOutlast(time.Second, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("measured %v per token (simulator: 8 ms), context %d: %d tokens", p.PerToken, p.Context, tokens)
	// A bias check, not a precision one: a slope off by 2x means it
	// measures something else (prefill, a whole request). Scheduling noise
	// on a busy machine moves a median of three by milliseconds, not the
	// 64 ms over 16 tokens it would take to leave this band. The verdict
	// that matters is the 504 below.
	if p.PerToken < 4*time.Millisecond || p.PerToken > 16*time.Millisecond {
		t.Errorf("measured pace %v, the simulator's is 8 ms", p.PerToken)
	}
	rec, err := CheckLongGeneration(ctx, through, tokens)
	if err == nil || rec.Status != 504 {
		t.Fatalf("%d tokens with proxy-read-timeout 1: err %v, status %d; want 504", tokens, err, rec.Status)
	}
	// The fixed length this spec once used: it completes, no 504.
	if _, err := CheckLongGeneration(ctx, through, 15); err != nil {
		t.Fatalf("15 tokens at 8 ms each should complete under a 1 s timeout: %v", err)
	}
}

// fastLab is lab with the simulator at the RTX 3060 preset's pace.
func fastLab(t *testing.T, ing *networkingv1.Ingress) (Address, Address, *Nginx) {
	t.Helper()
	return labWith(t, ing, sim.Config{TTFT: 20 * time.Millisecond, ITL: 8 * time.Millisecond}, nil)
}

// TestClientAbortLesson: a client deadline shorter than the generation is
// client_abort for the harness and 499 in nginx's log, read in the lab's
// format and in ingress-nginx's (the lines a controller pod logs); with the
// proxy told to ignore client aborts (the lesson undone), the log no longer
// says 499.
func TestClientAbortLesson(t *testing.T) {
	ctx := context.Background()
	through, _, n := lab(t, manifestIngress(t), nil)
	for _, log := range []AccessLog{LogFile(n.AccessLog()), ControllerLogFile(n.ControllerLog())} {
		rec, entry, err := CheckClientAbort(ctx, through, log, 400*time.Millisecond, 20)
		if err != nil {
			t.Fatalf("%T: %v", log, err)
		}
		// The line's fields parsed (the request time: present, not its size,
		// which a busy machine moves).
		if entry.Request != "POST /v1/chat/completions HTTP/1.1" || entry.RequestTime <= 0 || !strings.HasPrefix(entry.UserAgent, "llm-harness-abort-lesson/") {
			t.Errorf("%T: the 499 line parsed as %+v, want the request, a request time and the lesson's User-Agent", log, entry)
		}
		t.Logf("%T: client_abort after %d chunks; nginx: %d after %v", log, rec.Chunks, entry.Status, entry.RequestTime)
	}

	through, _, n = lab(t, manifestIngress(t), func(c *Config) { c.Routes[0].Settings.IgnoreClientAbort = true })
	if _, entry, err := CheckClientAbort(ctx, through, ControllerLogFile(n.ControllerLog()), 400*time.Millisecond, 20); err == nil {
		t.Fatalf("with proxy_ignore_client_abort the check still passed (log status %d)", entry.Status)
	} else {
		t.Logf("lesson undone: %v", err)
	}
}

// TestParseControllerLog: the access lines of ingress-nginx's and NGINX
// Gateway Fabric's logs among the controller's own diagnostics.
func TestParseControllerLog(t *testing.T) {
	log := `I1203 19:10:00.000000       7 controller.go:214] "Backend successfully reloaded"
192.168.49.1 - - [03/Dec/2026:19:10:01 +0000] "POST /v1/chat/completions HTTP/1.1" 499 0 "-" "Go-http-client/1.1" 312 0.401 [llm-vllm-http] [] 10.244.0.5:8000 0 0.400 - 5f2a
10.244.0.1 - - [03/Dec/2026:19:10:02 +0000] "GET /v1/models HTTP/1.1" 200 171 "-" "curl/8.5.0" "-"
2026/12/03 19:10:03 [error] 31#31: *9 upstream timed out
`
	got := ParseControllerLog([]byte(log))
	want := []LogEntry{
		{Status: 499, RequestTime: 401 * time.Millisecond, Request: "POST /v1/chat/completions HTTP/1.1", UserAgent: "Go-http-client/1.1"},
		{Status: 200, Request: "GET /v1/models HTTP/1.1", UserAgent: "curl/8.5.0"},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestTokensToOutlast(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       time.Duration
		p       Generation
		want    int
		wantErr bool
	}{
		{"RTX 3060 pace, the 1 s timeout", time.Second, Generation{PerToken: 8 * time.Millisecond, Context: 2048}, 375, false},
		{"lab's old 100 ms pace", time.Second, Generation{PerToken: 100 * time.Millisecond, Context: 2048}, 30, false},
		{"a fast GPU, capped by the context but still 1.98 x", time.Second, Generation{PerToken: time.Millisecond, Context: 2048}, 1984, false},
		{"too fast for the context", time.Second, Generation{PerToken: 500 * time.Microsecond, Context: 2048}, 1984, true},
		{"client abort deadline", 400 * time.Millisecond, Generation{PerToken: 8 * time.Millisecond, Context: 2048}, 150, false},
		{"no pace", time.Second, Generation{Context: 2048}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := TokensToOutlast(tc.d, tc.p)
			if (err != nil) != tc.wantErr || n != tc.want {
				t.Errorf("TokensToOutlast(%v, %+v) = %d, %v; want %d, error %v", tc.d, tc.p, n, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestTLSIngress: an https ingress for llm.local whose certificate a
// private CA signed (generated here), as nginx serves it. The checks trust
// it through the CA's PEM file (E2E_CA_FILE), sending llm.local as the
// server name although they dial 127.0.0.1; without the CA they fail with a
// certificate error that names the settings to set.
func TestTLSIngress(t *testing.T) {
	certs := simtest.NewCerts(t, t.TempDir(), "llm.local")
	through, _, n := labWith(t, manifestIngress(t), sim.Config{TTFT: time.Millisecond, ITL: time.Millisecond}, func(c *Config) {
		c.TLS = &TLSFiles{Cert: certs.Cert, Key: certs.Key}
	})
	if !strings.HasPrefix(n.URL, "https://127.0.0.1:") {
		t.Fatalf("nginx at %s", n.URL)
	}
	ctx := context.Background()
	err := CheckModels(ctx, through)
	if !openai.IsCertificateError(err) || !strings.Contains(openai.ExplainTLS(err, "set E2E_CA_FILE to its CA's PEM bundle").Error(), "set E2E_CA_FILE") {
		t.Fatalf("untrusted: %v, want a certificate error", err)
	}
	if through.TLS, err = openai.TLSConfig(certs.CA, false); err != nil {
		t.Fatal(err)
	}
	for name, check := range map[string]func() error{
		"models":       func() error { return CheckModels(ctx, through) },
		"chat":         func() error { return CheckChat(ctx, through) },
		"unknown host": func() error { return CheckUnknownHost(ctx, through) },
	} {
		if err := check(); err != nil {
			t.Errorf("%s over https: %v", name, err)
		}
	}
	if through.TLS, err = openai.TLSConfig("", true); err != nil {
		t.Fatal(err)
	}
	through.Host = ""
	if err := CheckModels(ctx, through); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("insecure, without the Host: %v, want nginx's 404 for an unknown host", err)
	}
}

// TestBufferingCheck: the buffering check fails on a proxy that holds a
// stream until it ends, every time; and nginx's proxy_buffering on is no
// such proxy: nginx passes each chunk on as it arrives to a client that
// keeps up (buffering lets it read ahead of a slow client), so the check
// passes with it. That is nginx's behaviour, measured here: if a release
// changed it, this test says so.
func TestBufferingCheck(t *testing.T) {
	ctx := context.Background()
	through, direct, _ := labWith(t, manifestIngress(t), sim.Config{TTFT: 20 * time.Millisecond, ITL: 8 * time.Millisecond}, func(c *Config) { c.Routes[0].Settings.Buffering = true })
	clock.Attempts(t, clock.DefaultAttempts, func(int) []string {
		d, i, err := CheckNotBuffered(ctx, through, direct, 10*time.Millisecond, 40)
		t.Logf("proxy_buffering on: TTFT direct %v, through nginx %v", d, i)
		if err != nil {
			return []string{"nginx with proxy_buffering on held the stream: " + err.Error()}
		}
		return nil
	})

	// A proxy that holds the whole response: 40 tokens at 8 ms are held
	// about 320 ms.
	holding := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, direct.URL+r.URL.Path, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(body)
	}))
	defer holding.Close()
	held := Address{URL: holding.URL, Model: direct.Model}
	d, i, err := CheckNotBuffered(ctx, held, direct, 10*time.Millisecond, 40)
	if err == nil {
		t.Fatalf("a proxy that holds the stream passed the buffering check: TTFT direct %v, through it %v", d, i)
	}
	t.Logf("a holding proxy fails the check: %v", err)
}
