package agent

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// Reconcile brings the node in line with one FaultInjection: attach its
// targets while it runs, refresh its status, and tear it down and release
// the finalizer at its deadline or on deletion.
func (a *Agent) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	fi := &chaosv1.FaultInjection{}
	if err := a.Client.Get(ctx, req.NamespacedName, fi); err != nil {
		if apierrors.IsNotFound(err) {
			a.forget(ctx, req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("get fault injection %s: %w", req.NamespacedName, err)
	}
	if fi.Spec.NodeName != a.NodeName {
		return ctrl.Result{}, nil // a label hash collision; not ours
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("faultInjection", klog.KObj(fi)))
	f, isNew := a.track(ctx, fi)
	if isNew && fi.Spec.Network != nil {
		// A dead agent may have left netlink tc filters in the targets'
		// namespaces, whatever this fault's state is now.
		a.sweepTargets(ctx, fi)
	}

	if !fi.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, a.reconcileDelete(ctx, fi, f)
	}
	if !time.Now().Before(fi.Spec.Deadline.Time) {
		return ctrl.Result{}, a.reconcileExpired(ctx, fi, f)
	}
	return a.reconcileNormal(ctx, fi, f)
}

// reconcileNormal attaches the targets once, then refreshes counters and
// target liveness every StatusInterval until the deadline.
func (a *Agent) reconcileNormal(ctx context.Context, fi *chaosv1.FaultInjection, f *fault) (ctrl.Result, error) {
	if a.disconnected.Load() {
		// Withdrawn or about to be: attach nothing until the API server is back.
		return ctrl.Result{RequeueAfter: a.StatusInterval}, nil
	}
	if err := a.inject(ctx, fi, f); err != nil {
		return ctrl.Result{}, err
	}
	waiting := a.refresh(ctx, f)
	a.updateActive()
	if err := a.patchStatus(ctx, fi, f); err != nil {
		return ctrl.Result{}, err
	}
	a.advanceWithdrawReport(f)
	if waiting {
		// A target's pod is restarting: look again soon, to fault its new
		// containers or sandbox within a second.
		return ctrl.Result{RequeueAfter: min(restartPoll, max(time.Until(f.deadline), 10*time.Millisecond))}, nil
	}
	// The deadline timer acts on time; this requeue only refreshes status.
	every := refreshEvery(a.StatusInterval, a.StatusWritesPerSecond, a.running())
	return ctrl.Result{RequeueAfter: max(min(every, time.Until(f.deadline)), 10*time.Millisecond)}, nil
}

// reconcileExpired tears the fault down (the deadline timer normally did
// already), reports it and releases the finalizer.
func (a *Agent) reconcileExpired(ctx context.Context, fi *chaosv1.FaultInjection, f *fault) error {
	a.teardown(ctx, f, endExpired)
	if err := a.patchStatus(ctx, fi, f); err != nil {
		return err
	}
	return a.releaseFinalizer(ctx, fi, f)
}

// reconcileDelete tears the fault down, then removes the finalizer: the
// manager (and kubectl) see the object go only once nothing is attached.
func (a *Agent) reconcileDelete(ctx context.Context, fi *chaosv1.FaultInjection, f *fault) error {
	a.teardown(ctx, f, endDeleted)
	if err := a.patchStatus(ctx, fi, f); err != nil && !apierrors.IsNotFound(err) {
		log.FromContext(ctx).Info("Could not report teardown in status", "error", err.Error())
	}
	if err := a.releaseFinalizer(ctx, fi, f); err != nil {
		return err
	}
	a.drop(fi.UID)
	return nil
}

// releaseFinalizer removes our finalizer once teardown is confirmed.
func (a *Agent) releaseFinalizer(ctx context.Context, fi *chaosv1.FaultInjection, f *fault) error {
	f.mu.Lock()
	terr := f.teardownErr
	f.mu.Unlock()
	if terr != nil {
		return fmt.Errorf("keep finalizer of %s: teardown not confirmed: %w", klog.KObj(fi), terr)
	}
	if !controllerutil.ContainsFinalizer(fi, chaosv1.Finalizer) {
		return nil
	}
	patch := client.MergeFromWithOptions(fi.DeepCopy(), client.MergeFromWithOptimisticLock{})
	controllerutil.RemoveFinalizer(fi, chaosv1.Finalizer)
	if err := a.Client.Patch(ctx, fi, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("remove finalizer of %s: %w", klog.KObj(fi), err)
	}
	log.FromContext(ctx).Info("Removed finalizer after teardown", "reason", string(f.endReason()))
	return nil
}

// endReason reads f.ended under its lock.
func (f *fault) endReason() endReason {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ended
}
