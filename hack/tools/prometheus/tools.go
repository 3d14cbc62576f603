//go:build tools

// Package tools pins the Prometheus server that hack/build-prometheus.sh builds.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
)
