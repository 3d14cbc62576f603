package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
	"github.com/temblor-dev/temblor/injector/podresolve"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
	"github.com/temblor-dev/temblor/internal/ratelimit"
)

// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faultinjections,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faultinjections/status,verbs=patch
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faults,verbs=get
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Agent reconciles the FaultInjections of one node.
type Agent struct {
	// Client reads FaultInjections (from the node-filtered cache) and
	// writes their status and finalizers.
	Client client.Client
	// APIReader reads the owning Fault straight from the API server before
	// anything is attached; SetupWithManager sets the manager's when nil.
	APIReader client.Reader
	// Recorder emits Events on FaultInjections; SetupWithManager sets the
	// manager's when nil.
	Recorder events.EventRecorder
	// ProtectedNamespaces are namespaces the agent never injects into,
	// whatever the order says; nil means DefaultProtectedNamespaces.
	ProtectedNamespaces []string
	// NodeName is the node this agent runs on.
	NodeName string
	// Resolver finds target pods' processes and namespaces.
	Resolver *podresolve.Resolver
	// SyscallBackend forces a syscall backend; Auto lets the injector choose.
	SyscallBackend sysfault.Backend
	// NetworkMethod forces how tc-level network programs are attached
	// (tcx or netlink tc); MethodAuto prefers tcx.
	NetworkMethod network.Method
	// StatusInterval is how often counters are read into status.
	StatusInterval time.Duration
	// APIServerGrace is how long the agent keeps its faults without reaching
	// the API server before it withdraws them.
	APIServerGrace time.Duration
	// Probe checks that the API server answers; SetupWithManager sets a GET
	// /readyz through the manager's REST config when nil.
	Probe func(ctx context.Context) error
	// AttachWorkers bounds the targets of one fault attached in parallel.
	AttachWorkers int
	// AttachNetwork, AttachSyscall and CleanupLegacy default to the real
	// injectors.
	AttachNetwork NetworkAttacher
	AttachSyscall SyscallAttacher
	CleanupLegacy func(ctx context.Context, nsPath string) error
	// SweepPod limits the start-up sweep of legacy tc filters to the pods
	// it accepts; nil sweeps every pod. Tests on a shared host use it to
	// keep to their own fake pods.
	SweepPod func(pod *podresolve.Pod) bool

	// StatusWritesPerSecond bounds routine counter refreshes (default
	// DefaultStatusWritesPerSecond); state changes are written at once.
	StatusWritesPerSecond float64

	// ContainerNamer names restarted containers of container-scoped
	// syscall faults (the container runtime, over CRI). Without it such a
	// restart is reported, not followed.
	ContainerNamer ContainerNamer

	// pods watches target pods' cgroups for restarts.
	pods *podWatch

	mu     sync.Mutex
	base   context.Context // the manager's, for timers
	faults map[types.UID]*fault
	// cleaned holds the network namespaces already swept of legacy tc
	// filters by this process, before its first attach there.
	cleaned map[uint64]bool
	// sweepMu is held by the start-up sweep; network attaches take it for
	// reading, so that the sweep never removes a filter just attached.
	sweepMu sync.RWMutex
	events  chan event.TypedGenericEvent[*chaosv1.FaultInjection]
	// disconnected is set by the dead-man switch while the API server is
	// out of reach for longer than the grace.
	disconnected atomic.Bool
}

// SetupWithManager registers the agent's controller, its dead-man switch and
// its metrics with mgr.
func (a *Agent) SetupWithManager(mgr manager.Manager) error {
	if a.NodeName == "" {
		return errors.New("set up node agent: no node name")
	}
	a.defaults()
	if a.APIReader == nil {
		a.APIReader = mgr.GetAPIReader()
	}
	if a.Recorder == nil {
		a.Recorder = mgr.GetEventRecorder("temblor-agent")
	}
	if a.Probe == nil {
		probe, err := ReadyzProbe(mgr.GetConfig())
		if err != nil {
			return fmt.Errorf("set up node agent: %w", err)
		}
		a.Probe = probe
	}
	registerMetrics()
	if err := mgr.Add(manager.RunnableFunc(a.sweepNode)); err != nil {
		return fmt.Errorf("set up start-up sweep: %w", err)
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		return a.pods.run(ctx, a.enqueue)
	})); err != nil {
		return fmt.Errorf("set up pod cgroup watch: %w", err)
	}
	if err := mgr.Add(manager.RunnableFunc(a.runDeadman)); err != nil {
		return fmt.Errorf("set up dead-man switch: %w", err)
	}
	err := ctrl.NewControllerManagedBy(mgr).
		For(&chaosv1.FaultInjection{}).
		Named("faultinjection-agent").
		WatchesRawSource(source.Channel(a.events, &handler.TypedEnqueueRequestForObject[*chaosv1.FaultInjection]{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: 4, SkipNameValidation: ptr.To(true), RateLimiter: ratelimit.Controller()}).
		Complete(a)
	if err != nil {
		return fmt.Errorf("set up fault injection controller: %w", err)
	}
	return nil
}

func (a *Agent) defaults() {
	if a.Resolver == nil {
		a.Resolver = &podresolve.Resolver{}
	}
	if a.ProtectedNamespaces == nil {
		a.ProtectedNamespaces = DefaultProtectedNamespaces
	}
	if a.StatusInterval <= 0 {
		a.StatusInterval = DefaultStatusInterval
	}
	if a.APIServerGrace <= 0 {
		a.APIServerGrace = DefaultAPIServerGrace
	}
	if a.StatusWritesPerSecond <= 0 {
		a.StatusWritesPerSecond = DefaultStatusWritesPerSecond
	}
	if a.AttachWorkers <= 0 {
		a.AttachWorkers = DefaultAttachWorkers
	}
	if a.AttachNetwork == nil {
		a.AttachNetwork = AttachNetwork
	}
	if a.AttachSyscall == nil {
		a.AttachSyscall = AttachSyscall
	}
	if a.CleanupLegacy == nil {
		a.CleanupLegacy = cleanupLegacy
	}
	a.faults = map[types.UID]*fault{}
	var err error
	if a.pods, err = newPodWatch(); err != nil {
		// Restarts are then noticed at the status interval.
		klog.Background().Info("No pod cgroup watch", "error", err.Error())
	}
	a.cleaned = map[uint64]bool{}
	a.events = make(chan event.TypedGenericEvent[*chaosv1.FaultInjection], 1024)
}

// enqueue asks for a reconcile of key, for example after a timer fired.
func (a *Agent) enqueue(key types.NamespacedName) {
	fi := &chaosv1.FaultInjection{}
	fi.Name, fi.Namespace = key.Name, key.Namespace
	ev := event.TypedGenericEvent[*chaosv1.FaultInjection]{Object: fi}
	select {
	case a.events <- ev:
	default:
		go func() { a.events <- ev }()
	}
}

// HeldTargets returns how many targets have a live attachment, over every
// fault the agent holds. Tests use it; operators have temblor_faults_active.
func (a *Agent) HeldTargets() int {
	n := 0
	for _, f := range a.snapshotFaults() {
		f.mu.Lock()
		for _, t := range f.targets {
			if t.att != nil {
				n++
			}
		}
		f.mu.Unlock()
	}
	return n
}

// snapshotFaults copies the fault list, so that callers can lock each fault
// without holding a.mu.
func (a *Agent) snapshotFaults() []*fault {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*fault, 0, len(a.faults))
	for _, f := range a.faults {
		out = append(out, f)
	}
	return out
}

// updateActive refreshes temblor_faults_active.
func (a *Agent) updateActive() {
	n := 0
	for _, f := range a.snapshotFaults() {
		f.mu.Lock()
		if f.active() {
			n++
		}
		f.mu.Unlock()
	}
	faultsActive.Set(float64(n))
}

// running counts the faults that have not ended.
func (a *Agent) running() int {
	n := 0
	for _, f := range a.snapshotFaults() {
		f.mu.Lock()
		if f.ended == endNone {
			n++
		}
		f.mu.Unlock()
	}
	return n
}
