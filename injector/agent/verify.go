package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve"
)

// refusal is an order the agent will not carry out: a spec error that no
// retry can fix. It ends in status and an Event.
type refusal struct {
	reason  string
	message string
}

func (r *refusal) Error() string { return r.reason + ": " + r.message }

func refuse(reason, format string, args ...any) error {
	return &refusal{reason: reason, message: fmt.Sprintf(format, args...)}
}

// verifyOrder checks fi against its owning Fault, read live from the API
// server (not from a cache) right before anything is attached: fi must be
// controlled by an existing Fault of its namespace with the same UID, that
// Fault's status must list every target for this node, every target must be
// in fi's namespace and outside the protected namespaces, the action must be
// the Fault's, and the deadline must not be past the Fault's expiry. It
// returns a *refusal for an order that must not be carried out, or another
// error when the Fault could not be read (to retry).
func (a *Agent) verifyOrder(ctx context.Context, fi *chaosv1.FaultInjection) error {
	if slices.Contains(a.ProtectedNamespaces, fi.Namespace) {
		return refuse(ReasonProtectedNamespace, "namespace %s is protected: this agent never injects faults there", fi.Namespace)
	}
	for _, t := range fi.Spec.Targets {
		if t.Namespace != fi.Namespace {
			return refuse(ReasonTargetOutsideNamespace, "target %s/%s is not in the FaultInjection's namespace %s", t.Namespace, t.Name, fi.Namespace)
		}
	}
	owner := metav1.GetControllerOf(fi)
	if owner == nil || owner.Kind != "Fault" || owner.APIVersion != chaosv1.GroupVersion.String() {
		return refuse(ReasonNoOwningFault, "no controller ownerReference names a %s Fault", chaosv1.GroupVersion)
	}
	if owner.Name != fi.Spec.FaultName {
		return refuse(ReasonOwnerMismatch, "the controller owner is Fault %s but spec.faultName is %s", owner.Name, fi.Spec.FaultName)
	}
	fault := &chaosv1.Fault{}
	key := types.NamespacedName{Namespace: fi.Namespace, Name: owner.Name}
	if err := a.APIReader.Get(ctx, key, fault); err != nil {
		if apierrors.IsNotFound(err) {
			return refuse(ReasonOwnerNotFound, "the owning Fault %s does not exist", key)
		}
		return fmt.Errorf("read owning fault %s: %w", key, err)
	}
	if fault.UID != owner.UID {
		return refuse(ReasonOwnerMismatch, "the owning Fault %s has UID %s, not %s: it was deleted and recreated", key, fault.UID, owner.UID)
	}
	if !fault.DeletionTimestamp.IsZero() {
		return refuse(ReasonOwnerMismatch, "the owning Fault %s is being deleted", key)
	}
	if fault.Status.ExpiryTime == nil {
		return refuse(ReasonFaultNotStarted, "the owning Fault %s has no expiry time: it has not started", key)
	}
	if fi.Spec.Deadline.After(fault.Status.ExpiryTime.Time) {
		return refuse(ReasonDeadlineBeyondExpiry, "deadline %s is past the Fault's expiry %s",
			fi.Spec.Deadline.UTC().Format(metav1.RFC3339Micro), fault.Status.ExpiryTime.UTC().Format(metav1.RFC3339Micro))
	}
	if !equality.Semantic.DeepEqual(fi.Spec.FaultAction, fault.Spec.FaultAction) {
		return refuse(ReasonActionMismatch, "the action differs from the one of Fault %s", key)
	}
	return a.verifyTargets(fi, fault)
}

// verifyTargets checks that fault's status lists every target of fi, on
// this node, with the same containers.
func (a *Agent) verifyTargets(fi *chaosv1.FaultInjection, fault *chaosv1.Fault) error {
	ordered := make(map[string]chaosv1.Target, len(fault.Status.Targets))
	for _, t := range fault.Status.Targets {
		if t.NodeName == a.NodeName {
			ordered[t.UID] = t
		}
	}
	for _, t := range fi.Spec.Targets {
		o, ok := ordered[t.PodUID]
		if !ok || o.Name != t.Name {
			return refuse(ReasonTargetNotOrdered, "Fault %s does not list pod %s/%s (UID %s) on node %s", klog.KObj(fault), t.Namespace, t.Name, t.PodUID, a.NodeName)
		}
		if !sameContainers(o.ContainerIDs, t.ContainerIDs) {
			return refuse(ReasonTargetNotOrdered, "Fault %s lists other containers of pod %s/%s", klog.KObj(fault), t.Namespace, t.Name)
		}
	}
	return nil
}

func sameContainers(a, b []string) bool {
	norm := func(ids []string) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = podresolve.NormalizeContainerID(id)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(norm(a), norm(b))
}

// asRefusal returns err as a *refusal, or nil.
func asRefusal(err error) *refusal {
	var r *refusal
	if errors.As(err, &r) {
		return r
	}
	return nil
}
