#!/usr/bin/env bash
# Step: Minikube with GPUs, started if not running, its context current.
#   MINIKUBE_PROFILE, MINIKUBE_CPUS, MINIKUBE_MEMORY, MINIKUBE_KUBERNETES_VERSION
#   MINIKUBE_ALLOW_ANY_VERSION=1 goes on with a Minikube older than needed.
# Minikube v1.32.0 brought --gpus for the docker driver; its ingress addon
# supports Kubernetes 1.32 from v1.36.0 (controller v1.12.x).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
need=v1.36.0
command -v minikube >/dev/null || { error "no minikube" "minikube is not on PATH: install $need or later (make preflight says how)"; exit 1; }
have=$(minikube version --short)
if version_lt "$have" "$need"; then
  if [ "${MINIKUBE_ALLOW_ANY_VERSION:-}" = 1 ]; then
    warn "old minikube" "minikube $have is older than $need; going on (MINIKUBE_ALLOW_ANY_VERSION=1)"
  else
    error "minikube too old" "minikube $have on the runner; the platform needs $need or later (--gpus needs v1.32.0; the ingress addon supports Kubernetes ${MINIKUBE_KUBERNETES_VERSION:-1.32} from v1.36.0). Upgrade it, or set MINIKUBE_ALLOW_ANY_VERSION=1 to go on."
    exit 1
  fi
fi
echo "minikube $have"
if ! minikube -p "$MINIKUBE_PROFILE" status >/dev/null 2>&1; then
  minikube start -p "$MINIKUBE_PROFILE" --driver docker --container-runtime docker --gpus all \
    --cpus "$MINIKUBE_CPUS" --memory "$MINIKUBE_MEMORY" --kubernetes-version "$MINIKUBE_KUBERNETES_VERSION"
fi
minikube -p "$MINIKUBE_PROFILE" update-context
