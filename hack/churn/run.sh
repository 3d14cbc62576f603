#!/usr/bin/env bash
# run.sh runs hack/churn (issue 11 R5) with CHURN_FLAGS (default: the full
# 1,000-cycle run). With KUBECONFIG set it uses that cluster as it is; without,
# it brings up the local single-node cluster of hack/cluster, loads the images,
# deploys Temblor, runs the churn and always tears the cluster down again, as
# hack/test-e2e.sh does. Run it as root on the node, under the BPF lock:
#   flock /tmp/temblor-bpf.lock make churn
set -euo pipefail
cd "$(dirname "$0")/../.."

flags=${CHURN_FLAGS:--cycles 1000 -concurrent 100 -pods 20 -agent-kills 10}
if [ -n "${KUBECONFIG:-}" ]; then
	exec go run ./hack/churn $flags
fi

trap 'go run ./hack/cluster down' EXIT
go run ./hack/cluster up
go run ./hack/cluster load-images
go run ./hack/cluster deploy
KUBECONFIG=$(go run ./hack/cluster kubeconfig) go run ./hack/churn $flags
