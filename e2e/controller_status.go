package e2e

import (
	"context"
	"time"

	. "github.com/onsi/gomega"
)

// ControllerStatusSpec: on a cluster with a Gateway controller, the
// controller's own status passes CheckControllerStatus within Timeout.
func ControllerStatusSpec(ctx context.Context, inputGetter func() GatewayInput) {
	in := inputGetter()
	Expect(in.validate()).To(Succeed())
	Eventually(func() error { return CheckControllerStatus(ctx, in.Cluster, in.Route) }).
		WithContext(ctx).WithTimeout(in.Timeout).WithPolling(2 * time.Second).Should(Succeed())
}
