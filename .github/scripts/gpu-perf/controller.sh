#!/usr/bin/env bash
# Step: the route's controller. ROUTE=ingress: Minikube's ingress addon;
# ROUTE=gateway: NGINX Gateway Fabric $NGF_VERSION (the Gateway API CRDs it
# supports, its own CRDs, its NodePort deploy), Available.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
if [ "$ROUTE" = ingress ]; then
  minikube -p "$MINIKUBE_PROFILE" addons enable ingress
else
  kubectl kustomize "https://github.com/nginx/nginx-gateway-fabric/config/crd/gateway-api/standard?ref=$NGF_VERSION" | kubectl apply -f -
  kubectl apply --server-side -f "https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/$NGF_VERSION/deploy/crds.yaml"
  kubectl apply -f "https://raw.githubusercontent.com/nginx/nginx-gateway-fabric/$NGF_VERSION/deploy/nodeport/deploy.yaml"
  kubectl -n nginx-gateway wait --for=condition=Available deployment/nginx-gateway --timeout=5m
fi
