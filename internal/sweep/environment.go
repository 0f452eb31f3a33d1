package sweep

import (
	"context"

	"github.com/llm-platform/harness/internal/openai"
	"github.com/llm-platform/harness/internal/stackprobe"
)

// probeStack records what is measured. The cluster is asked only for a
// real target: the embedded simulator runs in this process, whatever
// cluster a kubeconfig may point at.
func (r *Runner) probeStack(ctx context.Context) stackprobe.Stack {
	s := stackprobe.Stack{Model: r.model, URL: r.endpoint.BaseURL, Host: r.endpoint.Host, Route: openai.ChatPath(r.endpoint.BaseURL)}
	sctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	if v, err := openai.ServerVersion(sctx, r.hc, r.endpoint); err == nil {
		s.ServerVersion = v
	} else {
		s.Notes = append(s.Notes, "server version unknown: "+err.Error())
	}
	if r.sim != nil {
		return s
	}
	v, controllers, err := stackprobe.Kubernetes(ctx)
	s.Kubernetes, s.Controllers = v, controllers
	if err != nil {
		s.Notes = append(s.Notes, "cluster unknown: "+err.Error())
	}
	return s
}
