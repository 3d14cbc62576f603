package controllers

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/internal/ratelimit"
)

// DefaultProtectedNamespaces are never targeted unless the operator says so.
var DefaultProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "temblor-system"}

// FaultReconciler reconciles Fault objects.
type FaultReconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Recorder emits Events on Faults.
	Recorder events.EventRecorder
	// Clock tells the time; tests inject a fake one.
	Clock clock.PassiveClock
	// ProtectedNamespaces lists namespaces whose Faults are refused.
	ProtectedNamespaces []string
	// StatusRefresh is how often a running Fault's status is refreshed
	// (time left, counters) when nothing else triggers a reconcile.
	StatusRefresh time.Duration
	// TeardownTimeout is how long a FaultInjection may wait for its agent to
	// confirm teardown before the manager gives up on the agent and removes
	// its finalizer (the agent's bpf_links die with it anyway).
	TeardownTimeout time.Duration
	// Rand chooses targets in modes One, Fixed and Percent; nil means a
	// time-seeded source.
	Rand Rand
	// MaxTargets is the most pods one Fault may hit; 0 means
	// chaosv1.MaxTargets, which is also the most status.targets holds.
	MaxTargets int
	// MaxConcurrentReconciles bounds parallel reconciles.
	MaxConcurrentReconciles int
	// AbortCheckURLPrefixes are the URLs, beyond services of a Fault's own
	// namespace, that its HTTP abort conditions may call: a URL matches a
	// prefix with the same scheme and host (and port, when the prefix has
	// one) and a path that starts with the prefix's.
	AbortCheckURLPrefixes []string
	// HTTPClient runs the HTTP abort checks; nil means one that follows no
	// redirect and uses no proxy.
	HTTPClient *http.Client
}

// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faults,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faults/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faults/finalizers,verbs=update
// +kubebuilder:rbac:groups=chaos.temblor.dev,resources=faultinjections,verbs=get;list;watch;create;delete;patch;update
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves one Fault along its life: start, run, expire, delete.
func (r *FaultReconciler) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, reterr error) {
	fault := &chaosv1.Fault{}
	if err := r.Client.Get(ctx, req.NamespacedName, fault); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	ctx = log.IntoContext(ctx, log.FromContext(ctx).WithValues("fault", klog.KObj(fault)))

	if !fault.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, fault)
	}
	if controllerutil.AddFinalizer(fault, chaosv1.Finalizer) {
		if err := r.Client.Update(ctx, fault); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to fault %s: %w", klog.KObj(fault), err)
		}
	}

	base := fault.DeepCopy()
	defer func() {
		fault.Status.ObservedGeneration = fault.Generation
		err := r.patchStatus(ctx, base, fault)
		if apierrors.IsConflict(err) {
			// The cache was behind the API server: act again on fresh data.
			log.FromContext(ctx).V(1).Info("Status patch conflicted, requeueing")
			res, reterr = ctrl.Result{RequeueAfter: conflictRetry}, nil
			return
		}
		if err != nil && reterr == nil {
			reterr = err
		}
	}()
	return r.reconcileNormal(ctx, fault)
}

// conflictRetry is how soon a reconcile that read stale data runs again.
const conflictRetry = 50 * time.Millisecond

// patchStatus writes fault's status as a merge patch against base, with
// optimistic locking: a reconcile that acted on a stale cached Fault must not
// overwrite what a newer one wrote (for example the fixed target set).
func (r *FaultReconciler) patchStatus(ctx context.Context, base, fault *chaosv1.Fault) error {
	if equality.Semantic.DeepEqual(base.Status, fault.Status) {
		return nil
	}
	err := r.Client.Status().Patch(ctx, fault, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{}))
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("patch status of fault %s: %w", klog.KObj(fault), err)
	}
	return nil
}

func (r *FaultReconciler) reconcileNormal(ctx context.Context, fault *chaosv1.Fault) (ctrl.Result, error) {
	fault.Status.Action = fault.Spec.FaultAction.Summary()
	switch fault.Status.Phase {
	case chaosv1.FaultAborted:
		return r.finishAbort(ctx, fault)
	case chaosv1.FaultSucceeded, chaosv1.FaultFailed:
		_, err := r.deleteInjections(ctx, fault)
		return ctrl.Result{}, err
	}
	if fault.Status.StartTime == nil {
		if fault.Status.Phase == "" {
			fault.Status.Phase = chaosv1.FaultPending
		}
		return r.start(ctx, fault)
	}
	return r.run(ctx, fault)
}

func (r *FaultReconciler) reconcileDelete(ctx context.Context, fault *chaosv1.Fault) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(fault, chaosv1.Finalizer) {
		return ctrl.Result{}, nil
	}
	remaining, err := r.deleteInjections(ctx, fault)
	if err != nil {
		return ctrl.Result{}, err
	}
	if remaining > 0 {
		log.FromContext(ctx).V(1).Info("Waiting for agents to confirm teardown", "remaining", remaining)
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	controllerutil.RemoveFinalizer(fault, chaosv1.Finalizer)
	if err := r.Client.Update(ctx, fault); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove finalizer from fault %s: %w", klog.KObj(fault), err)
	}
	log.FromContext(ctx).Info("Removed fault after teardown")
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler: it watches Faults and the
// FaultInjections they own.
func (r *FaultReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.StatusRefresh <= 0 {
		r.StatusRefresh = 5 * time.Second
	}
	if r.TeardownTimeout <= 0 {
		r.TeardownTimeout = 5 * time.Minute
	}
	if r.Rand == nil {
		r.Rand = newRand()
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&chaosv1.Fault{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&chaosv1.FaultInjection{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.MaxConcurrentReconciles), RateLimiter: ratelimit.Controller()}).
		Named("fault").
		Complete(r)
}
