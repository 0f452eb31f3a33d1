#!/usr/bin/env bash
# Step: the platform, applied into namespace llm (the route's overlay).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
kubectl apply -k "$(overlay)"
