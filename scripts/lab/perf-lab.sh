#!/usr/bin/env bash
# make perf-lab (as root): the platform (LAB_OVERLAY) Available on the
# lab's real node, then, inside the lab's namespace, the sweep direct to
# the pod and through nginx (cmd/ingresslab, rendered from the overlay's
# route, Host llm.local) -> the Service's ClusterIP -> the pod; the second
# report compares itself with the first (PERF_COMPARE): the overhead cell by
# cell. The lab goes afterwards, whatever the outcome.
#
# Usage: perf-lab.sh GINKGO-COMMAND...: the command that runs the perf suite
# (make passes its GINKGO_PERF and GINKGO_FLAGS), given ./perf at the end.
# Environment: lib.sh's variables, LAB_OVERLAY, REPORTS (the report folder;
# direct/ and ingress/ under it), and the sweep's PERF_* settings.
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lab/lib.sh
: "${LAB_OVERLAY:?the overlay to apply}" "${REPORTS:?the report folder}"
[ $# -gt 0 ] || { echo "usage: $0 GINKGO-COMMAND..." >&2; exit 2; }

lab_down >/dev/null 2>&1 || true
rc=0
if lab_netns && lab_up -apply "$LAB_OVERLAY" &&
	kubectl_lab -n llm wait --for=condition=Available deploy/vllm --timeout=5m &&
	svc=$(kubectl_lab -n llm get svc vllm -o jsonpath='{.spec.clusterIP}') &&
	pod=$(kubectl_lab -n llm get pods -l app.kubernetes.io/name=vllm -o jsonpath='{.items[0].status.podIP}'); then
	echo "perf-lab: pod $pod, Service $svc:8000"
	# ingresslab sets INGRESS_URL for the command it runs.
	export POD_URL=http://$pod:8000 REPORTS
	in_lab go run ./cmd/ingresslab -backend "http://$svc:8000" -overlay "$LAB_OVERLAY" -- bash -c '
		PERF_TARGET=$POD_URL PERF_REPORT_DIR=$REPORTS/direct "$@" ./perf &&
		PERF_TARGET=$INGRESS_URL PERF_HOST=llm.local PERF_REPORT_DIR=$REPORTS/ingress PERF_COMPARE=$REPORTS/direct/results.json "$@" ./perf' \
		perf-lab "$@" || rc=1
else
	rc=1
fi
lab_down >/dev/null || rc=1
exit $rc
