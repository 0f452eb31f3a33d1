#!/usr/bin/env bash
# make preflight: checks the GPU runner before anything starts, and says
# what to do about each thing that fails (the runner's set-up:
# docs/gpu-runner.md). The workflow runs it first.
#   MINIKUBE_PROFILE (minikube), MINIKUBE_CPUS (4), MINIKUBE_MEMORY (16g)
#   PREFLIGHT_MIN_DRIVER (570: vllm-openai 0.9 and later need CUDA 12.8)
#   PREFLIGHT_MIN_DISK_GB (60: the vLLM image, about 12 GB compressed and
#   twice that unpacked, plus the model and Minikube's node)
#   MINIKUBE_ALLOW_ANY_VERSION=1 accepts a Minikube older than v1.36.0
#   PREFLIGHT_ALLOW_ROOT=1 accepts root (the rehearsal on the lab runs as root)
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
set +e
profile=${MINIKUBE_PROFILE:-minikube}
cpus=${MINIKUBE_CPUS:-4}
memory=${MINIKUBE_MEMORY:-16g}
min_driver=${PREFLIGHT_MIN_DRIVER:-570}
min_disk=${PREFLIGHT_MIN_DISK_GB:-60}
meminfo=${PREFLIGHT_MEMINFO:-/proc/meminfo}
user=$(id -un)
failed=0
ok()   { printf 'ok    %s\n' "$1"; }
fail() { printf 'FAIL  %s\n      %s\n' "$1" "$2"; failed=$((failed+1)); printf -- '- **%s**: %s\n' "$1" "$2" >> "$GITHUB_STEP_SUMMARY"; }

# The user runs Docker without sudo: Minikube's docker driver refuses root.
if [ "$(id -u)" = 0 ] && [ "${PREFLIGHT_ALLOW_ROOT:-}" = 1 ]; then ok "root (PREFLIGHT_ALLOW_ROOT=1)"
elif [ "$(id -u)" = 0 ]; then
  fail "runner user" "the runner runs as root; Minikube's docker driver refuses root. Run the runner as an unprivileged user in the docker group (docs/gpu-runner.md)."
elif id -nG | tr ' ' '\n' | grep -qx docker; then ok "runner user $user is in group docker"
else fail "docker group" "$user is not in group docker: sudo usermod -aG docker $user, then restart the runner service"; fi

if ! command -v docker >/dev/null; then fail "docker" "docker is not installed (https://docs.docker.com/engine/install/)"
elif ! docker info >/dev/null 2>&1; then fail "docker" "docker info fails for $user: is the daemon running, and is $user in group docker?"
else
  ok "docker answers"
  if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q nvidia; then ok "docker has the nvidia runtime"
  else fail "NVIDIA container toolkit" "docker has no nvidia runtime: install nvidia-container-toolkit and run sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker"; fi
  root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null)
  free=$(df -P -BG "${root:-/}" 2>/dev/null | awk 'NR==2 {sub("G","",$4); print $4}')
  if [ -n "$free" ] && [ "$free" -ge "$min_disk" ]; then ok "$free GiB free for docker (${root:-/})"
  else fail "disk" "${free:-?} GiB free under ${root:-/}; the vLLM image and model need about $min_disk GiB (PREFLIGHT_MIN_DISK_GB)"; fi
fi

if ! command -v nvidia-smi >/dev/null; then fail "NVIDIA driver" "nvidia-smi is not installed: install the NVIDIA driver, R$min_driver or later"
else
  driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n1)
  if [ -z "$driver" ]; then fail "NVIDIA driver" "nvidia-smi finds no GPU: $(nvidia-smi 2>&1 | head -n1)"
  elif [ "${driver%%.*}" -lt "$min_driver" ]; then fail "NVIDIA driver" "driver $driver; vllm-openai images from 0.9 on are built on CUDA 12.8, which needs R$min_driver or later"
  else ok "NVIDIA driver $driver"; fi
fi

if ! command -v minikube >/dev/null; then fail "minikube" "minikube is not installed: install v1.36.0 or later (https://minikube.sigs.k8s.io/docs/start/)"
else
  have=$(minikube version --short 2>/dev/null)
  if version_lt "$have" v1.36.0 && [ "${MINIKUBE_ALLOW_ANY_VERSION:-}" != 1 ]; then
    fail "minikube version" "minikube $have; the platform needs v1.36.0 or later (--gpus needs v1.32.0; the ingress addon supports Kubernetes 1.32 from v1.36.0), or set MINIKUBE_ALLOW_ANY_VERSION=1"
  else ok "minikube $have"; fi
  # Minikube's state: $MINIKUBE_HOME/.minikube, or $MINIKUBE_HOME itself
  # when it names the .minikube folder.
  mhome=${MINIKUBE_HOME:-$HOME}; [ "$(basename "$mhome")" = .minikube ] || mhome=$mhome/.minikube
  dir=$mhome/profiles/$profile
  if [ ! -e "$dir" ]; then ok "profile $profile does not exist yet (the workflow starts it as $user)"
  elif [ "$(stat -c %U "$dir")" != "$user" ]; then fail "minikube profile" "profile $profile ($dir) belongs to $(stat -c %U "$dir"), not $user: Minikube keeps a profile per user; delete it as its owner (minikube delete -p $profile) and let the workflow start it as $user"
  else ok "profile $profile belongs to $user"; fi
fi

want=$(echo "$memory" | awk '{n=$0+0; u=tolower(substr($0, length($0))); if (u=="g") n*=1024; else if (u=="t") n*=1048576; print int(n)}')
have=$(awk '/^MemTotal:/ {print int($2/1024)}' "$meminfo")
if [ "$have" -ge "$want" ]; then ok "host memory ${have} MiB for --memory $memory"
else fail "host memory" "the host has ${have} MiB; minikube refuses --memory $memory (${want} MiB) above the host's memory: add memory or lower MINIKUBE_MEMORY (vLLM's pod is limited to 12 Gi)"; fi
if [ "$(nproc)" -ge "$cpus" ]; then ok "$(nproc) CPUs for --cpus $cpus"
else fail "CPUs" "the host has $(nproc) CPUs; minikube --cpus $cpus needs as many"; fi

if command -v gcc >/dev/null; then ok "gcc (cgo, for the NVML sampler)"
else fail "gcc" "gcc is not installed: the perf suite's NVML sampler is cgo (sudo apt-get install -y gcc)"; fi
for tool in kubectl go git make; do
  if command -v "$tool" >/dev/null; then ok "$tool"; else fail "$tool" "$tool is not on PATH"; fi
done

if [ "$failed" -gt 0 ]; then
  echo "preflight: $failed checks failed"
  exit 1
fi
echo "preflight: every check passed"
