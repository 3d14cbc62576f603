# Temblor's make targets. `make help` lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export GOTOOLCHAIN ?= local
CONTROLLER_GEN := go tool controller-gen
K8S_BIN = $(shell hack/build-k8s.sh kube-apiserver etcd kubectl)
GO_TEST_FLAGS ?=
# The syscall backends this machine's kernel must serve; the others skip here
# and run in the kernel matrix (make test-kernels). CI's host kernel refuses
# kprobes and fmod_ret/lsm programs, so only the cgroup backend is required.
export TEMBLOR_REQUIRE_BACKENDS ?= cgroup

.PHONY: help
help: ## List the targets.
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: demo
demo: ## The local demo: single-node cluster, Temblor, a demo app, two experiments.
	hack/install-deps.sh
	go run ./hack/demo $(DEMO_FLAGS)

.PHONY: cluster-up
cluster-up: ## Start the local single-node cluster (idempotent).
	go run ./hack/cluster up

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and restore the machine; prints before/after.
	go run ./hack/cluster down

.PHONY: test-e2e
test-e2e: ## End-to-end suite on the local cluster (or on the cluster KUBECONFIG names).
	hack/test-e2e.sh

.PHONY: test-kernels
test-kernels: ## Privileged tests inside qemu VMs on several kernels (Debian 6.1, 6.12, custom).
	hack/test-kernels.sh

.PHONY: generate
generate: ## Regenerate bpf2go bindings and objects, the API's closed name lists, and deepcopy code.
	go generate ./bpf/... ./api/...
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: ## Regenerate CRDs and RBAC from the API types and markers.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=temblor-manager paths=./controllers/... output:rbac:artifacts:config=config/rbac/manager
	$(CONTROLLER_GEN) rbac:roleName=temblor-agent paths=./injector/agent/... output:rbac:artifacts:config=config/rbac/agent

.PHONY: verify-generated
verify-generated: generate manifests ## Fail if generated files differ from what is committed.
	@git diff --exit-code -- api bpf config || { echo "generated files are stale: run make generate manifests and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- api bpf config)" || { git status --porcelain -- api bpf config; echo "untracked generated files: commit them" >&2; exit 1; }

.PHONY: build
build: ## Build the binaries into bin/.
	CGO_ENABLED=0 go build -o bin/ ./cmd/...

.PHONY: lint
lint: ## Run gofmt and go vet.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1; }
	go vet ./...

.PHONY: k8s-bin
k8s-bin: ## Build (once, cached) kube-apiserver, etcd and kubectl from source.
	hack/build-k8s.sh kube-apiserver etcd kubectl

.PHONY: test
test: ## Run every test: unit, BPF (root), envtest controller suites.
	hack/install-deps.sh
	KUBEBUILDER_ASSETS="$(K8S_BIN)" go test -p 1 -count=1 $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: ## Every speed figure beside its baseline, one run; writes docs/benchmarks.md.
	hack/bench/run.sh

.PHONY: churn
churn: ## Issue 11 R5 on the local cluster: 1,000 Fault cycles, 100 alive, 20 pods, 10 agent SIGKILLs; nothing left.
	hack/churn/run.sh
