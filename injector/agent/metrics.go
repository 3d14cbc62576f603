package agent

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// Prometheus metrics, on controller-runtime's registry (served by the
// manager's metrics endpoint).
var (
	faultsActive = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "temblor_faults_active",
		Help: "FaultInjections with at least one target injected on this node.",
	})
	packetsMatched = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "temblor_packets_matched_total",
		Help: "Packets that matched a network fault's filters.",
	})
	packetsDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "temblor_packets_dropped_total",
		Help: "Packets dropped by network faults.",
	})
	packetsCorrupted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "temblor_packets_corrupted_total",
		Help: "Packets corrupted by network faults.",
	})
	syscallsMatched = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "temblor_syscalls_matched_total",
		Help: "System calls of targets that matched a syscall fault.",
	})
	syscallsFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "temblor_syscalls_failed_total",
		Help: "System calls made to fail by syscall faults.",
	})
	attachDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "temblor_attach_duration_seconds",
		Help:    "Time to resolve and attach one target.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
	teardownDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "temblor_teardown_duration_seconds",
		Help:    "Time to detach every target of one FaultInjection.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
	})
)

var registerOnce sync.Once

// registerMetrics adds the agent's metrics to controller-runtime's registry
// once per process.
func registerMetrics() {
	registerOnce.Do(func() {
		metrics.Registry.MustRegister(faultsActive, packetsMatched, packetsDropped, packetsCorrupted,
			syscallsMatched, syscallsFailed, attachDuration, teardownDuration)
	})
}

// countDelta adds to the counter metrics what a target counted since its
// previous reading.
func countDelta(prev, now chaosv1.Counters) {
	add := func(c prometheus.Counter, p, n int64) {
		if n > p {
			c.Add(float64(n - p))
		}
	}
	add(packetsMatched, prev.PacketsMatched, now.PacketsMatched)
	add(packetsDropped, prev.PacketsDropped, now.PacketsDropped)
	add(packetsCorrupted, prev.PacketsCorrupted, now.PacketsCorrupted)
	add(syscallsMatched, prev.SyscallsMatched, now.SyscallsMatched)
	add(syscallsFailed, prev.SyscallsFailed, now.SyscallsFailed)
}
