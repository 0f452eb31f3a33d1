#!/usr/bin/env bash
# Step: ginkgo ./e2e, verifying the platform deployed in namespace llm in
# place, through the route at ROUTE_URL. Every lesson must run
# (E2E_REQUIRE_LESSONS): the suite reaches vLLM by a port-forward and reads
# the controller's log through the API server. The suite writes its own
# JUnit and a short summary into E2E_REPORT_DIR (reports/e2e).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
export E2E_REPORT_DIR=${E2E_REPORT_DIR:-reports/e2e}
status=0
E2E_CLUSTER=existing E2E_PLATFORM_NAMESPACE=llm E2E_OVERLAY="$(overlay)" E2E_REQUIRE_LESSONS=1 E2E_ROUTE="$ROUTE" INGRESS_URL="$ROUTE_URL" \
  make e2e GINKGO_FLAGS="${E2E_GINKGO_FLAGS:-}" || status=$?
summary=$E2E_REPORT_DIR/summary.md; [ "$ROUTE" = gateway ] && summary=$E2E_REPORT_DIR/summary-gateway.md
if [ -f "$summary" ]; then
  cat "$summary" >> "$GITHUB_STEP_SUMMARY"
else
  echo "### e2e through the $ROUTE: no summary (the suite did not start; see the step's log)" >> "$GITHUB_STEP_SUMMARY"
fi
exit $status
