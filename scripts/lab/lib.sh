# Shared by the lab's scripts (sourced, not run): the lab named $LAB, its
# real node's folder and kubeconfig, and commands run inside its network
# namespace. The Makefile passes every variable; a missing one stops the
# script at once, naming it.
: "${LAB:?the lab name}" "${LAB_CMD:?the built cmd/lab}" "${LAB_BIN:?the lab Kubernetes binaries}"
: "${LAB_CRDS:?the lab CRDs}" "${LAB_RUN:?the lab run folder}" "${LAB_IMAGE_TARS:?the real node images, comma-separated}"
node_dir=$LAB_RUN/$LAB
kubeconfig=$HOME/.kwok/clusters/$LAB/kubeconfig.yaml

# in_lab runs a command inside the lab's network namespace, where its
# pod and Service addresses exist.
in_lab() { nsenter --net="/run/netns/$LAB" "$@"; }

# lab_netns makes the lab's network namespace; lab_up starts the lab in it
# (control plane, the real node, kwok's nodes), with any extra flags of
# cmd/lab up (-apply OVERLAY); lab_down removes it all, and is safe to run
# on a lab that is not there.
lab_netns() { "$LAB_CMD" netns -name "$LAB" -node-dir "$node_dir" >/dev/null; }
lab_up() { in_lab "$LAB_CMD" up -bin "$LAB_BIN" -crds "$LAB_CRDS" -name "$LAB" -node-dir "$node_dir" -images "$LAB_IMAGE_TARS" "$@"; }
lab_down() { "$LAB_CMD" down -bin "$LAB_BIN" -name "$LAB" -node-dir "$node_dir"; }

# kubectl_lab is kubectl on the lab, from inside its namespace.
kubectl_lab() { in_lab kubectl --kubeconfig "$kubeconfig" "$@"; }
