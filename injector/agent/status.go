package agent

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// patchStatus writes f's state into fi's status when it changed.
func (a *Agent) patchStatus(ctx context.Context, fi *chaosv1.FaultInjection, f *fault) error {
	orig := fi.DeepCopy()
	f.mu.Lock()
	a.fillStatus(&fi.Status, f, fi.Generation)
	f.mu.Unlock()
	fi.Status.LastUpdateTime = orig.Status.LastUpdateTime
	if equality.Semantic.DeepEqual(orig.Status, fi.Status) {
		return nil
	}
	now := metav1.Now()
	fi.Status.LastUpdateTime = &now
	if err := a.Client.Status().Patch(ctx, fi, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("patch status of %s: %w", klog.KObj(fi), err)
	}
	return nil
}

// fillStatus renders f into st. Call with f.mu held.
func (a *Agent) fillStatus(st *chaosv1.FaultInjectionStatus, f *fault, generation int64) {
	st.ObservedGeneration = generation
	st.Targets = make([]chaosv1.TargetStatus, 0, len(f.targets))
	st.Counters = chaosv1.Counters{}
	for _, t := range f.targets {
		st.Targets = append(st.Targets, chaosv1.TargetStatus{
			PodUID:       t.spec.PodUID,
			Name:         t.spec.Name,
			State:        t.state,
			Methods:      t.methods,
			Message:      t.message,
			Counters:     t.counters,
			Reinjections: t.reinjections,
			InjectedTime: microTime(t.injectedAt),
		})
		st.Counters.Add(t.counters)
	}
	st.Phase = phase(f)
	st.SeenTime = microTime(f.seen)
	switch {
	case f.teardownErr != nil:
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: ConditionTornDown, Status: metav1.ConditionFalse, ObservedGeneration: generation,
			Reason: ReasonTeardownFailed, Message: truncate("teardown failed; retrying with backoff, the finalizer stays: "+f.teardownErr.Error(), maxMessage),
		})
	case f.ended != endNone && !f.active():
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: ConditionTornDown, Status: metav1.ConditionTrue, ObservedGeneration: generation,
			Reason: ReasonTornDown, Message: "every attachment is closed",
		})
	}
	switch {
	case f.refused != nil:
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: ConditionOrderVerified, Status: metav1.ConditionFalse, ObservedGeneration: generation,
			Reason: f.refused.reason, Message: truncate(f.refused.message, maxMessage),
		})
	case f.verified:
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: ConditionOrderVerified, Status: metav1.ConditionTrue, ObservedGeneration: generation,
			Reason: ReasonVerified, Message: "the owning Fault ordered these targets, this action and this deadline",
		})
	}
	if f.ended == endWithdrawn {
		cond := metav1.Condition{
			Type:    chaosv1.ConditionAgentConnected,
			Status:  metav1.ConditionFalse,
			Reason:  chaosv1.ReasonAPIServerUnreachable,
			Message: fmt.Sprintf("The agent lost the API server for longer than %s and withdrew the fault at %s", a.APIServerGrace, f.endedAt.UTC().Format(time.RFC3339)),
		}
		if f.withdrawReport >= 1 {
			cond.Status, cond.Reason = metav1.ConditionTrue, chaosv1.ReasonReconnected
			cond.Message = fmt.Sprintf("The agent reached the API server again; the fault withdrawn at %s stays withdrawn", f.endedAt.UTC().Format(time.RFC3339))
		}
		cond.ObservedGeneration = generation
		meta.SetStatusCondition(&st.Conditions, cond)
	}
}

// advanceWithdrawReport moves the withdrawal report on after a successful
// status write: first AgentConnected=False, then Reconnected.
func (a *Agent) advanceWithdrawReport(f *fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ended == endWithdrawn && f.withdrawReport < 2 {
		f.withdrawReport++
	}
}

// phase summarises the targets. Call with f.mu held.
func phase(f *fault) chaosv1.InjectionPhase {
	switch f.ended {
	case endWithdrawn:
		return chaosv1.InjectionWithdrawn
	case endExpired, endDeleted, endShutdown:
		return chaosv1.InjectionRemoved
	}
	injected := count(f.targets, chaosv1.TargetInjected)
	switch {
	case !f.injected:
		return chaosv1.InjectionPending
	case injected == len(f.targets):
		return chaosv1.InjectionInjected
	case injected > 0:
		return chaosv1.InjectionPartiallyInjected
	}
	return chaosv1.InjectionFailed
}

// microTime is t for the API, nil when unset.
func microTime(t time.Time) *metav1.MicroTime {
	if t.IsZero() {
		return nil
	}
	m := metav1.NewMicroTime(t)
	return &m
}
