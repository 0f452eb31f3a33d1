#!/usr/bin/env bash
# Step: the route's address, as ROUTE_URL for the steps after: the ingress
# addon on $(minikube ip):80, or NGF's nginx for Gateway vllm (a NodePort
# Service in llm).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
ip=$(minikube -p "$MINIKUBE_PROFILE" ip)
if [ "$ROUTE" = ingress ]; then
  echo "ROUTE_URL=http://$ip" >> "$GITHUB_ENV"
else
  port=
  for _ in $(seq 60); do
    port=$(kubectl -n llm get svc -l gateway.networking.k8s.io/gateway-name=vllm -o jsonpath='{.items[0].spec.ports[0].nodePort}' 2>/dev/null) && [ -n "$port" ] && break
    sleep 5
  done
  [ -n "$port" ] || { error "no Gateway address" "no NodePort Service for Gateway vllm in llm"; exit 1; }
  echo "ROUTE_URL=http://$ip:$port" >> "$GITHUB_ENV"
fi
