package controllers

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// Defaults of an abort condition.
const (
	defaultAbortPeriod      = 5 * time.Second
	defaultAbortHTTPTimeout = 2 * time.Second
)

// abortPeriod is c's period.
func abortPeriod(c *chaosv1.AbortCondition) time.Duration {
	if c.Period != nil && c.Period.Duration > 0 {
		return c.Period.Duration
	}
	return defaultAbortPeriod
}

// abortThreshold is c's failure threshold.
func abortThreshold(c *chaosv1.AbortCondition) int32 {
	return max(c.FailureThreshold, 1)
}

// abortCheckStatus returns the status entry of the condition name, adding
// it if missing.
func abortCheckStatus(fault *chaosv1.Fault, name string) *chaosv1.AbortCheckStatus {
	for i := range fault.Status.AbortChecks {
		if fault.Status.AbortChecks[i].Name == name {
			return &fault.Status.AbortChecks[i]
		}
	}
	fault.Status.AbortChecks = append(fault.Status.AbortChecks, chaosv1.AbortCheckStatus{Name: name})
	return &fault.Status.AbortChecks[len(fault.Status.AbortChecks)-1]
}

// appendAbortSample appends s to h, keeping the last MaxAbortHistory.
func appendAbortSample(h []chaosv1.AbortSample, s chaosv1.AbortSample) []chaosv1.AbortSample {
	h = append(h, s)
	if extra := len(h) - chaosv1.MaxAbortHistory; extra > 0 {
		h = append(h[:0:0], h[extra:]...)
	}
	return h
}

// abortEval is one evaluation's outcome.
type abortEval struct {
	result chaosv1.AbortResult
	value  string
}

// evaluateAborts evaluates the abort conditions that are due, all at once,
// records them in status and returns the one that fired (nil if none) and
// how long until the next is due.
func (r *FaultReconciler) evaluateAborts(ctx context.Context, fault *chaosv1.Fault, now time.Time) (*chaosv1.AbortCondition, time.Duration) {
	conds := fault.Spec.AbortConditions
	if len(conds) == 0 {
		return nil, 0
	}
	due := make([]bool, len(conds))
	evals := make([]abortEval, len(conds))
	var wg sync.WaitGroup
	for i := range conds {
		st := abortCheckStatus(fault, conds[i].Name)
		if st.LastTime != nil && now.Before(st.LastTime.Add(abortPeriod(&conds[i]))) {
			continue
		}
		due[i] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			evals[i] = r.evaluateAbort(ctx, fault.Namespace, &conds[i])
		}()
	}
	wg.Wait()

	var fired *chaosv1.AbortCondition
	next := time.Duration(0)
	for i := range conds {
		c := &conds[i]
		st := abortCheckStatus(fault, c.Name)
		if due[i] {
			e := evals[i]
			st.LastTime = &metav1.MicroTime{Time: now}
			st.LastResult, st.LastValue = e.result, truncate(e.value, 512)
			st.Evaluations++
			st.History = appendAbortSample(st.History, chaosv1.AbortSample{
				Time: metav1.MicroTime{Time: now}, Result: e.result, Value: truncate(e.value, 128)})
			switch {
			case e.result == chaosv1.AbortPass:
				st.ConsecutiveFailures = 0
			case e.result == chaosv1.AbortError && c.OnError == chaosv1.AbortOnErrorIgnore:
				st.Failures++
			default:
				st.Failures++
				st.ConsecutiveFailures++
			}
			if e.result != chaosv1.AbortPass {
				log.FromContext(ctx).Info("Abort condition did not pass", "condition", c.Name, "result", e.result,
					"value", e.value, "consecutiveFailures", st.ConsecutiveFailures, "threshold", abortThreshold(c))
			}
			if fired == nil && st.ConsecutiveFailures >= abortThreshold(c) {
				fired = c
			}
		}
		if wait := st.LastTime.Add(abortPeriod(c)).Sub(now); next == 0 || wait < next {
			next = max(wait, time.Millisecond)
		}
	}
	return fired, next
}

// evaluateAbort runs one condition's check.
func (r *FaultReconciler) evaluateAbort(ctx context.Context, ns string, c *chaosv1.AbortCondition) abortEval {
	switch {
	case c.HTTP != nil:
		return r.evaluateHTTP(ctx, ns, c.HTTP)
	case c.Pods != nil:
		return r.evaluatePods(ctx, ns, c.Pods)
	case c.Prometheus != nil:
		return r.evaluatePrometheus(ctx, ns, c.Prometheus)
	}
	return abortEval{chaosv1.AbortError, "no check set (want http, pods or prometheus)"}
}

// abort ends a running fault because c fired: Aborted with the condition,
// its value and the time, an Event, and the normal teardown.
func (r *FaultReconciler) abort(ctx context.Context, fault *chaosv1.Fault, c *chaosv1.AbortCondition, now time.Time) (ctrl.Result, error) {
	st := abortCheckStatus(fault, c.Name)
	fault.Status.Phase = chaosv1.FaultAborted
	fault.Status.Abort = &chaosv1.AbortStatus{Condition: c.Name, Value: st.LastValue, Time: metav1.MicroTime{Time: now}}
	msg := abortedMessage(fault)
	r.Recorder.Eventf(fault, nil, corev1.EventTypeWarning, chaosv1.ReasonAborted, "Abort", "Aborted the fault: %s", msg)
	log.FromContext(ctx).Info("Aborted fault", "condition", c.Name, "value", st.LastValue)
	return r.finishAbort(ctx, fault)
}

// finishAbort tears an aborted fault down and says Completed once every
// node confirmed it.
func (r *FaultReconciler) finishAbort(ctx context.Context, fault *chaosv1.Fault) (ctrl.Result, error) {
	fault.Status.TimeLeft = "0s"
	if fault.Status.Abort == nil {
		// Phase Aborted written by someone else without the record.
		fault.Status.Abort = &chaosv1.AbortStatus{Condition: "unknown", Time: metav1.MicroTime{Time: r.Clock.Now()}}
	}
	if err := r.aggregate(ctx, fault); err != nil { // keep the final counters
		return ctrl.Result{}, err
	}
	// aggregate reads Injected from the agents; the abort decides it now.
	r.setCondition(fault, chaosv1.ConditionInjected, metav1.ConditionFalse, chaosv1.ReasonAborted, abortedMessage(fault))
	remaining, err := r.deleteInjections(ctx, fault)
	if err != nil {
		return ctrl.Result{}, err
	}
	by := fault.Status.Abort.Condition
	if remaining > 0 {
		r.setCondition(fault, chaosv1.ConditionCompleted, metav1.ConditionFalse, chaosv1.ReasonTearingDown,
			fmt.Sprintf("aborted by %s; waiting for %d node agents to confirm teardown", by, remaining))
		return ctrl.Result{RequeueAfter: time.Second}, nil
	}
	r.setCondition(fault, chaosv1.ConditionCompleted, metav1.ConditionTrue, chaosv1.ReasonAborted,
		fmt.Sprintf("aborted by %s; every node confirmed teardown", by))
	return ctrl.Result{}, nil
}

// abortedMessage says which condition aborted fault, how often it failed
// and what it last observed.
func abortedMessage(fault *chaosv1.Fault) string {
	a := fault.Status.Abort
	msg := fmt.Sprintf("abort condition %s fired at %s, last observed %s", a.Condition, a.Time.UTC().Format(time.RFC3339), a.Value)
	for i := range fault.Spec.AbortConditions {
		if c := &fault.Spec.AbortConditions[i]; c.Name == a.Condition {
			st := abortCheckStatus(fault, c.Name)
			msg = fmt.Sprintf("abort condition %s failed %d time(s) in a row (threshold %d) at %s, last observed %s",
				c.Name, st.ConsecutiveFailures, abortThreshold(c), a.Time.UTC().Format(time.RFC3339), a.Value)
		}
	}
	return truncate(msg, maxNote)
}
