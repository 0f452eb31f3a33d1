#!/usr/bin/env bash
# make perf-lab (as root): the platform (LAB_OVERLAY) Available on the
# lab's real node, then, inside the lab's namespace, the sweep direct to
# the pod and through nginx (cmd/ingresslab, rendered from the overlay's
# route, Host llm.local) -> the Service's ClusterIP -> the pod; the second
# report compares itself with the first (PERF_COMPARE): the overhead cell by
# cell. The lab goes afterwards, whatever the outcome.
#
# With PERF_WORKERS=N the sweep is driven from N worker pods on the lab's
# real node (the worker image is one the lab imports), which reach the
# platform through its Service: the lab's nginx listens on loopback inside
# the lab's network namespace, out of the pods' reach, so there is no
# ingress run then. Afterwards no worker Job or pod may be left.
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
	if [ "${PERF_WORKERS:-0}" != 0 ]; then
		export PERF_KUBECONFIG=$kubeconfig PERF_WORKER_TARGET=http://$svc:8000 PERF_WORKER_NAMESPACE=${PERF_WORKER_NAMESPACE:-llm} \
			PERF_WORKER_NODE_SELECTOR=${PERF_WORKER_NODE_SELECTOR:-kubernetes.io/hostname=lab-node-0}
		in_lab env PERF_TARGET="http://$svc:8000" PERF_REPORT_DIR="$REPORTS/workers" "$@" ./perf || rc=1
		left=$(kubectl_lab -n "$PERF_WORKER_NAMESPACE" get jobs,pods -l app.kubernetes.io/name=llm-harness-worker -o name)
		[ -z "$left" ] || { echo "perf-lab: left behind: $left" >&2; rc=1; }
		lab_down >/dev/null || rc=1
		exit $rc
	fi
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
