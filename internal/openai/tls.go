package openai

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// TLSConfig is the client's TLS set-up for an https target: the system's
// roots plus the PEM bundle at caFile (an ingress or gateway with a
// self-signed or private CA, routine for llm.local), or no verification at
// all when insecure is set. Both empty gives nil: Go's defaults.
func TLSConfig(caFile string, insecure bool) (*tls.Config, error) {
	if caFile == "" && !insecure {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // only when the user asks, and the report warns
	if caFile == "" {
		return c, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("openai: CA bundle: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("openai: CA bundle: %s: no PEM certificate in it", caFile)
	}
	c.RootCAs = pool
	return c, nil
}

// HTTPClient is a client for the endpoint's requests other than completions
// (/v1/models, /metrics, /version): its TLS set-up, no proxy from the
// environment (a load test measures the target), and timeout per request.
func (e Endpoint) HTTPClient(timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.TLSClientConfig = e.tlsClient()
	return &http.Client{Timeout: timeout, Transport: tr}
}

// tlsClient is the transport's TLS set-up: e.TLS, and with a Host override
// the server name sent (SNI) and verified is that host's, not the
// address's: https://192.168.49.2 with Host llm.local reaches the ingress's
// llm.local certificate, as a browser at https://llm.local would.
func (e Endpoint) tlsClient() *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.TLS != nil {
		c = e.TLS.Clone()
	}
	if e.Host != "" && c.ServerName == "" {
		c.ServerName = e.Host
		if h, _, err := net.SplitHostPort(e.Host); err == nil {
			c.ServerName = h
		}
	}
	return c
}

// IsCertificateError reports whether err is a failed verification of the
// server's certificate: waiting does not fix it, the client's trust does.
func IsCertificateError(err error) bool {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	var verify *tls.CertificateVerificationError
	return errors.As(err, &unknown) || errors.As(err, &invalid) || errors.As(err, &host) || errors.As(err, &verify)
}

// ExplainTLS adds what to do to a certificate error, in the caller's terms
// (the settings that fix it, e.g. "set PERF_CA_FILE to its CA's PEM
// bundle"). Other errors come back unchanged.
func ExplainTLS(err error, fix string) error {
	if !IsCertificateError(err) {
		return err
	}
	return fmt.Errorf("%w (the target's certificate is not trusted: %s)", err, fix)
}
