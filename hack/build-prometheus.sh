#!/usr/bin/env bash
# build-prometheus.sh builds the Prometheus server from source through the Go
# module proxy (module pinned by hack/tools/prometheus) and caches it under
# $HOME/.cache/temblor/prometheus/<version>/bin/prometheus.
#
#   hack/build-prometheus.sh
#
# Only the e2e suite needs it (the Prometheus abort check scrapes the agent):
# `go run ./hack/cluster load-images` turns the cached binary into the image
# docker.io/temblor/e2e-prometheus:dev when it is there, and skips it when not.
# Static (CGO_ENABLED=0), without the web UI's assets (the HTTP API is what
# the suite uses) and without the cloud service discoveries (tag remove_all_sd;
# static_configs, file and http discovery remain). It prints the binary's path
# on stdout; progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# The version is the one hack/tools/prometheus/go.mod pins (hack/cluster
# reads it from there too): change it with `go get` in that module.
PROMETHEUS_VERSION=$(awk '$1 == "require" && $2 == "github.com/prometheus/prometheus" {print $3}' "$here/tools/prometheus/go.mod")
if [ -z "$PROMETHEUS_VERSION" ]; then
	echo "hack/tools/prometheus/go.mod: no 'require github.com/prometheus/prometheus' line" >&2
	exit 2
fi
cache=${TEMBLOR_CACHE:-$HOME/.cache/temblor}/prometheus/${PROMETHEUS_VERSION}
bin=$cache/bin
out=$bin/prometheus

if [ -x "$out" ]; then
	echo ">> prometheus ${PROMETHEUS_VERSION} cached at $out" >&2
	echo "$out"
	exit 0
fi
mkdir -p "$bin"

export GOWORK=off GOFLAGS=-mod=readonly CGO_ENABLED=0 GOOS=linux
# Prometheus 3.x.y is published as Go module v0.3xx.y.
minor=$(echo "$PROMETHEUS_VERSION" | cut -d. -f2)
semver=3.$(( 10#$minor - 300 )).$(echo "$PROMETHEUS_VERSION" | cut -d. -f3)
ldflags="-s -w -X github.com/prometheus/common/version.Version=${semver} \
-X github.com/prometheus/common/version.Branch=${PROMETHEUS_VERSION} \
-X github.com/prometheus/common/version.BuildUser=temblor"

start=$(date +%s)
log=$cache/build.log
echo ">> building prometheus ${semver} (module ${PROMETHEUS_VERSION}) into $out" >&2
echo ">> first time only: about 3 minutes on 2 cores (~1050 packages, plus module downloads on a new machine); log in $log" >&2
(cd "$here/tools/prometheus" &&
	go build -v -p=2 -trimpath -tags netgo,remove_all_sd -ldflags "$ldflags" \
		-o "$out.tmp" github.com/prometheus/prometheus/cmd/prometheus) >"$log" 2>&1 &
pid=$!
# go build is silent for minutes: say how far it got every 20 seconds.
while kill -0 "$pid" 2>/dev/null; do
	for _ in $(seq 20); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 1
	done
	kill -0 "$pid" 2>/dev/null || break
	echo ">> ... still building prometheus: $(( $(date +%s) - start ))s, $(grep -vc '^go: ' "$log" || true) packages compiled, $(grep -c '^go: downloading' "$log" || true) modules downloaded" >&2
done
if ! wait "$pid"; then
	echo ">> building prometheus failed after $(( $(date +%s) - start ))s; last lines of $log:" >&2
	grep -v '^go: downloading' "$log" | tail -30 >&2
	rm -f "$out.tmp"
	exit 1
fi
mv "$out.tmp" "$out"
echo ">> built prometheus in $(( $(date +%s) - start ))s ($(( $(stat -c %s "$out") / 1024 / 1024 )) MiB)" >&2
echo "$out"
