# shellcheck shell=bash
# Shared by the GPU workflow's step scripts (sourced, not run).
# Each step is a script so that the workflow and its rehearsal on the lab
# (make rehearse) run the same lines. A step script reads the workflow's
# env, appends KEY=VALUE lines to $GITHUB_ENV for the steps after it, and
# writes what the team should read to $GITHUB_STEP_SUMMARY.
set -euo pipefail

: "${GITHUB_ENV:=/dev/null}"
: "${GITHUB_STEP_SUMMARY:=/dev/null}"

# error TITLE MESSAGE: an annotation in the job and a line in the summary.
error() {
  echo "::error title=$1::$2"
  printf '> [!CAUTION]\n> **%s:** %s\n\n' "$1" "$2" >> "$GITHUB_STEP_SUMMARY"
}

# warn TITLE MESSAGE: likewise, a warning.
warn() {
  echo "::warning title=$1::$2"
  printf '> [!WARNING]\n> **%s:** %s\n\n' "$1" "$2" >> "$GITHUB_STEP_SUMMARY"
}

# version_lt A B: whether version A (vX.Y.Z) is older than B.
version_lt() {
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "${1#v}" "${2#v}" | sort -V | head -n1)" = "${1#v}" ]
}

# overlay: the overlay the route applies (OVERLAY overrides it: the
# rehearsal applies the lab's).
overlay() {
  if [ -n "${OVERLAY:-}" ]; then echo "$OVERLAY"
  elif [ "${ROUTE:-ingress}" = gateway ]; then echo manifests/overlays/minikube-gpu-ngf
  else echo manifests/overlays/minikube-gpu; fi
}
