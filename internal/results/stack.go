package results

import (
	"fmt"
	"strings"
)

// Stack is what a run measured: the server, its route and, when a
// kubeconfig is at hand, the cluster (package stackprobe fills it).
type Stack struct {
	// ServerVersion is what the server's GET /version answered (vLLM's
	// version); "" when it has no such endpoint.
	ServerVersion string `json:"server_version,omitempty"`
	Model         string `json:"model"`
	URL           string `json:"url"`
	Host          string `json:"host,omitempty"`
	// Route is the path requests were sent to, and RouteKind what carried
	// them: "ingress", "gateway", or "" straight to the server (schema 6
	// on; the run history keeps each kind a series of its own).
	Route     string `json:"route"`
	RouteKind string `json:"route_kind,omitempty"`
	// Kubernetes is the cluster's server version, and Controllers the
	// images of its ingress or gateway controller pods; empty without a
	// kubeconfig (Notes says why).
	Kubernetes  string   `json:"kubernetes_version,omitempty"`
	Controllers []string `json:"controllers,omitempty"`
	// Notes say why a field is empty.
	Notes []string `json:"notes,omitempty"`
}

// Diff names the fields in which cur differs from base, as
// "field: base -> cur". A field empty on either side is not compared: an
// unknown is not a difference.
func StackDiff(base, cur Stack) []string {
	var out []string
	for _, f := range []struct{ name, a, b string }{
		{"server_version", base.ServerVersion, cur.ServerVersion},
		{"model", base.Model, cur.Model},
		{"host", base.Host, cur.Host},
		{"route", base.Route, cur.Route},
		{"route_kind", base.RouteKind, cur.RouteKind},
		{"kubernetes_version", base.Kubernetes, cur.Kubernetes},
		{"controllers", strings.Join(base.Controllers, ","), strings.Join(cur.Controllers, ",")},
	} {
		if f.a != "" && f.b != "" && f.a != f.b {
			out = append(out, fmt.Sprintf("%s: %s -> %s", f.name, f.a, f.b))
		}
	}
	return out
}
