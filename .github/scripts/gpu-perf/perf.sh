#!/usr/bin/env bash
# Step: ginkgo ./perf through the route, GPU sampling required, gated by
# PERF_BASELINE when the baseline step found one, and against the run
# history (PERF_HISTORY, set by the history step), which it appends to. Ginkgo's own deadline
# (GINKGO_TIMEOUT) sits inside the job's timeout: a sweep it stops still
# writes its reports; one the runner kills writes nothing more. The suite
# fails at start when its estimate does not fit.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
PERF_TARGET="$ROUTE_URL" PERF_HOST=llm.local PERF_ROUTE_KIND="${ROUTE:-ingress}" PERF_REQUIRE_GPU="${PERF_REQUIRE_GPU:-1}" PERF_REPEATS="${PERF_REPEATS:-5}" \
  GINKGO_TIMEOUT="${GINKGO_TIMEOUT:-140m}" make perf
