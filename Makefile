# The two commands a newcomer needs:
#   make perf   the main job: the load engine against the embedded simulator (or PERF_TARGET)
#   make test   every test, with the tools the tests need built first
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
CACHE     := $(CURDIR)/.cache/bin
# llm-d-inference-sim, the independent vLLM simulator the tests check the
# engine against; built from the module proxy through tools/go.mod.
LLMD_SIM_VERSION := v0.10.2
LLMD_SIM  := $(CACHE)/llm-d-inference-sim-$(LLMD_SIM_VERSION)

# make perf settings (see README): the embedded simulator with the RTX 3060 /
# TinyLlama preset unless PERF_TARGET names a server.
PERF_TARGET      ?=
PERF_HOST        ?=
PERF_PAYLOADS    ?= short,long
PERF_CONCURRENCY ?= 1,2,4,8,16
PERF_ITERATIONS_PER_VU ?= 4
PERF_SIM_PRESET  ?= rtx3060-tinyllama
PERF_ARGS        ?=

BENCH_TIME ?= 1s

.PHONY: help
help: ## list targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(LLMD_SIM) ## build the external tools the tests use (cached in .cache/bin)

$(LLMD_SIM): tools/go.mod tools/go.sum
	@mkdir -p $(CACHE)
	cd tools && $(GO) build -o $@ github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim

.PHONY: build
build: ## build every package and command
	$(GO) build ./...

.PHONY: vet
vet: ## go vet and gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: test
# -p 1: one package at a time, so the timing-accuracy tests do not share the
# two cores with other packages' tests.
test: tools vet ## run every test (unit, simulator, llm-d-inference-sim)
	LLMD_INFERENCE_SIM=$(LLMD_SIM) HARNESS_REQUIRE_TOOLS=1 $(GO) test -count=1 -p 1 -timeout 15m ./...

.PHONY: perf
perf: ## the main job: a payload x concurrency sweep, summary on stdout
	$(GO) run ./cmd/llmload \
	  $(if $(PERF_TARGET),-target $(PERF_TARGET),-sim-preset $(PERF_SIM_PRESET)) \
	  $(if $(PERF_HOST),-host $(PERF_HOST)) \
	  -payload $(PERF_PAYLOADS) -vus $(PERF_CONCURRENCY) -iterations-per-vu $(PERF_ITERATIONS_PER_VU) $(PERF_ARGS)

.PHONY: hey
hey:
	@command -v hey >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq hey; } || { echo "install hey (Debian package hey) for make bench"; exit 1; }

.PHONY: bench
# The decoder runs on one core (-cpu 1), as its target is stated; the cell
# benchmarks are scenarios run once each (about 2 minutes in all).
bench: hey ## benchmarks: SSE decoder, 256 streams, 1M open-loop requests, engine vs hey
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1 -benchtime $(BENCH_TIME) ./internal/sse
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) ./internal/stats ./internal/clock
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./internal/cell
