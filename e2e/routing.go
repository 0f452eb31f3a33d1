package e2e

import (
	"context"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/llm-platform/harness/internal/nginx"
)

// RoutingSpec: host and path reach vLLM; an unknown host is 404; a body
// over the Ingress's limit is 413.
func RoutingSpec(ctx context.Context, inputGetter func() IngressInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	t := in.Plane.Target()
	Expect(nginx.CheckModels(ctx, t)).To(Succeed())
	Expect(nginx.CheckChat(ctx, t)).To(Succeed())
	Expect(nginx.CheckUnknownHost(ctx, t)).To(Succeed())
	limit, err := in.Route.BodyLimit(ctx, in.Cluster)
	Expect(err).NotTo(HaveOccurred())
	AddReportEntry("body limit", fmt.Sprintf("%d bytes, from %s", limit, in.Route.BodyLimitSource()))
	Expect(nginx.CheckBodyLimit(ctx, t, limit)).To(Succeed())
}
