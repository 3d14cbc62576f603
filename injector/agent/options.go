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
)

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
