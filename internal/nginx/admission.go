package nginx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Overlap is the NGINX Ingress Controller's admission rule that a platform
// team meets first when a second copy of an app is applied: no two Ingress
// objects of one class may define the same host and path. The controller
// refuses the second (its validating webhook, also on server-side dry
// runs) with the message this returns. It returns nil when ing overlaps
// none of existing (ing itself, by namespace and name, is skipped).
func Overlap(ing *networkingv1.Ingress, existing []networkingv1.Ingress) error {
	for _, other := range existing {
		if other.Namespace == ing.Namespace && other.Name == ing.Name {
			continue
		}
		if className(&other) != className(ing) {
			continue
		}
		for _, r := range ing.Spec.Rules {
			for _, o := range other.Spec.Rules {
				if r.Host != o.Host || r.HTTP == nil || o.HTTP == nil {
					continue
				}
				for _, p := range r.HTTP.Paths {
					for _, op := range o.HTTP.Paths {
						if p.Path == op.Path {
							return fmt.Errorf("host %q and path %q is already defined in ingress %s/%s", r.Host, p.Path, other.Namespace, other.Name)
						}
					}
				}
			}
		}
	}
	return nil
}

func className(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations["kubernetes.io/ingress.class"]
}

// Admission serves the Overlap rule as a Kubernetes validating admission
// webhook (admission.k8s.io/v1), so the lab's real API server refuses what
// a cluster running the NGINX Ingress Controller refuses.
type Admission struct {
	// List returns every Ingress in the cluster.
	List func(ctx context.Context) ([]networkingv1.Ingress, error)
}

// ServeHTTP answers one AdmissionReview. A request it cannot read is a 400;
// an Ingress it cannot decode, or a failed List, is denied with the reason.
func (a Admission) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var review admissionv1.AdmissionReview
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&review); err != nil || review.Request == nil {
		http.Error(w, "ingress admission: want an AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	deny := func(msg string) {
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Reason: metav1.StatusReasonInvalid, Message: msg, Code: http.StatusBadRequest}
	}
	var ing networkingv1.Ingress
	if err := json.Unmarshal(review.Request.Object.Raw, &ing); err != nil {
		deny("ingress admission: decode the Ingress: " + err.Error())
	} else if existing, err := a.List(r.Context()); err != nil {
		deny("ingress admission: list Ingresses: " + err.Error())
	} else {
		if ing.Namespace == "" {
			ing.Namespace = review.Request.Namespace
		}
		if err := Overlap(&ing, existing); err != nil {
			deny(err.Error()) // the API server prefixes the webhook's name
		}
	}
	review.Response, review.Request = resp, nil
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}
