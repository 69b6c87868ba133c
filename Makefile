# isolation-operator — every target runs on the Node 24 pinned in node_modules (never the system node).
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
.DEFAULT_GOAL := help

NPM ?= npm
NODE := node_modules/.bin/node
CONTROLPLANE_DIR ?= $(CURDIR)/.controlplane
export CONTROLPLANE_DIR
NAMESPACES ?= 1000
DEMO_EXIT ?= 0

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

node_modules/.installed: package.json package-lock.json
	$(NPM) ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: node_modules/.installed ## Install npm dependencies (including the pinned Node 24).

.PHONY: build
build: deps ## Compile TypeScript to dist/.
	$(NPM) run build

.PHONY: lint
lint: deps ## Type-check, ESLint and Prettier check.
	$(NPM) run lint

.PHONY: fmt
fmt: deps ## Format the code (Prettier + ESLint --fix).
	$(NPM) run format

.PHONY: test
test: deps controlplane-bin ## Run every test: unit, then integration against the real local control plane.
	$(NPM) run test:unit
	$(NPM) run test:integration

.PHONY: test-unit
test-unit: deps ## Run the unit tests (no cluster).
	$(NPM) run test:unit

.PHONY: test-integration
test-integration: deps controlplane-bin ## Run the integration tests (starts and stops its own control plane).
	$(NPM) run test:integration

.PHONY: audit
audit: deps ## Supply-chain gate: lockfile hashes and sources, npm audit of production dependencies (high/critical fail).
	NPM=$(NPM) $(NODE) test/supply-chain/audit.ts

SBOM ?= sbom.cdx.json
.PHONY: sbom
sbom: deps ## Write a CycloneDX SBOM of the production dependencies (SBOM=sbom.cdx.json).
	$(NPM) sbom --omit=dev --sbom-format cyclonedx --sbom-type application > $(SBOM)
	@echo "wrote $(SBOM)"

.PHONY: controlplane-bin
controlplane-bin: ## Build etcd, kube-apiserver, kube-controller-manager, kubectl into the cache (once).
	bash test/controlplane/build.sh >/dev/null

.PHONY: newcomer-check
newcomer-check: controlplane-bin ## The README's first command, make demo, from an EMPTY cache folder (Go caches warm).
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; start=$$(date +%s); \
	if ! ISOLATION_CACHE_DIR="$$dir/cache" $(MAKE) --no-print-directory demo DEMO_EXIT=1 >"$$dir/demo.log" 2>&1; then \
	  cat "$$dir/demo.log"; echo "make demo from an empty cache folder FAILED" >&2; exit 1; fi; \
	echo "make demo from an empty cache folder passed in $$(( $$(date +%s) - start ))s"

.PHONY: controlplane-cold-build
controlplane-cold-build: controlplane-bin ## Build the control plane into an EMPTY cache folder (Go caches warm): the newcomer's first run.
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; start=$$(date +%s); \
	ISOLATION_CACHE_DIR="$$dir" bash test/controlplane/build.sh >/dev/null; \
	echo "cold-cache control-plane build passed in $$(( $$(date +%s) - start ))s"

##@ Operator

.PHONY: demo
demo: deps controlplane-bin ## Run the operator on a local control plane with the samples and show what it generates (DEMO_EXIT=1: once, then exit).
	DEMO_EXIT=$(DEMO_EXIT) $(NPM) run --silent demo

.PHONY: run
run: deps ## Run the operator against the current kubeconfig (ARGS="--concurrency 8 ...").
	$(NPM) run --silent operator -- run --log-format text --metrics-bind-address 127.0.0.1:8080 --metrics-secure=false --health-probe-bind-address 127.0.0.1:8081 $(ARGS)

.PHONY: plan
plan: deps ## Render what a profile would generate, offline (FILE=profile.yaml).
	$(NPM) run --silent operator -- plan -f $(FILE)

.PHONY: bench
bench: deps controlplane-bin ## Run the benchmarks on a local control plane (NAMESPACES=1000).
	$(NPM) run --silent bench -- --namespaces $(NAMESPACES)

ROUNDS ?= 3
.PHONY: bench-peer
bench-peer: deps controlplane-bin ## The operator and HNC v1.1.0 side by side, fresh control plane per run (NAMESPACES=1000 ROUNDS=3).
	bash bench/peer/build.sh >/dev/null
	$(NPM) run --silent bench:peer -- --namespaces $(NAMESPACES) --rounds $(ROUNDS)

##@ Image and release

VERSION ?= $(shell sed -n 's/^  "version": "\(.*\)",$$/\1/p' package.json)
NODE_VERSION := $(shell sed -n 's/^    "node": "\([0-9][0-9.]*\)",$$/\1/p' package.json)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_URL ?= https://github.com/isolation-operator/isolation-operator
IMG ?= localhost/isolation-operator:$(VERSION)
IMG_DIGEST ?=
PODMAN ?= podman
# This machine kind: crun fails on cgroups, runc needs explicit ulimits (set PODMAN_FLAGS= elsewhere).
PODMAN_FLAGS ?= --runtime runc --cgroup-manager cgroupfs
PODMAN_BUILD_FLAGS ?= --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
BUILD_BASE ?= localhost/isolation-operator-base/node:$(NODE_VERSION)
RUNTIME_BASE ?= localhost/isolation-operator-base/runtime:bookworm
DIST_DIR ?= $(CURDIR)/dist
export IMG PODMAN PODMAN_FLAGS

.PHONY: image-base
image-base: deps ## Make the local base images (no registry): C runtime FROM scratch, plus Node 24 and npm to build.
	PODMAN_FLAGS="$(PODMAN_FLAGS)" BUILD_BASE=$(BUILD_BASE) RUNTIME_BASE=$(RUNTIME_BASE) bash hack/image-base.sh

# The --label flags repeat the Dockerfile's LABELs: buildah 1.28 reuses a cached LABEL layer when only a build
# argument changed, which would leave a stale revision on the image.
# The local build base carries the host's CA bundle, so npm in the build stage trusts what the host trusts (a
# network that inspects TLS); the runtime stage never sees it.
.PHONY: image
image: image-base ## Build the operator image IMG (default localhost/isolation-operator:VERSION) with podman from the Dockerfile on the local bases.
	$(PODMAN) $(PODMAN_FLAGS) build $(PODMAN_BUILD_FLAGS) -f Dockerfile -t $(IMG) \
	  --build-arg BUILD_BASE=$(BUILD_BASE) --build-arg RUNTIME_BASE=$(RUNTIME_BASE) \
	  --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
	  --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) --build-arg SOURCE=$(SOURCE_URL) \
	  --label org.opencontainers.image.version=$(VERSION) --label org.opencontainers.image.revision=$(REVISION) \
	  --label org.opencontainers.image.source=$(SOURCE_URL) .
	@$(PODMAN) image inspect $(IMG) --format '$(IMG): {{.Id}}, {{.Size}} bytes'

.PHONY: test-release
test-release: deps controlplane-bin image ## Run the image in a pod-like container and install the bundle, against a local control plane.
	$(NPM) run test:release

.PHONY: test-faults
test-faults: deps controlplane-bin ## Fault suite on the real control plane (FAULTS_NAMESPACES=200): crashes, outages, API errors; times in test/faults/results/.
	$(NPM) run test:faults

.PHONY: dist
dist: ## Render dist/install.yaml for IMG (and IMG_DIGEST=sha256:...) with the pinned kubectl's kustomize.
	@bin=$$(bash test/controlplane/build.sh); \
	IMG=$(IMG) IMG_DIGEST=$(IMG_DIGEST) KUBECTL="$$bin/kubectl" VERSION=$(VERSION) OUT=$(DIST_DIR)/install.yaml bash hack/render-install.sh

##@ Deployment

.PHONY: deploy
deploy: ## Install CRD, RBAC, operator Deployment and admission policies into the current cluster (kubectl apply -k config/default).
	$(KUBECTL) apply --server-side -k config/default

.PHONY: undeploy
undeploy: ## Remove what deploy installed (profiles first, so their finalizers run while the operator is up).
	-$(KUBECTL) delete isolationprofiles --all --wait=true --timeout=120s
	$(KUBECTL) delete --ignore-not-found -k config/default

##@ Local cluster

.PHONY: cluster-up
cluster-up: deps controlplane-bin ## Start a local control plane that stays up; prints the export KUBECONFIG line.
	@$(NPM) run --silent controlplane -- up

.PHONY: cluster-down
cluster-down: deps ## Stop the local control plane started by cluster-up.
	@$(NPM) run --silent controlplane -- down

.PHONY: install
install: ## Install the CRDs into the current kubeconfig's cluster.
	$(KUBECTL) apply --server-side -k crds/
	for i in $$(seq 1 120); do [ "$$($(KUBECTL) get crd isolationprofiles.isolation.dev -o jsonpath='{.status.conditions[?(@.type=="Established")].status}' 2>/dev/null)" = True ] && exit 0; sleep 0.5; done; echo "CRD not Established" >&2; exit 1

.PHONY: uninstall
uninstall: ## Remove the CRDs (and so every IsolationProfile) from the current cluster.
	$(KUBECTL) delete --ignore-not-found -k crds/

.PHONY: clean
clean: ## Remove build output and a stopped local control plane's files (the binary cache stays).
	-$(MAKE) cluster-down
	rm -rf dist .controlplane

.PHONY: clean-cache
clean-cache: ## Remove the cached control-plane binaries (the next test run rebuilds them).
	rm -rf "$${ISOLATION_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/isolation-operator}/controlplane"

KUBECTL ?= $(shell command -v kubectl 2>/dev/null || ls -d $${ISOLATION_CACHE_DIR:-$${XDG_CACHE_HOME:-$$HOME/.cache}/isolation-operator}/controlplane/*/bin/kubectl 2>/dev/null | tail -1)
