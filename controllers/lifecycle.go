package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// maxNote bounds the text of an Event (the API allows 1 kB).
const maxNote = 900

// maxListed is how many refused pods a condition or Event names.
const maxListed = 10

// start applies the guards, fixes the targets and begins the fault.
func (r *FaultReconciler) start(ctx context.Context, fault *chaosv1.Fault) (ctrl.Result, error) {
	if slices.Contains(r.ProtectedNamespaces, fault.Namespace) {
		r.fail(fault, chaosv1.ConditionTargetsSelected, chaosv1.ReasonProtectedNamespace,
			fmt.Sprintf("namespace %s is protected: Temblor never injects faults there", fault.Namespace))
		return ctrl.Result{}, nil
	}
	candidates, err := r.candidatePods(ctx, fault)
	var selErr *selectorError
	if errors.As(err, &selErr) {
		r.fail(fault, chaosv1.ConditionTargetsSelected, chaosv1.ReasonInvalidSpec, selErr.Error())
		return ctrl.Result{}, reconcile.TerminalError(selErr)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	names := fault.Spec.Selector.ContainerNames
	eligible, refused := withContainers(candidates, names)
	if len(eligible) == 0 {
		msg := fmt.Sprintf("the selector matches no running pod in namespace %s", fault.Namespace)
		if len(refused) > 0 {
			msg = fmt.Sprintf("no matching pod has every container of selector.containerNames (%s) started: %s",
				strings.Join(names, ", "), summarise(refused, maxListed))
		}
		r.fail(fault, chaosv1.ConditionTargetsSelected, chaosv1.ReasonNoTargets, msg)
		return ctrl.Result{}, nil
	}
	chosen := r.choose(&fault.Spec, eligible)
	if limit := r.maxTargets(); len(chosen) > limit {
		msg := fmt.Sprintf("the selection hits %d pods but a Fault may hit at most %d: narrow the selector or use mode Fixed or Percent",
			len(chosen), limit)
		r.fail(fault, chaosv1.ConditionTargetsSelected, chaosv1.ReasonTooManyTargets, msg)
		return ctrl.Result{}, reconcile.TerminalError(errors.New(msg))
	}

	fault.Status.Targets = make([]chaosv1.Target, 0, len(chosen))
	for i := range chosen {
		p := &chosen[i]
		ids, _ := containerIDs(p, names)
		fault.Status.Targets = append(fault.Status.Targets, chaosv1.Target{
			Name: p.Name, UID: string(p.UID), NodeName: p.Spec.NodeName, ContainerIDs: ids,
		})
	}
	fault.Status.TargetCount = int32(len(chosen))
	msg := fmt.Sprintf("selected %d of %d matching pods on %d nodes (mode %s)",
		len(chosen), len(eligible), len(nodesOf(fault.Status.Targets)), fault.Spec.Mode)
	if len(refused) > 0 {
		note := fmt.Sprintf("refused %d pods without every container of selector.containerNames (%s) started: %s",
			len(refused), strings.Join(names, ", "), summarise(refused, maxListed))
		msg += "; " + note
		r.Recorder.Eventf(fault, nil, corev1.EventTypeWarning, chaosv1.ReasonContainersNotFound, "Select", "Left out pods: %s", truncate(note, maxNote))
	}

	if fault.Spec.DryRun {
		r.setCondition(fault, chaosv1.ConditionTargetsSelected, metav1.ConditionTrue, chaosv1.ReasonDryRun, "dry run: "+msg)
		r.setCondition(fault, chaosv1.ConditionCompleted, metav1.ConditionTrue, chaosv1.ReasonDryRun, "dry run: nothing was injected")
		fault.Status.Phase = chaosv1.FaultSucceeded
		r.Recorder.Eventf(fault, nil, corev1.EventTypeNormal, chaosv1.ReasonDryRun, "Select", "Dry run: %s", msg)
		log.FromContext(ctx).Info("Resolved dry-run fault", "targets", len(chosen))
		return ctrl.Result{}, nil
	}

	now := metav1.NewMicroTime(r.Clock.Now())
	expiry := metav1.NewMicroTime(now.Add(fault.Spec.Duration.Duration))
	fault.Status.StartTime, fault.Status.ExpiryTime = &now, &expiry
	fault.Status.Phase = chaosv1.FaultRunning
	r.setCondition(fault, chaosv1.ConditionTargetsSelected, metav1.ConditionTrue, chaosv1.ReasonTargetsResolved, msg)
	r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonInjectionPending, "waiting for the node agents")
	r.Recorder.Eventf(fault, nil, corev1.EventTypeNormal, chaosv1.ReasonTargetsResolved, "Select", "Selected targets: %s", msg)
	log.FromContext(ctx).Info("Started fault", "targets", len(chosen), "expiry", expiry.Time)
	// The target set must be stored before any FaultInjection exists: the
	// deferred status patch stores it (or conflicts, if this reconcile read
	// a stale Fault), and the next reconcile hands it to the nodes.
	return ctrl.Result{RequeueAfter: time.Millisecond}, nil
}

// run keeps a started fault's FaultInjections in place until expiry, rolls
// their status up, and tears them down at expiry.
func (r *FaultReconciler) run(ctx context.Context, fault *chaosv1.Fault) (ctrl.Result, error) {
	now := r.Clock.Now()
	left := fault.Status.ExpiryTime.Sub(now)
	if left <= 0 {
		return r.expire(ctx, fault)
	}
	if why := unscopedTarget(fault); why != "" {
		fault.Status.Phase = chaosv1.FaultFailed
		r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonInvalidSpec, why)
		r.Recorder.Eventf(fault, nil, corev1.EventTypeWarning, chaosv1.ReasonInvalidSpec, "Inject", "Stopped fault: %s", why)
		return ctrl.Result{}, reconcile.TerminalError(errors.New(why))
	}
	fired, nextCheck := r.evaluateAborts(ctx, fault, now)
	if fired != nil {
		return r.abort(ctx, fault, fired, now)
	}
	conflicts, err := r.ensureInjections(ctx, fault)
	if err != nil {
		return ctrl.Result{}, err
	}
	known := meta.FindStatusCondition(fault.Status.Conditions, chaosv1.ConditionInjected)
	alreadyReported := known != nil && known.Reason == chaosv1.ReasonInjectionConflict
	if err := r.aggregate(ctx, fault); err != nil {
		return ctrl.Result{}, err
	}
	r.reportConflicts(fault, conflicts, alreadyReported)
	fault.Status.TimeLeft = formatTimeLeft(left)
	requeue := min(left, r.StatusRefresh)
	if nextCheck > 0 {
		requeue = min(requeue, nextCheck)
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// expire removes the FaultInjections and, once the agents confirmed
// teardown, marks the fault Succeeded.
func (r *FaultReconciler) expire(ctx context.Context, fault *chaosv1.Fault) (ctrl.Result, error) {
	fault.Status.TimeLeft = "0s"
	// Keep the final counters: read them before the injections go.
	if err := r.aggregate(ctx, fault); err != nil {
		return ctrl.Result{}, err
	}
	remaining, err := r.deleteInjections(ctx, fault)
	if err != nil {
		return ctrl.Result{}, err
	}
	if remaining > 0 {
		r.setCondition(fault, chaosv1.ConditionCompleted, metav1.ConditionFalse, chaosv1.ReasonTearingDown,
			fmt.Sprintf("expired; waiting for %d node agents to confirm teardown", remaining))
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	if fault.Status.FirstInjectedTime == nil {
		msg := "no target was injected before the fault expired: no agent reported an injection within the duration; nothing was tested"
		fault.Status.Phase = chaosv1.FaultFailed
		r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonNeverInjected, msg)
		r.setCondition(fault, chaosv1.ConditionCompleted, metav1.ConditionTrue, chaosv1.ReasonNeverInjected, msg)
		r.Recorder.Eventf(fault, nil, corev1.EventTypeWarning, chaosv1.ReasonNeverInjected, "Expire", "Fault expired without injecting: %s", msg)
		log.FromContext(ctx).Info("Expired fault that never injected")
		return ctrl.Result{}, nil
	}
	fault.Status.Phase = chaosv1.FaultSucceeded
	r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonExpired, "the fault expired and was removed")
	r.setCondition(fault, chaosv1.ConditionCompleted, metav1.ConditionTrue, chaosv1.ReasonExpired, "the fault expired and every node confirmed teardown")
	r.Recorder.Eventf(fault, nil, corev1.EventTypeNormal, chaosv1.ReasonExpired, "Expire", "Fault expired; teardown confirmed on every node")
	log.FromContext(ctx).Info("Expired fault")
	return ctrl.Result{}, nil
}

// maxTargets is the most pods one Fault may hit.
func (r *FaultReconciler) maxTargets() int {
	if r.MaxTargets <= 0 || r.MaxTargets > chaosv1.MaxTargets {
		return chaosv1.MaxTargets
	}
	return r.MaxTargets
}

// unscopedTarget names a target that would hit a whole pod although the
// selector names containers (a status written by something else than this
// manager's selection), or returns "".
func unscopedTarget(fault *chaosv1.Fault) string {
	if len(fault.Spec.Selector.ContainerNames) == 0 {
		return ""
	}
	for _, t := range fault.Status.Targets {
		if len(t.ContainerIDs) == 0 {
			return fmt.Sprintf("target %s has no container IDs although selector.containerNames is set: refusing to hit the whole pod", t.Name)
		}
	}
	return ""
}

// fail ends the fault before it started, with the reason on condType.
func (r *FaultReconciler) fail(fault *chaosv1.Fault, condType, reason, msg string) {
	fault.Status.Phase = chaosv1.FaultFailed
	r.setCondition(fault, condType, metav1.ConditionFalse, reason, msg)
	r.Recorder.Eventf(fault, nil, corev1.EventTypeWarning, reason, "Select", "Refused fault: %s", truncate(msg, maxNote))
}

func (r *FaultReconciler) setCondition(fault *chaosv1.Fault, condType string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&fault.Status.Conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: msg,
		ObservedGeneration: fault.Generation,
		LastTransitionTime: metav1.NewTime(r.Clock.Now()),
	})
}

// nodesOf groups targets by node name, keeping their order.
func nodesOf(targets []chaosv1.Target) map[string][]chaosv1.Target {
	m := map[string][]chaosv1.Target{}
	for _, t := range targets {
		m[t.NodeName] = append(m[t.NodeName], t)
	}
	return m
}
