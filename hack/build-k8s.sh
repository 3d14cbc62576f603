#!/usr/bin/env bash
# build-k8s.sh builds Kubernetes and etcd binaries from source through the Go
# module proxy and caches them under $HOME/.cache/temblor/k8s/<version>/bin.
#
#   hack/build-k8s.sh [component ...]
#
# Components: kube-apiserver etcd kubectl (default: the envtest set), and
# kubelet kube-scheduler kube-controller-manager for the local cluster.
# It prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=${K8S_VERSION:-v1.34.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.4}
cache=${TEMBLOR_CACHE:-$HOME/.cache/temblor}/k8s/${K8S_VERSION}
bin=$cache/bin
mkdir -p "$bin"

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(kube-apiserver etcd kubectl)

export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} \
-X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2) \
-X k8s.io/component-base/version.gitTreeState=clean"

for c in "${components[@]}"; do
	if [ -x "$bin/$c" ]; then
		continue
	fi
	start=$(date +%s)
	echo ">> building $c ($([ "$c" = etcd ] && echo "$ETCD_VERSION" || echo "$K8S_VERSION")) into $bin (first time only, a few minutes)" >&2
	case $c in
	etcd)
		(cd "$here/tools/etcd" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" .) ;;
	kube-apiserver|kubectl|kubelet|kube-scheduler|kube-controller-manager)
		(cd "$here/tools/k8s" && go build -trimpath -ldflags "$ldflags" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c") ;;
	*)
		echo "unknown component $c" >&2; exit 2 ;;
	esac
	mv "$bin/$c.tmp" "$bin/$c"
	echo ">> built $c in $(( $(date +%s) - start ))s" >&2
done
echo "$bin"
