package agent

import (
	"time"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// DefaultProtectedNamespaces are the namespaces the agent never injects
// into: the manager's default list.
var DefaultProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "temblor-system"}

// Defaults of the agent's tunables.
const (
	DefaultAPIServerGrace = 30 * time.Second
	DefaultStatusInterval = 5 * time.Second
	DefaultAttachWorkers  = 16
	// DefaultStatusWritesPerSecond is the agent's budget of routine
	// counter refreshes: with many faults the refresh interval stretches so
	// that they stay within it, leaving the API client's rate for what
	// must not wait (injection, teardown, finalizer release).
	DefaultStatusWritesPerSecond = 5
)

// refreshEvery is how often one fault's counters are refreshed when n
// faults run: StatusInterval, stretched to keep n faults within the status
// write budget.
func refreshEvery(interval time.Duration, writesPerSecond float64, n int) time.Duration {
	if writesPerSecond <= 0 || n <= 0 {
		return interval
	}
	return max(interval, time.Duration(float64(n)/writesPerSecond*float64(time.Second)))
}

// CacheOptions limits the manager's cache to the FaultInjections labelled
// for nodeName, so that an agent never lists or watches other nodes' work.
func CacheOptions(nodeName string) cache.Options {
	sel := labels.SelectorFromSet(labels.Set{chaosv1.LabelNode: chaosv1.LabelValue(nodeName)})
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&chaosv1.FaultInjection{}: {Label: sel},
		},
	}
}

// probeInterval is how often the dead-man switch probes the API server: a
// sixth of the grace, between 200ms and 5s.
func probeInterval(grace time.Duration) time.Duration {
	return min(max(grace/6, 200*time.Millisecond), 5*time.Second)
}
