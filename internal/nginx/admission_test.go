package nginx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func inNamespace(ing *networkingv1.Ingress, ns string) networkingv1.Ingress {
	c := ing.DeepCopy()
	c.Namespace = ns
	return *c
}

func TestOverlap(t *testing.T) {
	platform := manifestIngress(t)
	inLLM := inNamespace(platform, "llm")
	second := inNamespace(platform, "llm-e2e-abc")
	if err := Overlap(&second, []networkingv1.Ingress{inLLM}); err == nil || err.Error() != `host "llm.local" and path "/" is already defined in ingress llm/vllm` {
		t.Errorf("a second copy in another namespace: err = %v", err)
	}
	// The same object applied again (a dry run onto the same names) is no
	// overlap; nor is another host, another path or another class.
	if err := Overlap(&inLLM, []networkingv1.Ingress{inLLM}); err != nil {
		t.Errorf("the same object: %v", err)
	}
	other := second.DeepCopy()
	other.Spec.Rules[0].Host = "other.local"
	if err := Overlap(other, []networkingv1.Ingress{inLLM}); err != nil {
		t.Errorf("another host: %v", err)
	}
	other = second.DeepCopy()
	other.Spec.Rules[0].HTTP.Paths[0].Path = "/v2"
	if err := Overlap(other, []networkingv1.Ingress{inLLM}); err != nil {
		t.Errorf("another path: %v", err)
	}
	other = second.DeepCopy()
	cls := "traefik"
	other.Spec.IngressClassName = &cls
	if err := Overlap(other, []networkingv1.Ingress{inLLM}); err != nil {
		t.Errorf("another class: %v", err)
	}
}

func review(t *testing.T, h http.Handler, ing networkingv1.Ingress) *admissionv1.AdmissionResponse {
	t.Helper()
	raw, _ := json.Marshal(ing)
	body, _ := json.Marshal(admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{UID: "u1", Namespace: ing.Namespace, Object: runtime.RawExtension{Raw: raw}}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("HTTP %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil || out.Response.UID != "u1" {
		t.Fatalf("response %s: %v", rec.Body, err)
	}
	return out.Response
}

func TestAdmission(t *testing.T) {
	platform := manifestIngress(t)
	inLLM := inNamespace(platform, "llm")
	h := Admission{List: func(context.Context) ([]networkingv1.Ingress, error) { return []networkingv1.Ingress{inLLM}, nil }}
	if r := review(t, h, inNamespace(platform, "llm-e2e-x")); r.Allowed || !strings.Contains(r.Result.Message, "already defined in ingress llm/vllm") {
		t.Errorf("second copy: %+v", r)
	}
	if r := review(t, h, inLLM); !r.Allowed {
		t.Errorf("the same object: %+v", r.Result)
	}
	failing := Admission{List: func(context.Context) ([]networkingv1.Ingress, error) { return nil, errors.New("apiserver away") }}
	if r := review(t, failing, inLLM); r.Allowed || !strings.Contains(r.Result.Message, "apiserver away") {
		t.Errorf("a failed list must deny, naming why: %+v", r)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{")))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("garbage: HTTP %d", rec.Code)
	}
}
