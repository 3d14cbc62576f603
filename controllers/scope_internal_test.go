package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// TestContainerScopedTargetsNeverWiden tries to get a whole-pod target past
// the guards: a status whose target lost its container IDs although the
// selector names containers.
func TestContainerScopedTargetsNeverWiden(t *testing.T) {
	sch := runtime.NewScheme()
	if err := chaosv1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	r := &FaultReconciler{Client: fake.NewClientBuilder().WithScheme(sch).Build()}
	expiry := metav1.NewMicroTime(time.Now().Add(time.Minute))
	fault := &chaosv1.Fault{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "f", UID: "u"},
		Spec: chaosv1.FaultSpec{
			Selector:    chaosv1.PodSelector{MatchLabels: map[string]chaosv1.SelectorValue{"a": "b"}, ContainerNames: []string{"app"}},
			FaultAction: chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"read"}, Errno: "EIO"}},
		},
		Status: chaosv1.FaultStatus{ExpiryTime: &expiry, Targets: []chaosv1.Target{
			{Name: "scoped", UID: "1", NodeName: "n1", ContainerIDs: []string{"containerd://x"}},
			{Name: "whole", UID: "2", NodeName: "n1"},
			{Name: "alone", UID: "3", NodeName: "n2"},
		}},
	}
	if why := unscopedTarget(fault); why == "" {
		t.Fatal("unscopedTarget accepted a target without container IDs")
	}
	got, err := r.desiredInjections(fault)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || len(got[0].Spec.Targets) != 1 || got[0].Spec.Targets[0].Name != "scoped" {
		t.Fatalf("desired injections = %+v, want only the scoped target on n1", got)
	}

	fault.Spec.Selector.ContainerNames = nil
	if why := unscopedTarget(fault); why != "" {
		t.Fatalf("whole-pod targets are fine without containerNames, got %q", why)
	}
	if got, _ := r.desiredInjections(fault); len(got) != 2 {
		t.Fatalf("want 2 injections without containerNames, got %d", len(got))
	}
}

// TestSelectorErrorIsTerminal gets a selector the CRD would refuse past it
// (a Fault built in memory) and checks that the reconciler ends the Fault
// Failed, says why, and does not ask to be retried.
func TestSelectorErrorIsTerminal(t *testing.T) {
	sch := runtime.NewScheme()
	if err := chaosv1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(10)
	r := &FaultReconciler{Client: fake.NewClientBuilder().WithScheme(sch).Build(), Recorder: rec, Clock: clock.RealClock{}}
	fault := &chaosv1.Fault{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "f"},
		Spec: chaosv1.FaultSpec{Selector: chaosv1.PodSelector{MatchExpressions: []chaosv1.LabelSelectorRequirement{
			{Key: "app", Operator: "Equals", Values: []string{"web"}},
		}}},
	}
	res, err := r.start(context.Background(), fault)
	if !errors.Is(err, reconcile.TerminalError(nil)) {
		t.Fatalf("start returned %v, want a terminal error", err)
	}
	if res.RequeueAfter != 0 {
		t.Fatalf("start asked for a requeue after %s", res.RequeueAfter)
	}
	if fault.Status.Phase != chaosv1.FaultFailed {
		t.Fatalf("phase %q, want Failed", fault.Status.Phase)
	}
	cond := meta.FindStatusCondition(fault.Status.Conditions, chaosv1.ConditionTargetsSelected)
	if cond == nil || cond.Reason != chaosv1.ReasonInvalidSpec || !strings.Contains(cond.Message, "invalid selector") {
		t.Fatalf("condition %+v, want InvalidSpec naming the selector", cond)
	}
	select {
	case e := <-rec.Events:
		if !strings.Contains(e, "Warning InvalidSpec") || !strings.Contains(e, "Equals") {
			t.Fatalf("event %q, want a Warning naming the operator", e)
		}
	default:
		t.Fatal("no Event recorded")
	}
}

// TestEmptySelectorIsTerminal gets an empty selector past the CRD (a Fault
// built in memory, as an older CRD would let through) and checks that the
// manager refuses it rather than reading it as "every pod".
func TestEmptySelectorIsTerminal(t *testing.T) {
	sch := runtime.NewScheme()
	if err := chaosv1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	rec := events.NewFakeRecorder(10)
	r := &FaultReconciler{Client: fake.NewClientBuilder().WithScheme(sch).Build(), Recorder: rec, Clock: clock.RealClock{}}
	for _, sel := range []chaosv1.PodSelector{
		{},
		{MatchLabels: map[string]chaosv1.SelectorValue{}, MatchExpressions: []chaosv1.LabelSelectorRequirement{}, PodNames: []string{}},
		{ContainerNames: []string{"app"}},
	} {
		fault := &chaosv1.Fault{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "f"}, Spec: chaosv1.FaultSpec{Selector: sel}}
		_, err := r.start(context.Background(), fault)
		if !errors.Is(err, reconcile.TerminalError(nil)) {
			t.Fatalf("selector %+v: start returned %v, want a terminal error", sel, err)
		}
		cond := meta.FindStatusCondition(fault.Status.Conditions, chaosv1.ConditionTargetsSelected)
		if fault.Status.Phase != chaosv1.FaultFailed || cond == nil || !strings.Contains(cond.Message, "names no pods") {
			t.Fatalf("selector %+v: phase %q condition %+v, want Failed saying it names no pods", sel, fault.Status.Phase, cond)
		}
		if len(fault.Status.Targets) != 0 {
			t.Fatalf("selector %+v: %d targets selected", sel, len(fault.Status.Targets))
		}
	}
}
