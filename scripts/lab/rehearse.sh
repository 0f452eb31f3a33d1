#!/usr/bin/env bash
# make rehearse (as root): the GPU workflow rehearsed by cmd/rehearse (its
# steps' scripts in its order, four nights) against a lab of its own, with
# the stand-in minikube (cmd/labminikube) on PATH. The stand-in controller
# (a background process, as the addon is) goes first, then the lab: before
# the run (an interrupted one may have left them) and after it, whatever
# the outcome.
#
# Usage: rehearse.sh [cmd/rehearse flags...] (make passes REHEARSE_FLAGS).
# Environment: lib.sh's variables, REHEARSE_BIN (the built cmd/rehearse),
# STANDINS (the folder holding the stand-in minikube), K8S_VERSION, and
# what the suites read (LLMD_INFERENCE_SIM, ...).
set -uo pipefail
cd "$(dirname "$0")/../.."
. scripts/lab/lib.sh
: "${REHEARSE_BIN:?the built cmd/rehearse}" "${STANDINS:?the stand-ins folder}" "${K8S_VERSION:?}"

down() {
	[ ! -x "$STANDINS/minikube" ] || LAB_MINIKUBE_HOME=$PWD/.cache/rehearsal/minikube-home "$STANDINS/minikube" stand-in-stop
	lab_down
}

down >/dev/null 2>&1 || true
lab_netns || exit 1
began=$(date +%s)
rc=0
lab_up && in_lab "$REHEARSE_BIN" -kubeconfig "$kubeconfig" -standins "$STANDINS" -kubernetes-version "$K8S_VERSION" \
	-out reports/rehearsal "$@" || rc=1
echo "rehearse: $(($(date +%s) - began)) s"
down >/dev/null || rc=1
exit $rc
