# The two commands a newcomer needs:
#   make perf   the main job: the perf sweep against the embedded simulator (or PERF_TARGET)
#   make test   every test, with the tools the tests need built first
SHELL := /bin/bash
.DEFAULT_GOAL := help

# go-nvml's cgo build warns about every deprecated NVML call; the default
# flags plus silence.
export CGO_CFLAGS ?= -O2 -g -Wno-deprecated-declarations

GO        ?= go
CACHE     := $(CURDIR)/.cache/bin
# Cached tools are named by a hash of the go.mod/go.sum that pin them, not
# made to depend on those files: a fresh checkout gives every file a new
# mtime, which would rebuild a restored cache every time. A version bump
# changes the hash, hence the name, hence a rebuild.
key = $(shell cat $(1) | sha256sum | cut -c1-12)
# llm-d-inference-sim, the independent vLLM simulator the tests check the
# engine against; built from the module proxy through tools/go.mod.
LLMD_SIM_VERSION := v0.10.2
LLMD_SIM  := $(CACHE)/llm-d-inference-sim-$(LLMD_SIM_VERSION)-$(call key,tools/go.mod tools/go.sum)

# make perf passes PERF_* settings through the environment (see README);
# GINKGO_FLAGS adds Ginkgo's own, e.g. GINKGO_FLAGS='--label-filter=payload:short'.
PERF_REPORT_DIR ?= reports
export PERF_REPORT_DIR
GINKGO_FLAGS ?=
BASELINE ?= fixtures/baselines/local.json

BENCH_TIME ?= 1s

# The commit the suites are built from, for the report's "Harness commit":
# test binaries carry no VCS stamp, and a binary copied to a GPU machine has
# no checkout beside it (internal/provenance).
HARNESS_COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
HARNESS_DIRTY  := $(shell git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo true || echo false)
PROVENANCE     := -X github.com/llm-platform/harness/internal/provenance.Commit=$(HARNESS_COMMIT) -X github.com/llm-platform/harness/internal/provenance.Dirty=$(HARNESS_DIRTY)
# Ginkgo stops a suite after one hour unless --timeout says otherwise; the
# nightly's sweep (2 payloads x 5 loads x 48 requests a VU x 5 repeats)
# runs about an hour at 8 ms a token. The perf suite estimates its plan at
# start and fails at once, naming the value to pass, when this is too short.
GINKGO_TIMEOUT ?= 12h
GINKGO_PERF    := $(GO) tool ginkgo --timeout=$(GINKGO_TIMEOUT) --ldflags="$(PROVENANCE)"

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The lab: the real Kubernetes control plane and the real node's kubelet
# and kube-proxy (tools/lab/go.mod), etcd and kwok (tools/go.mod), built
# once into a folder keyed by their versions.
K8S_VERSION  := v1.32.9
ETCD_VERSION := v3.6.16
KWOK_VERSION := v0.8.0
LAB_BIN      := $(CURDIR)/.cache/lab-k8s-$(K8S_VERSION)-etcd-$(ETCD_VERSION)-kwok-$(KWOK_VERSION)-$(call key,tools/go.mod tools/go.sum tools/lab/go.mod tools/lab/go.sum)
LAB_NAME     ?= llm-lab
K8S_LDFLAGS  := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=32

# The custom resource definitions the lab's API server gets, so the gateway
# manifests are validated by the schemas and CEL rules their implementations
# ship: the Gateway API's standard channel (v1.5.1, what NGINX Gateway Fabric
# v2.6.7 installs on the box) and Envoy Gateway's policies (v1.8.0, the
# release built against that Gateway API), from
# the module cache at the versions tools/crds/go.mod pins (nothing else is
# downloaded), and NGINX Gateway Fabric's policies, copied in
# fixtures/crds (NGF is not on the module proxy). The standard channel's
# folder also holds a ValidatingAdmissionPolicy, which is not a CRD and is
# left out.
GATEWAY_API_VERSION := v1.5.1
ENVOY_GATEWAY_VERSION := v1.8.0
NGF_VERSION  := v2.6.7
NGF_CRDS     := fixtures/crds/nginx-gateway-fabric-$(NGF_VERSION)
LAB_CRDS     := $(CURDIR)/.cache/lab-crds-gwapi-$(GATEWAY_API_VERSION)-eg-$(ENVOY_GATEWAY_VERSION)-ngf-$(NGF_VERSION)-$(call key,tools/crds/go.mod tools/crds/go.sum $(NGF_CRDS)/*.yaml)

$(LAB_CRDS)/.built:
	@mkdir -p $(LAB_CRDS)
	cd tools/crds && $(GO) mod download sigs.k8s.io/gateway-api github.com/envoyproxy/gateway && \
	  gw=$$($(GO) list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api) && eg=$$($(GO) list -m -f '{{.Dir}}' github.com/envoyproxy/gateway) && \
	  [ "$$($(GO) list -m -f '{{.Version}}' sigs.k8s.io/gateway-api)" = $(GATEWAY_API_VERSION) ] && \
	  [ "$$($(GO) list -m -f '{{.Version}}' github.com/envoyproxy/gateway)" = $(ENVOY_GATEWAY_VERSION) ] && \
	  for f in $$gw/config/crd/standard/gateway.networking.k8s.io_*.yaml; do case $$f in *_vap_*) ;; *) cp $$f $(LAB_CRDS)/;; esac; done && \
	  cp $$eg/charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_backendtrafficpolicies.yaml $(LAB_CRDS)/
	cp $(NGF_CRDS)/*.yaml $(LAB_CRDS)/
	@chmod 644 $(LAB_CRDS)/*.yaml
	@touch $@

# vegeta, the open-loop load generator make bench-rate compares the engine
# with; its own module, so bumping it rebuilds nothing else.
VEGETA_VERSION := v12.13.0
VEGETA := $(CACHE)/vegeta-$(VEGETA_VERSION)-$(call key,tools/bench/go.mod tools/bench/go.sum)

ACTIONLINT_VERSION := v1.7.12
ACTIONLINT := $(CACHE)/actionlint-$(ACTIONLINT_VERSION)-$(call key,tools/lint/go.mod tools/lint/go.sum)

.PHONY: tools
tools: $(LLMD_SIM) $(LAB_BIN)/.built $(LAB_CRDS)/.built $(ACTIONLINT) ## build the external tools the tests use (cached in .cache/; 10 minutes cold on 2 cores)

$(ACTIONLINT):
	@mkdir -p $(CACHE)
	cd tools/lint && $(GO) build -o $@ github.com/rhysd/actionlint/cmd/actionlint

$(VEGETA):
	@mkdir -p $(CACHE)
	cd tools/bench && $(GO) build -o $@ github.com/tsenart/vegeta/v12

$(LLMD_SIM):
	@mkdir -p $(CACHE)
	cd tools && $(GO) build -o $@ github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim

$(LAB_BIN)/.built:
	@mkdir -p $(LAB_BIN)
	cd tools/lab && $(GO) build -o $(LAB_BIN)/ -ldflags "$(K8S_LDFLAGS)" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
	cd tools && $(GO) build -o $(LAB_BIN)/etcd go.etcd.io/etcd/server/v3 && $(GO) build -o $(LAB_BIN)/ sigs.k8s.io/kwok/cmd/kwok sigs.k8s.io/kwok/cmd/kwokctl
	@touch $@

# The tools cache must survive a fresh checkout: with every pinning file
# newer than the binaries (-W), nothing may need a rebuild.
.PHONY: check-tools-cache
check-tools-cache: tools
	@$(MAKE) --no-print-directory -q $(foreach f,$(wildcard tools/go.* tools/lab/go.* tools/lint/go.* tools/crds/go.* $(NGF_CRDS)/*.yaml),-W $(f)) $(LLMD_SIM) $(LAB_BIN)/.built $(LAB_CRDS)/.built $(ACTIONLINT) \
	  || { echo "check-tools-cache: newer go.mod/go.sum mtimes would rebuild the cached tools"; exit 1; }

.PHONY: lab-up
# The lab has a real node (containerd, kubelet, kube-proxy; as root), kept
# in $(LAB_RUN)/$(LAB_NAME), where the platform's pod runs; the lab then
# lives in the network namespace $(LAB_NAME), where lab-up runs and where
# anything that talks to the lab must run (nsenter --net=/run/netns/$(LAB_NAME) ...).
# LAB_NODE=0 brings up the control plane and kwok nodes only (no root
# needed; no pod runs). lab-down removes the node too, whatever state it
# was left in.
LAB_RUN  ?= $(CURDIR)/.cache/lab-run
LAB_CMD  := $(CURDIR)/.cache/lab-cmd
LAB_NODE ?= 1
LAB_NETNS = /run/netns/$(LAB_NAME)
# The real node's images: the sandbox, the device plugin and
# llm-d-inference-sim, each one static binary (llm-d's keyed like its
# dynamic build, so a fresh checkout reuses it).
LAB_IMAGES   := $(CURDIR)/.cache/lab-images
LAB_IMAGE_TARS := $(LAB_IMAGES)/pause.tar,$(LAB_IMAGES)/labgpu.tar,$(LAB_IMAGES)/llm-d-inference-sim.tar,$(LAB_IMAGES)/lablog.tar,$(LAB_IMAGES)/labdcgm.tar,$(LAB_IMAGES)/llmload.tar
LLMD_STATIC  := $(CACHE)/llm-d-inference-sim-static-$(LLMD_SIM_VERSION)-$(call key,tools/go.mod tools/go.sum)

# Real pods need root: the targets that run them stop here at once, saying
# why, rather than skip them or fall back to kwok's fake pods.
.PHONY: lab-root
lab-root:
	@[ "$$(id -u)" = 0 ] || { echo "the lab runs the platform's pod on a real node (containerd, runc, a kubelet, network namespaces, cgroups), which needs root: run sudo -E make $(MAKECMDGOALS)$(if $(filter lab-up,$(MAKECMDGOALS)), (or LAB_NODE=0 for the control plane and kwok nodes only))"; exit 1; }

$(LLMD_STATIC):
	@mkdir -p $(CACHE)
	cd tools && CGO_ENABLED=0 $(GO) build -o $@ github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim

.PHONY: lab-images
lab-images: $(LLMD_STATIC) ## the real node's images (pause, device plugin, llm-d-inference-sim, the stand-in controller's log, the stand-in DCGM exporter, the workers' llmload) as tarballs in .cache/lab-images
	@mkdir -p $(LAB_IMAGES)/bin
	CGO_ENABLED=0 $(GO) build -o $(LAB_IMAGES)/bin/ ./cmd/labpause ./cmd/labgpu ./cmd/lablog ./cmd/labdcgm ./cmd/llmload
	$(GO) run ./cmd/lab images -out $(LAB_IMAGES) -pause $(LAB_IMAGES)/bin/labpause -labgpu $(LAB_IMAGES)/bin/labgpu -llmd $(LLMD_STATIC) -lablog $(LAB_IMAGES)/bin/lablog \
	  -labdcgm $(LAB_IMAGES)/bin/labdcgm -llmload $(LAB_IMAGES)/bin/llmload

# The distributed sweep's worker image (PERF_WORKERS): llmload alone, built
# reproducibly (same sources, same image ID) into a tarball, and loaded into
# Minikube when there is one. The lab imports it when it starts (it is one
# of lab-images'); on other clusters push the tarball (crane push, skopeo)
# and name it in PERF_WORKER_IMAGE.
WORKER_IMAGE_DIR := $(CURDIR)/.cache/worker-image
.PHONY: worker-image
worker-image: ## the workers' image (llm-harness.local/llmload:dev) as .cache/worker-image/llmload.tar, loaded into Minikube when minikube is on PATH
	@mkdir -p $(WORKER_IMAGE_DIR)/bin
	CGO_ENABLED=0 $(GO) build -trimpath -o $(WORKER_IMAGE_DIR)/bin/ ./cmd/llmload
	$(GO) run ./cmd/lab images -out $(WORKER_IMAGE_DIR) -llmload $(WORKER_IMAGE_DIR)/bin/llmload
	@if command -v minikube >/dev/null && minikube status >/dev/null 2>&1; then minikube image load $(WORKER_IMAGE_DIR)/llmload.tar && echo "loaded into minikube"; \
	  else echo "no running minikube: the image is $(WORKER_IMAGE_DIR)/llmload.tar (the lab imports its own copy at start)"; fi

.PHONY: lab-cmd
lab-cmd:
	@$(GO) build -o $(LAB_CMD) ./cmd/lab

lab-up: $(if $(filter 0,$(LAB_NODE)),,lab-root) $(LAB_BIN)/.built $(LAB_CRDS)/.built lab-cmd $(if $(filter 0,$(LAB_NODE)),,lab-images) ## start the lab cluster (real control plane, a real node, kwok GPU and CPU nodes, Gateway API CRDs; as root); LAB_APPLY=manifests/overlays/lab applies the platform too
ifeq ($(LAB_NODE),0)
	$(LAB_CMD) up -bin $(LAB_BIN) -crds $(LAB_CRDS) -name $(LAB_NAME) $(if $(LAB_APPLY),-apply $(LAB_APPLY))
else
	$(LAB_CMD) netns -name $(LAB_NAME) -node-dir $(LAB_RUN)/$(LAB_NAME)
	nsenter --net=$(LAB_NETNS) $(LAB_CMD) up -bin $(LAB_BIN) -crds $(LAB_CRDS) -name $(LAB_NAME) -node-dir $(LAB_RUN)/$(LAB_NAME) \
	  -images $(LAB_IMAGE_TARS) $(if $(LAB_APPLY),-apply $(LAB_APPLY))
endif

.PHONY: lab-down
lab-down: lab-cmd ## delete the lab cluster, its real node and namespace included
	$(LAB_CMD) down -bin $(LAB_BIN) -name $(LAB_NAME) -node-dir $(LAB_RUN)/$(LAB_NAME)

# E2E_* settings pass through the environment (see README).
.PHONY: e2e
e2e: ## the e2e suite against E2E_CLUSTER (default existing: your kubeconfig)
	$(GO) tool ginkgo $(GINKGO_FLAGS) ./e2e

# The suite is compiled outside the lab's namespace (where the Go module
# proxy is reachable) and runs inside it, where the pods' addresses are.
# What the lab's scripts (scripts/lab) need of a lab named $(1).
LAB_SCRIPT_ENV = LAB=$(1) LAB_CMD=$(LAB_CMD) LAB_BIN=$(LAB_BIN) LAB_CRDS=$(LAB_CRDS) LAB_RUN=$(LAB_RUN) LAB_IMAGE_TARS=$(LAB_IMAGE_TARS)
E2E_LAB_NODE_ENV = E2E_LAB_NODE_DIR=$(LAB_RUN)/$(1) E2E_LAB_IMAGES=$(LAB_IMAGE_TARS)
.PHONY: e2e-lab
e2e-lab: lab-root $(LAB_BIN)/.built $(LAB_CRDS)/.built $(LLMD_SIM) test-deps lab-images lab-cmd ## the e2e suite against the lab (as root), every spec the lab can prove, through the Ingress and through the Gateway
	@$(GO) test -c -o /dev/null ./e2e && $(GO) build -o /dev/null github.com/onsi/ginkgo/v2/ginkgo
	@$(LAB_CMD) netns -name $(LAB_NAME) -node-dir $(LAB_RUN)/$(LAB_NAME) >/dev/null
	@set -e; for route in ingress gateway; do echo "== e2e on the lab, E2E_ROUTE=$$route"; \
	  E2E_ROUTE=$$route E2E_CLUSTER=lab E2E_CLUSTER_NAME=$(LAB_NAME) E2E_LAB_BIN=$(LAB_BIN) E2E_LAB_CRDS=$(LAB_CRDS) $(call E2E_LAB_NODE_ENV,$(LAB_NAME)) $(TEST_ENV) \
	  nsenter --net=$(LAB_NETNS) $(GO) tool ginkgo --label-filter=lab-ok $(GINKGO_FLAGS) ./e2e; done

.PHONY: build
build: ## build every package and command
	$(GO) build ./...

.PHONY: vet
vet: ## go vet, gofmt, actionlint on the workflows, shellcheck on the workflows' scripts
	$(GO) vet ./...
	@if [ -x $(ACTIONLINT) ]; then $(ACTIONLINT) .github/workflows/*.yml; else echo "actionlint not built: make tools"; exit 1; fi
	@if command -v shellcheck >/dev/null; then shellcheck .github/scripts/*/*.sh; else echo "shellcheck not installed: make test-deps (as root), or apt-get install shellcheck"; exit 1; fi
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: test-deps
test-deps: ## install the Debian packages the tests use (xmllint, nginx, shellcheck, prometheus; as root, the real node's containerd, runc, CNI plugins, iptables)
	@command -v xmllint >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq libxml2-utils); } || { echo "install libxml2-utils (xmllint) for the JUnit schema check"; exit 1; }
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq nginx-light); } || { echo "install nginx-light for the ingress lab"; exit 1; }
	@command -v shellcheck >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq shellcheck); } || { echo "install shellcheck for make vet"; exit 1; }
	@command -v prometheus >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus); } || { echo "install prometheus (Debian's 2.42) for the remote-write and dashboard test"; exit 1; }
	@[ "$$(id -u)" != 0 ] || { command -v containerd && command -v runc && command -v iptables && command -v ip && [ -x /usr/lib/cni/bridge ]; } >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq containerd runc containernetworking-plugins iptables iproute2) || { echo "install containerd, runc, containernetworking-plugins, iptables and iproute2 for the lab's real node"; exit 1; }

# make test runs every step below, in this order, even when an earlier one
# fails: one red package must not hide the rest. It then prints which steps
# failed (each step's output is above its "== make test: STEP" line) and
# fails if any did.
#   vet          go vet, gofmt, actionlint, shellcheck
#   unit         every package but the suites and the timing benchmarks' home
#   migration    ingress2gateway on the Ingress (tools/gateway)
#   e2e-lab      the e2e suite on the lab, both routes, both flows
#   workers      the distributed sweep's worker pods on the lab (internal/fleet)
#   rehearse     the GPU workflow's steps, four nights, on a lab of its own
#   nvml         the NVML package without cgo (the no-GPU build)
#   system       the system tests (internal/systemtest): timing accuracy, last and
#                alone: go test compiles the next packages while earlier ones
#                run, and a compiler on one of the two cores is noise those
#                tests would measure.
# -p 1 keeps the unit step one package at a time too. ./perf itself (the
# default sweep, the main job) is left to make perf; perf/check runs the
# suite with small configurations.
TEST_ENV   := LLMD_INFERENCE_SIM=$(LLMD_SIM) HARNESS_REQUIRE_TOOLS=1
TEST_STEPS := vet unit migration e2e-lab workers rehearse nvml system
.PHONY: test test-vet test-unit test-nvml test-system
test: lab-root tools check-tools-cache test-deps ## run every test (unit, simulator, llm-d-inference-sim, perf suite, e2e on the lab); every step runs, the failed ones are listed at the end
	@failed=; passed=0; for step in $(TEST_STEPS); do \
	  echo "== make test: $$step"; began=$$(date +%s); \
	  if $(MAKE) --no-print-directory test-$$step; then passed=$$((passed+1)); echo "== make test: $$step passed in $$(( $$(date +%s) - began )) s"; \
	  else failed="$$failed $$step"; echo "== make test: $$step FAILED after $$(( $$(date +%s) - began )) s"; fi; done; \
	echo "== make test: $(words $(TEST_STEPS)) steps; failed:$${failed:- none}"; \
	echo "steps: $$passed passed, $$(( $(words $(TEST_STEPS)) - passed )) failed"; [ -z "$$failed" ]

test-vet: vet

test-unit:
	E2E_LAB_BIN=$(LAB_BIN) $(TEST_ENV) $(GO) test -count=1 -p 1 -timeout 20m $$($(GO) list ./... | grep -v -e '/perf$$' -e '/internal/systemtest$$' -e '/e2e$$')

# The inner loop: every package's tests but the suites and the system
# tests, as any user, without HARNESS_REQUIRE_TOOLS: a test that needs root
# (the lab's real node), a Debian package (nginx, xmllint, shellcheck) or a
# built tool (llm-d-inference-sim, the lab's binaries) it cannot find skips,
# saying which. make test runs them all, tools required.
.PHONY: unit
unit: ## the fast tests, as any user: no root, no apt packages, no built tools needed (those tests skip, saying why)
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e '/perf$$' -e '/internal/systemtest$$' -e '/e2e$$')

test-nvml:
	CGO_ENABLED=0 $(GO) build ./... && CGO_ENABLED=0 $(GO) test -count=1 ./internal/gpu/nvml

test-system:
	$(TEST_ENV) $(GO) test -count=1 -timeout 20m ./internal/systemtest

# ingress2gateway v1.1.0 on the platform's Ingress, as a library
# (tools/gateway, a module of its own: its dependencies are not ours).
# sum.golang.org has no record of that module, so a `go get` of it needs
# GONOSUMDB; go.sum already pins what the test builds.
.PHONY: test-migration
test-migration: ## what ingress2gateway makes of the Ingress, lesson by lesson (docs/migrating-to-gateway-api.md)
	cd tools/gateway && GONOSUMDB=github.com/kubernetes-sigs/ingress2gateway $(GO) test -count=1 ./...

# The e2e suite against the lab, every lab-ok spec, in both flows and in
# random order (--randomize-all: no container may rely on another having
# run first):
#   1. a fresh lab: the suite deploys the platform into a namespace of its
#      own, deleted afterwards;
#   2. the GPU workflow's order: the platform applied into llm with
#      `kubectl apply -k` first, then the suite, which must verify it in
#      place (the lab's admission refuses a second Ingress for llm.local,
#      as ingress-nginx does).
# Each flow runs once per route kind (E2E_ROUTE): the Ingress (overlay lab)
# and the Gateway (overlay lab-gateway, NGF's semantics).
# The lab is deleted afterwards whatever the outcome (its control plane
# runs as background processes).
E2E_TEST_LAB := $(LAB_NAME)-test
.PHONY: test-e2e-lab
test-e2e-lab: lab-root $(LAB_BIN)/.built $(LAB_CRDS)/.built $(LLMD_SIM) lab-images lab-cmd
	@$(GO) test -c -o $(CURDIR)/.cache/e2e.test ./e2e
	$(TEST_ENV) $(call LAB_SCRIPT_ENV,$(E2E_TEST_LAB)) E2E_TEST_BIN=$(CURDIR)/.cache/e2e.test scripts/lab/e2e-lab.sh

# The distributed sweep on the lab's real node (scripts/lab/workers-lab.sh):
# worker pods of an Indexed Job created through the lab's API server, called
# through its pod proxy: the merge through the whole path, 1 against 4
# workers on the same cell, 250m workers at a rate one cannot keep, a worker
# deleted mid-cell; nothing may be left. Then, in the same lab, the DCGM
# source read through the API server's service proxy from a stand-in
# exporter pod (cmd/labdcgm). FLEET_LAB_ACCEPTANCE=1 runs the
# 1-against-4 comparison as docs/distributed.md states it (5 repeats a side,
# α 0.05 a test).
WORKERS_LAB := $(LAB_NAME)-workers
.PHONY: test-workers
test-workers: lab-root $(LAB_BIN)/.built $(LAB_CRDS)/.built lab-images lab-cmd
	@$(GO) test -c -o $(CURDIR)/.cache/fleet.test ./internal/fleet
	@$(GO) test -c -o $(CURDIR)/.cache/dcgm.test ./internal/gpu/dcgm/kube
	$(call LAB_SCRIPT_ENV,$(WORKERS_LAB)) FLEET_TEST_BIN=$(CURDIR)/.cache/fleet.test DCGM_TEST_BIN=$(CURDIR)/.cache/dcgm.test scripts/lab/workers-lab.sh

# The GPU runner's checks, each failure with what to do (docs/gpu-runner.md);
# the GPU workflow runs it first. MINIKUBE_* and PREFLIGHT_* settings pass
# through the environment.
.PHONY: preflight
preflight: ## check the GPU runner (user, docker and its nvidia runtime, driver, disk, minikube and its profile, memory, CPUs, gcc)
	@.github/scripts/gpu-perf/preflight.sh

# The rehearsal of the GPU workflow (cmd/rehearse): its steps' scripts, in
# its order, four nights, against a lab of its own with a stand-in minikube
# (cmd/labminikube) on PATH; the lab goes afterwards whatever the outcome.
# The suites are compiled first, outside the lab's namespace, where the
# module proxy is reachable. REHEARSE_FLAGS adds the driver's flags, e.g.
# REHEARSE_FLAGS='-nights 1,2'.
REHEARSE_LAB      := $(LAB_NAME)-rehearse
REHEARSE_STANDINS := $(CURDIR)/.cache/rehearsal-bin
REHEARSE_FLAGS    ?=
.PHONY: rehearse test-rehearse
rehearse: lab-root $(LAB_BIN)/.built $(LAB_CRDS)/.built $(LLMD_SIM) test-deps lab-images lab-cmd ## the GPU workflow rehearsed: its steps, four nights, on the lab with a stand-in minikube (as root); job summaries in reports/rehearsal/
	@$(GO) build -o $(REHEARSE_STANDINS)/minikube ./cmd/labminikube && $(GO) build -o $(CURDIR)/.cache/rehearse ./cmd/rehearse
	@$(GO) test -c -o /dev/null ./e2e && $(GO) test -c -o /dev/null ./perf && $(GO) build -o /dev/null github.com/onsi/ginkgo/v2/ginkgo
	$(TEST_ENV) $(call LAB_SCRIPT_ENV,$(REHEARSE_LAB)) REHEARSE_BIN=$(CURDIR)/.cache/rehearse STANDINS=$(REHEARSE_STANDINS) K8S_VERSION=$(K8S_VERSION) \
	  scripts/lab/rehearse.sh $(REHEARSE_FLAGS)

test-rehearse: rehearse

.PHONY: perf
perf: ## the main job: the payload x concurrency sweep; reports in $(PERF_REPORT_DIR)/
	$(GINKGO_PERF) $(GINKGO_FLAGS) ./perf

# The sweep on the lab's real node (as root): the platform (LAB_OVERLAY:
# lab, the Ingress; lab-gateway, the HTTPRoute and NGF's policies; both the
# base Deployment with its probes and resources, running the simulator's
# image) Available on lab-node-0 with its GPU from the device plugin; then,
# inside the lab's namespace, the sweep direct to the pod and through nginx
# (rendered from the overlay's route, Host llm.local) -> the Service's
# ClusterIP (kube-proxy's rules) -> the pod; the second report shows the
# overhead cell by cell (PERF_COMPARE). The lab goes afterwards, whatever
# the outcome.
LAB_PERF_ENV ?= PERF_PAYLOADS=short PERF_CONCURRENCY=1,4,8 PERF_ITERATIONS_PER_VU=4 PERF_REPEATS=5
LAB_OVERLAY  ?= manifests/overlays/lab
PERF_LAB     := $(LAB_NAME)-perf
.PHONY: perf-lab
perf-lab: lab-root tools test-deps lab-images lab-cmd ## the sweep direct to the platform's pod and through ingress -> Service -> pod on the lab's real node (as root; LAB_OVERLAY); reports in $(PERF_REPORT_DIR)/{direct,ingress}; with PERF_WORKERS=N, from N worker pods through the Service, reports in $(PERF_REPORT_DIR)/workers
	@$(GO) build -o /dev/null ./cmd/ingresslab && $(GO) test -c -o /dev/null ./perf && $(GO) build -o /dev/null github.com/onsi/ginkgo/v2/ginkgo
	$(LAB_PERF_ENV) $(call LAB_SCRIPT_ENV,$(PERF_LAB)) LAB_OVERLAY=$(LAB_OVERLAY) REPORTS=$(PERF_REPORT_DIR) \
	  scripts/lab/perf-lab.sh $(GINKGO_PERF) $(GINKGO_FLAGS)

# docs/load_test_report.md: a report generated from the embedded simulator
# (the report says it is simulated). The run's results.json stays in
# docs/load-test-report/ beside the charts; the docs test renders the report
# from it, and fails when the committed one differs (a stale report).
.PHONY: docs-report
docs-report: ## regenerate docs/load_test_report.md from a run on the embedded simulator
	PERF_REPORT_DIR=docs/load-test-report $(GINKGO_PERF) ./perf
	rm -f docs/load-test-report/report.md docs/load-test-report/junit.xml
	$(GO) test ./docs -run TestLoadTestReportIsCurrent -count=1 -args -update

# The regression gate's baseline: the last run's results.json, every
# repeat included, copied to BASELINE; later runs gate against it with
# PERF_BASELINE=$(BASELINE). An interrupted run is refused: its last cells
# would be missing from every later comparison.
.PHONY: baseline
baseline: ## store the last run's results.json as the baseline (BASELINE=path, default fixtures/baselines/local.json)
	@test -f $(PERF_REPORT_DIR)/results.json || { echo "no $(PERF_REPORT_DIR)/results.json: run make perf first"; exit 1; }
	@! grep -q '"interrupted": true' $(PERF_REPORT_DIR)/results.json || { echo "$(PERF_REPORT_DIR)/results.json is of an interrupted run: run make perf to the end first"; exit 1; }
	@mkdir -p $(dir $(BASELINE))
	cp $(PERF_REPORT_DIR)/results.json $(BASELINE)
	@echo "baseline stored: gate later runs with PERF_BASELINE=$(BASELINE) make perf"

# The run history (PERF_HISTORY): trend.md over a history folder, and the
# acceptance of an intended change (docs/perf-sweep.md, "Run history").
HISTORY ?= fixtures/history/example
.PHONY: trend
trend: ## write trend.md and its charts for the run history HISTORY=DIR (default: the example in fixtures/history/example) into TREND_DIR (default $(PERF_REPORT_DIR))
	$(GO) run ./cmd/history trend -history $(HISTORY) -out $(or $(TREND_DIR),$(PERF_REPORT_DIR))

.PHONY: accept
accept: ## accept the level a run shows after an intended change: HISTORY=DIR RUN=<file in it> REASON="..."
	@test -n "$(RUN)" || { echo "RUN: empty; name the run file in $(HISTORY) whose level to accept"; exit 1; }
	$(GO) run ./cmd/history accept -history $(HISTORY) -run "$(RUN)" -reason "$(REASON)"

GPU_CHECK_DIR := .gpu-check
.PHONY: gpu-check
gpu-check: ## build the GPU check for a GPU machine into .gpu-check/ (run .gpu-check/run-gpu-check.sh there)
	@mkdir -p $(GPU_CHECK_DIR)
	CGO_ENABLED=1 $(GO) test -c -o $(GPU_CHECK_DIR)/gpucheck.test ./perf/gpucheck
	CGO_ENABLED=1 $(GO) test -c -ldflags "$(PROVENANCE)" -o $(GPU_CHECK_DIR)/perf.test ./perf
	CGO_ENABLED=1 $(GO) test -c -o $(GPU_CHECK_DIR)/nvml.test ./internal/gpu/nvml
	cp fixtures/gpu/load.py fixtures/gpu/run-gpu-check.sh $(GPU_CHECK_DIR)/
	@echo "copy $(GPU_CHECK_DIR)/ to the GPU machine and run $(GPU_CHECK_DIR)/run-gpu-check.sh (docs/gpu-check.md)"

# Fuzz targets, package:Target; make test runs their seed corpora
# (testdata/fuzz and the f.Add seeds) as ordinary tests.
FUZZ_TIME ?= 30s
FUZZ_TARGETS := internal/sse:FuzzDecoder internal/payload:FuzzParse internal/report:FuzzParse internal/scrape:FuzzParse internal/sweep:FuzzSetting
.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZ_TIME (default 30s) each
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "== $${t#*:} ($${t%%:*}) for $(FUZZ_TIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZ_TIME) ./$${t%%:*}; \
	done

# A bounded soak: 256 streams with 1% injected faults for SOAK_TIME, memory
# and goroutines sampled every SOAK_EVERY; fails on an upward trend.
SOAK_TIME ?= 10m
SOAK_EVERY ?= 10s
.PHONY: soak
soak: ## run the soak for SOAK_TIME (default 10m) and print its memory and goroutine series
	SOAK_TIME=$(SOAK_TIME) SOAK_EVERY=$(SOAK_EVERY) $(GO) test -count=1 -run '^TestSoak$$' -timeout 90m -v ./internal/systemtest

.PHONY: hey
hey:
	@command -v hey >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq hey; } || { echo "install hey (Debian package hey) for make bench"; exit 1; }

.PHONY: bench
# The decoder runs on one core (-cpu 1), as its target is stated; the cell
# benchmarks are scenarios run once each (about 2 minutes in all).
bench: hey ## benchmarks: SSE decoder, 256 streams, 1M open-loop requests, engine vs hey
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 -benchtime $(BENCH_TIME) ./internal/sse
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) ./internal/aggregate ./internal/clock
	$(GO) test -run '^$$' -bench 'Streams256|VersusHey|OpenLoopMillion' -benchtime 1x -timeout 20m ./internal/systemtest

# The open loop against vegeta at 1,000, 2,000 and 3,000 requests/s on
# llm-d-inference-sim (TTFT 2 ms, non-streamed, 64 tokens), the tools
# alternating over RATE_ROUNDS rounds (docs/benchmarks.md).
RATE_ROUNDS ?= 3
.PHONY: bench-rate
bench-rate: $(LLMD_SIM) $(VEGETA) ## the open loop against vegeta at 1-3k requests/s (achieved rate, p50/p99, queue p99, CPU per 1k requests)
	VEGETA=$(VEGETA) LLMD_INFERENCE_SIM=$(LLMD_SIM) RATE_ROUNDS=$(RATE_ROUNDS) $(GO) test -run '^$$' -bench RateVersusVegeta -benchtime 1x -timeout 30m -v ./internal/systemtest

# The regression gate's error rates on the simulator's noise model (run
# CV 5%, 5 repeats a side): GATE_TRIALS trials, about 1.7 s each.
GATE_TRIALS ?= 200
.PHONY: bench-history
bench-history: ## the history gate's nightly sequences on the simulator (HISTORY_SEQS, default 20; docs/benchmarks.md)
	HISTORY_SEQS=$(HISTORY_SEQS) $(GO) test -run '^$$' -bench HistoryGateRates -benchtime 1x -timeout 60m ./internal/systemtest

.PHONY: bench-gate
bench-gate: ## the gate's false-failure and detection rates on the simulator (docs/benchmarks.md)
	GATE_TRIALS=$(GATE_TRIALS) $(GO) test -run '^$$' -bench GateRates -benchtime 1x -timeout 30m ./internal/systemtest
