#!/usr/bin/env bash
# Step: vLLM's image into Minikube before the platform is applied, with a
# step timeout of its own: the vllm-openai image is about 12 GB compressed,
# and a first pull inside the deploy's wait (E2E_DEPLOY_TIMEOUT, which also
# holds the model download and start-up) would not fit. Then the image
# itself proves the driver: torch.cuda.is_available() in it, on the GPU
# (vllm-openai images from 0.9 on need CUDA 12.8, a driver of R570 or
# later; a CUDA 12.4 test image passes on older drivers and proves nothing).
#   PREPULL_TIMEOUT (default 55m)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
image=$(kubectl kustomize "$(overlay)" | awk '$1 == "image:" {print $2; exit}')
[ -n "$image" ] || { error "no image" "the overlay $(overlay) names no container image"; exit 1; }
echo "pulling $image into minikube profile $MINIKUBE_PROFILE"
began=$(date +%s)
if ! timeout "${PREPULL_TIMEOUT:-55m}" minikube -p "$MINIKUBE_PROFILE" image pull "$image"; then
  error "image pull" "$image did not pull into Minikube within ${PREPULL_TIMEOUT:-55m} (a first pull of vllm-openai is about 12 GB); see the step's log"
  exit 1
fi
echo "pulled in $(( $(date +%s) - began )) s"
probe='import torch, sys; ok = torch.cuda.is_available(); print("cuda available:", ok, torch.version.cuda, torch.cuda.get_device_name(0) if ok else ""); sys.exit(0 if ok else 1)'
if ! out=$(minikube -p "$MINIKUBE_PROFILE" ssh -- docker run --rm --gpus all --entrypoint python3 "$image" -c "'$probe'" 2>&1); then
  error "CUDA" "$image cannot use the GPU (torch.cuda.is_available() is false or the container did not start): $(echo "$out" | tail -n 3 | tr '\n' ' '). vllm-openai from 0.9 on needs a driver of R570 or later (CUDA 12.8); make preflight checks the driver."
  exit 1
fi
echo "$out"
