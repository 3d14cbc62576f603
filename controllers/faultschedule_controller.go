package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// FaultScheduleReconciler reconciles FaultSchedule objects: it creates a
// Fault for each due run, as the CronJob controller creates Jobs. The Faults
// are ordinary Faults and go through every guard of the FaultReconciler.
type FaultScheduleReconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// APIReader reads a schedule's Faults from the API server, bypassing the
	// cache, so that a run just created is never missed (and never created
	// twice); nil means Client.
	APIReader client.Reader
	// Recorder emits Events on FaultSchedules.
	Recorder events.EventRecorder
	// Clock tells the time; tests inject a fake one.
	Clock clock.PassiveClock
	// ProtectedNamespaces lists namespaces whose schedules are refused (their
	// Faults would be refused anyway).
	ProtectedNamespaces []string
	// MaxRequeueAfter, when positive, bounds the wait until the next run is
	// looked at; 0 waits exactly until the next run time.
	MaxRequeueAfter time.Duration
}

// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faultschedules,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faultschedules/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faultschedules/finalizers,verbs=update
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faults,verbs=get;list;watch;create;delete;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile starts the due run of one FaultSchedule, records its runs and
// prunes old ones.
func (r *FaultScheduleReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, reterr error) {
	s := &chaosv1.FaultSchedule{}
	if err := r.Client.Get(ctx, req.NamespacedName, s); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !s.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector deletes its Faults
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("faultSchedule", klog.KObj(s)))

	base := s.DeepCopy()
	ctx, statusEvents := withStatusEvents(ctx, r.Recorder)
	defer func() {
		s.Status.ObservedGeneration = s.Generation
		err := r.patchStatus(ctx, base, s)
		if apierrors.IsConflict(err) {
			// The retry decides again and announces what it decides.
			log.FromContext(ctx).V(1).Info("Status patch conflicted, requeueing")
			res, reterr = ctrl.Result{RequeueAfter: conflictRetry}, nil
			return
		}
		if err != nil && reterr == nil {
			reterr = err
		}
		if err == nil {
			statusEvents.flush()
		}
	}()
	return r.reconcileNormal(ctx, s)
}

func (r *FaultScheduleReconciler) patchStatus(ctx context.Context, base, s *chaosv1.FaultSchedule) error {
	if equality.Semantic.DeepEqual(base.Status, s.Status) {
		return nil
	}
	err := r.Client.Status().Patch(ctx, s, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("patch status of fault schedule %s: %w", klog.KObj(s), err)
	}
	return nil
}

func (r *FaultScheduleReconciler) reconcileNormal(ctx context.Context, s *chaosv1.FaultSchedule) (ctrl.Result, error) {
	now := r.Clock.Now()
	cs, err := r.admit(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	runs, err := r.observeRuns(ctx, s, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	if err := r.prune(ctx, s, runs); err != nil {
		return ctrl.Result{}, err
	}
	if s.Spec.Suspend {
		s.Status.NextScheduleTime = nil
		r.setCondition(s, chaosv1.ConditionScheduleReady, metav1.ConditionTrue, chaosv1.ReasonSuspended, "suspended: no new runs start")
		return ctrl.Result{}, nil
	}
	if err := r.runDue(ctx, s, cs, runs, now); err != nil {
		return ctrl.Result{}, err
	}
	next := cs.next(now)
	s.Status.NextScheduleTime = &metav1.Time{Time: next}
	r.setCondition(s, chaosv1.ConditionScheduleReady, metav1.ConditionTrue, chaosv1.ReasonScheduleAccepted,
		fmt.Sprintf("next run at %s", next.Format(time.RFC3339)))
	return ctrl.Result{RequeueAfter: r.requeueAfter(next.Sub(now))}, nil
}

// admit applies the schedule's own guards and parses its schedule. What it
// refuses ends in a Ready=False condition, an Event and a terminal error.
func (r *FaultScheduleReconciler) admit(ctx context.Context, s *chaosv1.FaultSchedule) (*cronSchedule, error) {
	if slices.Contains(r.ProtectedNamespaces, s.Namespace) {
		return nil, r.refuse(ctx, s, chaosv1.ReasonProtectedNamespace,
			fmt.Sprintf("namespace %s is protected: Temblor never injects faults there, so this schedule creates none", s.Namespace))
	}
	cs, err := parseSchedule(&s.Spec)
	var se *scheduleError
	if errors.As(err, &se) {
		return nil, r.refuse(ctx, s, se.reason, se.msg)
	}
	if err != nil {
		return nil, fmt.Errorf("parse schedule of %s: %w", klog.KObj(s), err)
	}
	return cs, nil
}

// refuse records that s cannot run as it stands and returns the terminal
// error that stops retries until its spec changes.
func (r *FaultScheduleReconciler) refuse(ctx context.Context, s *chaosv1.FaultSchedule, reason, msg string) error {
	s.Status.NextScheduleTime = nil
	if r.setCondition(s, chaosv1.ConditionScheduleReady, metav1.ConditionFalse, reason, msg) {
		r.statusRecorder(ctx).Eventf(s, nil, corev1.EventTypeWarning, reason, "Schedule", "Refused schedule: %s", truncate(msg, maxNote))
	}
	return reconcile.TerminalError(errors.New(msg))
}

// setCondition sets a condition of s and reports whether it changed.
func (r *FaultScheduleReconciler) setCondition(s *chaosv1.FaultSchedule, condType string, status metav1.ConditionStatus, reason, msg string) bool {
	return meta.SetStatusCondition(&s.Status.Conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: truncate(msg, maxNote),
		ObservedGeneration: s.Generation,
		LastTransitionTime: metav1.NewTime(r.Clock.Now()),
	})
}

func (r *FaultScheduleReconciler) requeueAfter(d time.Duration) time.Duration {
	if r.MaxRequeueAfter > 0 && d > r.MaxRequeueAfter {
		return r.MaxRequeueAfter
	}
	return max(d, time.Millisecond)
}

// SetupWithManager registers the reconciler: it watches FaultSchedules and
// the phase changes of the Faults they own.
func (r *FaultScheduleReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&chaosv1.FaultSchedule{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&chaosv1.Fault{}, builder.WithPredicates(faultPhaseChanged())).
		Named("faultschedule").
		Complete(r)
}

// faultPhaseChanged passes Fault creations, deletions and the updates that
// change its phase or start its deletion: what a schedule's status shows.
func faultPhaseChanged() predicate.Predicate {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, ok1 := e.ObjectOld.(*chaosv1.Fault)
		n, ok2 := e.ObjectNew.(*chaosv1.Fault)
		if !ok1 || !ok2 {
			return true
		}
		return o.Status.Phase != n.Status.Phase || o.DeletionTimestamp.IsZero() != n.DeletionTimestamp.IsZero()
	}}
}
