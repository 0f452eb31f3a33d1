#!/usr/bin/env bash
# make test-workers (as root): the distributed sweep on the lab's real
# node. The platform (overlay lab) Available on lab-node-0, then, inside
# the lab's namespace, the fleet's lab tests (internal/fleet, lab_test.go):
# worker pods of an Indexed Job, created through the lab's API server,
# reaching the platform through its Service, called through the API
# server's pod proxy. Then the DCGM source's lab test (internal/gpu/dcgm/
# kube, lab_test.go): a stand-in DCGM exporter pod serving recorded
# dcgm-exporter output behind the GPU Operator's Service name, found and
# read through the lab's API server by a sweep with PERF_GPU_SOURCE=auto.
# Afterwards no worker Job or pod may be left. The lab
# goes afterwards, whatever the outcome (LAB_KEEP=1 keeps it, for working
# on the tests).
#
# Environment: lib.sh's variables, FLEET_TEST_BIN and DCGM_TEST_BIN (the
# packages' tests, built by `go test -c` outside the lab's namespace, where
# the module proxy is reachable), FLEET_TEST_RUN (a -test.run pattern for
# the fleet's, default all its lab tests; DCGM_TEST_RUN=none skips the
# DCGM test).
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lab/lib.sh
: "${FLEET_TEST_BIN:?the built internal/fleet tests}"
: "${DCGM_TEST_BIN:?the built internal/gpu/dcgm/kube tests}"

began=$(date +%s)
rc=0
if [ -z "${LAB_REUSE:-}" ]; then
	lab_down >/dev/null 2>&1 || true
	lab_netns && lab_up -apply manifests/overlays/lab || rc=1
fi
if [ $rc = 0 ] && kubectl_lab -n llm wait --for=condition=Available deploy/vllm --timeout=5m &&
	svc=$(kubectl_lab -n llm get svc vllm -o jsonpath='{.spec.clusterIP}'); then
	echo "workers-lab: the platform is up; its Service at $svc:8000"
	(cd internal/fleet && FLEET_LAB_KUBECONFIG=$kubeconfig FLEET_LAB_TARGET=http://$svc:8000 FLEET_LAB_NAMESPACE=llm FLEET_LAB_NODE=lab-node-0 \
		in_lab "$FLEET_TEST_BIN" -test.run "${FLEET_TEST_RUN:-Lab}" -test.v -test.count 1 -test.timeout 20m) || rc=1
	if [ "${DCGM_TEST_RUN:-Lab}" != none ]; then
		(cd internal/gpu/dcgm/kube && DCGM_LAB_KUBECONFIG=$kubeconfig DCGM_LAB_TARGET=http://$svc:8000 DCGM_LAB_NAMESPACE=llm DCGM_LAB_NODE=lab-node-0 \
			in_lab "$DCGM_TEST_BIN" -test.run "${DCGM_TEST_RUN:-Lab}" -test.v -test.count 1 -test.timeout 10m) || rc=1
	fi
	left=$(kubectl_lab get jobs,pods -A -l app.kubernetes.io/name=llm-harness-worker -o name)
	[ -z "$left" ] || { echo "workers-lab: left behind: $left" >&2; rc=1; }
else
	rc=1
fi
echo "test-workers: $(($(date +%s) - began)) s"
[ -n "${LAB_KEEP:-}" ] || lab_down >/dev/null || rc=1
exit $rc
