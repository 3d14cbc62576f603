package agent

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/attach"
)

// endReason says why a fault was taken down.
type endReason string

const (
	endNone      endReason = ""
	endExpired   endReason = "Expired"
	endDeleted   endReason = "Deleted"
	endWithdrawn endReason = "Withdrawn"
	endShutdown  endReason = "Shutdown"
)

// fault is what the agent holds for one FaultInjection.
type fault struct {
	mu       sync.Mutex
	key      types.NamespacedName
	uid      types.UID
	deadline time.Time
	timer    *time.Timer
	// seen is when this agent first acted on the order.
	seen time.Time

	targets []*target // in spec order
	// act is the converted action, kept to attach again after a restart.
	act attach.Action
	// injected is set once the targets have been attached (or failed, or
	// the order was refused).
	injected bool
	// verified is set once the order was checked against its Fault;
	// refused holds why it was refused instead.
	verified bool
	refused  *refusal
	// ended is why the fault was taken down, endNone while it runs.
	ended   endReason
	endedAt time.Time
	// teardownErr is the last teardown failure; the finalizer stays while
	// it is set.
	teardownErr error
	// withdrawReport is how far the dead-man switch's withdrawal has been
	// reported: 0 not yet, 1 AgentConnected=False written, 2 Reconnected.
	withdrawReport int
}

// target is one pod of a fault.
type target struct {
	spec    chaosv1.InjectionTarget
	state   chaosv1.TargetState
	methods []string
	message string
	att     Attached
	// counters is the last reading, kept after the attachment is closed.
	counters chaosv1.Counters
	// nsKeys are the namespaces the attachment is keyed by; it is
	// released when one is gone.
	nsKeys []nsKey
	// closeFailed is set while closing att failed; att is kept to retry.
	closeFailed bool
	// netns is the network namespace of a network fault's attachment, held
	// open until the attachment is closed.
	netns *heldNetNS
	// placement is where att is attached (see Agent.placement); a restart
	// that changes it has the fault attached again.
	placement string
	// podDir is the pod's cgroup v2 directory, watched for restarts; while
	// it exists a pod without processes is restarting, not gone.
	podDir string
	// containers are the containers a container-scoped target names, by
	// name and current ID.
	containers []trackedContainer
	// reinjections counts attaches after a restart; refaultTries the
	// failed attempts since the last restart.
	reinjections int32
	refaultTries int
	// injectedAt is when the fault was last attached to the target.
	injectedAt time.Time
	// waitStart is when the target began waiting for its pod's restart.
	waitStart time.Time
	// base is what earlier attachments of the target counted.
	base chaosv1.Counters
}

// releaseNetNS closes t's handle on its network namespace.
func (t *target) releaseNetNS() {
	if t.netns != nil {
		t.netns.close()
		t.netns = nil
	}
}

// restarting reports whether t waits for its pod's restart to finish to be
// attached again.
func (t *target) restarting() bool {
	return t.att == nil && t.state == chaosv1.TargetPending && t.placement != ""
}

// followed reports whether any target is attached or waits for a restart.
// Call with f.mu held.
func (f *fault) followed() bool {
	for _, t := range f.targets {
		if t.att != nil || t.restarting() {
			return true
		}
	}
	return false
}

// active reports whether any target is attached. Call with f.mu held.
func (f *fault) active() bool {
	for _, t := range f.targets {
		if t.att != nil {
			return true
		}
	}
	return false
}
