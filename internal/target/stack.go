package target

import (
	"context"

	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/results"
	"github.com/llm-platform/harness/internal/stackprobe"
)

// Stack records what is measured. The cluster is asked only for a real
// target: the embedded simulator runs in this process, whatever cluster a
// kubeconfig may point at.
func (t *Target) Stack(ctx context.Context) results.Stack {
	s := results.Stack{Model: t.Model, URL: t.Endpoint.BaseURL, Host: t.Endpoint.Host, Route: openai.ChatPath(t.Endpoint.BaseURL)}
	sctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	if v, err := openai.ServerVersion(sctx, t.HTTP, t.Endpoint); err == nil {
		s.ServerVersion = v
	} else {
		s.Notes = append(s.Notes, "server version unknown: "+err.Error())
	}
	if t.sim != nil {
		return s
	}
	v, controllers, err := stackprobe.Kubernetes(ctx)
	s.Kubernetes, s.Controllers = v, controllers
	if err != nil {
		s.Notes = append(s.Notes, "cluster unknown: "+err.Error())
	}
	return s
}
