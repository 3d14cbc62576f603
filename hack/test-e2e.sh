#!/usr/bin/env bash
# test-e2e.sh runs the end-to-end suite (test/e2e, build tag e2e).
#
# With KUBECONFIG set it tests that cluster as it is (Temblor deployed from
# config/ with your images). Without, it brings up the local single-node
# cluster of hack/cluster, loads the locally built images, deploys Temblor,
# runs the suite and always tears the cluster down again, even on failure,
# printing the machine's before/after comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${KUBECONFIG:-}" ]; then
	exec go test -tags e2e -count=1 -timeout 40m ./test/e2e/ -v -ginkgo.v ${E2E_FLAGS:-}
fi

trap 'go run ./hack/cluster down' EXIT
# The Prometheus specs' server, built from source once (cached); without it
# load-images skips its image and those specs skip (fail with CI=true).
hack/build-prometheus.sh >/dev/null || echo ">> Prometheus did not build: the prometheus specs will skip (fail with CI=true)" >&2
go run ./hack/cluster up
go run ./hack/cluster load-images
go run ./hack/cluster deploy
KUBECONFIG=$(go run ./hack/cluster kubeconfig) \
	go test -tags e2e -count=1 -timeout 40m ./test/e2e/ -v -ginkgo.v ${E2E_FLAGS:-}
