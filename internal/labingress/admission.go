package labingress

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/e2e-framework/klient/wait"

	"github.com/llm-platform/harness/internal/cluster"
	"github.com/llm-platform/harness/internal/nginx"
)

// AdmissionName is the ValidatingWebhookConfiguration the lab registers.
const AdmissionName = "llm-lab-ingress-overlap"

// StartAdmission gives the lab's API server the NGINX Ingress
// Controller's overlap rule (ingress.Overlap): a webhook served from this
// process on loopback over TLS with a certificate made here, registered as
// a ValidatingWebhookConfiguration. It returns once the API server calls it,
// and the returned stop unregisters it and stops the server.
func StartAdmission(ctx context.Context, c *cluster.Cluster) (stop func(context.Context) error, err error) {
	cert, caPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("labingress: admission: %w", err)
	}
	var calls atomic.Int64
	h := nginx.Admission{List: func(ctx context.Context) ([]networkingv1.Ingress, error) {
		var l networkingv1.IngressList
		err := c.Client.Resources().List(ctx, &l)
		return l.Items, err
	}}
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1); h.ServeHTTP(w, r) }),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()

	url := "https://" + ln.Addr().String() + "/validate"
	none, fail, timeout := admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.Fail, int32(5)
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: AdmissionName},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "validate.nginx.ingress.kubernetes.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caPEM},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}, Rule: admissionregistrationv1.Rule{APIGroups: []string{"networking.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"ingresses"}}}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			TimeoutSeconds:          &timeout,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	r := c.Client.Resources()
	stop = func(ctx context.Context) error {
		err := r.Delete(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: AdmissionName}})
		_ = srv.Close()
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	// A run killed earlier leaves its configuration pointing at a dead
	// address: replace it.
	if err := r.Delete(ctx, cfg.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
		_ = srv.Close()
		return nil, fmt.Errorf("labingress: admission: %w", err)
	}
	if err := r.Create(ctx, cfg); err != nil {
		_ = srv.Close()
		return nil, fmt.Errorf("labingress: admission: register: %w", err)
	}
	// The API server picks webhook configurations up asynchronously: dry-run
	// a harmless Ingress until the webhook sees it.
	probe := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "llm-lab-admission-probe", "namespace": "default"},
		"spec":     map[string]any{"ingressClassName": "nginx", "defaultBackend": map[string]any{"service": map[string]any{"name": "none", "port": map[string]any{"number": int64(80)}}}},
	}}
	err = wait.For(func(ctx context.Context) (bool, error) {
		before := calls.Load()
		_ = c.Apply(ctx, []*unstructured.Unstructured{probe}, true)
		return calls.Load() > before, nil
	}, wait.WithTimeout(30*time.Second), wait.WithInterval(poll), wait.WithContext(ctx))
	if err != nil {
		_ = stop(context.WithoutCancel(ctx))
		return nil, errors.New("labingress: admission: the API server never called the webhook")
	}
	return stop, nil
}

// selfSigned makes a certificate for 127.0.0.1 and returns it with its PEM
// (the webhook configuration's caBundle).
func selfSigned() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "llm-lab-admission"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	return cert, certPEM, err
}
