package agent

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// setBaseContext records the manager's context, for work that timers start.
func (a *Agent) setBaseContext(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.base = ctx
}

// timerContext is the context for work started by a timer: the manager's,
// without its cancellation, since teardown must finish during shutdown too.
func (a *Agent) timerContext() context.Context {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.base != nil {
		return context.WithoutCancel(a.base)
	}
	return context.Background()
}

// track returns the agent's state for fi, creating it, with its deadline
// timer, the first time the agent sees fi. A FaultInjection that an earlier
// agent process already withdrew or removed is adopted as ended, never
// re-injected. The boolean is true when fi is new to this process.
func (a *Agent) track(ctx context.Context, fi *chaosv1.FaultInjection) (*fault, bool) {
	a.mu.Lock()
	f, ok := a.faults[fi.UID]
	if !ok {
		f = &fault{key: types.NamespacedName{Namespace: fi.Namespace, Name: fi.Name}, uid: fi.UID, deadline: fi.Spec.Deadline.Time, seen: time.Now()}
		a.faults[fi.UID] = f
	}
	a.mu.Unlock()
	if ok {
		return f, false
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, t := range fi.Spec.Targets {
		if seen[t.PodUID] {
			continue
		}
		seen[t.PodUID] = true
		f.targets = append(f.targets, &target{spec: t, state: chaosv1.TargetPending})
	}
	switch fi.Status.Phase {
	case chaosv1.InjectionWithdrawn:
		f.ended, f.injected, f.withdrawReport = endWithdrawn, true, 2
	case chaosv1.InjectionRemoved:
		f.ended, f.injected = endExpired, true
	}
	if f.ended == endNone {
		f.timer = time.AfterFunc(time.Until(f.deadline), func() { a.expire(f) })
	}
	log.FromContext(ctx).V(1).Info("Tracking fault injection", "targets", len(f.targets), "deadline", f.deadline)
	return f, true
}

// expire runs on f's deadline timer: it tears the fault down whether or not
// the API server is reachable, then asks for a reconcile to report it.
func (a *Agent) expire(f *fault) {
	ctx := a.timerContext()
	lateness := time.Since(f.deadline)
	a.teardown(ctx, f, endExpired)
	log.FromContext(ctx).Info("Removed fault injection at its deadline", "faultInjection", f.key, "lateness", lateness.String())
	a.updateActive()
	a.enqueue(f.key)
}

// forget tears down and drops a FaultInjection that no longer exists.
func (a *Agent) forget(ctx context.Context, key types.NamespacedName) {
	for _, f := range a.snapshotFaults() {
		if f.key == key {
			a.teardown(ctx, f, endDeleted)
			a.drop(f.uid)
		}
	}
	a.updateActive()
}

// drop stops tracking a fault.
func (a *Agent) drop(uid types.UID) {
	a.mu.Lock()
	f := a.faults[uid]
	delete(a.faults, uid)
	a.mu.Unlock()
	if f != nil {
		f.mu.Lock()
		if f.timer != nil {
			f.timer.Stop()
		}
		f.mu.Unlock()
	}
}
