#!/usr/bin/env bash
# make test-e2e-lab (as root): the e2e suite on a lab of its own, for each
# route kind, twice: once deploying the platform itself, then in the GPU
# workflow's order (the overlay applied into namespace llm first, the suite
# verifying it in place). The lab goes afterwards, whatever the outcome.
#
# Environment: lib.sh's variables, E2E_TEST_BIN (the suite, built by
# `go test -c` outside the lab's namespace, where the module proxy is
# reachable), and whatever the suite reads (LLMD_INFERENCE_SIM, ...).
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lab/lib.sh
: "${E2E_TEST_BIN:?the built e2e suite}"

# suite runs the lab-ok specs for route kind $1 against the lab.
suite() {
	(cd e2e && E2E_ROUTE=$1 E2E_CLUSTER=lab E2E_CLUSTER_NAME=$LAB E2E_LAB_BIN=$LAB_BIN E2E_LAB_CRDS=$LAB_CRDS \
		E2E_LAB_NODE_DIR=$node_dir E2E_LAB_IMAGES=$LAB_IMAGE_TARS \
		in_lab "$E2E_TEST_BIN" -test.timeout 15m -ginkgo.label-filter=lab-ok -ginkgo.randomize-all -ginkgo.v)
}

lab_down >/dev/null 2>&1 || true
lab_netns || exit 1
rc=0
began=$(date +%s)
for route in ingress gateway; do
	echo "== e2e on a fresh lab, E2E_ROUTE=$route: the suite deploys the platform"
	suite "$route" || { rc=1; break; }
done
if [ $rc = 0 ]; then
	for pair in ingress:lab gateway:lab-gateway; do
		route=${pair%%:*} overlay=${pair#*:}
		echo "== e2e in the workflow's order, E2E_ROUTE=$route: overlay $overlay applied into llm first, then the suite"
		lab_up -apply "manifests/overlays/$overlay" && suite "$route" &&
			kubectl_lab delete namespace llm --wait --timeout=3m >/dev/null || { rc=1; break; }
	done
fi
echo "test-e2e-lab: $(($(date +%s) - began)) s"
lab_down >/dev/null || rc=1
exit $rc
