package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// scheduledFault is one Fault of a schedule and the time its run was due.
type scheduledFault struct {
	fault *chaosv1.Fault
	at    time.Time
}

// finished reports whether the Fault has ended.
func (f scheduledFault) finished() bool {
	return f.fault.Status.Phase.Finished()
}

// active reports whether the run still counts against concurrencyPolicy.
func (f scheduledFault) active() bool {
	return !f.finished() && f.fault.DeletionTimestamp.IsZero()
}

// scheduleRuns are the Faults a schedule controls, oldest run first.
type scheduleRuns []scheduledFault

func (rs scheduleRuns) byName(name string) *chaosv1.Fault {
	for _, f := range rs {
		if f.fault.Name == name {
			return f.fault
		}
	}
	return nil
}

// replacedBy names the runs annotated as replaced by the run name.
func (rs scheduleRuns) replacedBy(name string) []string {
	var out []string
	for _, f := range rs {
		if f.fault.Annotations[chaosv1.AnnotationReplacedBy] == name {
			out = append(out, f.fault.Name)
		}
	}
	return out
}

// replacerOf names the run whose Fault records that it replaced the run
// name, or "".
func (rs scheduleRuns) replacerOf(name string) string {
	for _, f := range rs {
		if slices.Contains(strings.Split(f.fault.Annotations[chaosv1.AnnotationReplaces], ","), name) {
			return f.fault.Name
		}
	}
	return ""
}

// ownedFaults lists the Faults s controls, straight from the API server.
func (r *FaultScheduleReconciler) ownedFaults(ctx context.Context, s *chaosv1.FaultSchedule) (scheduleRuns, error) {
	var list chaosv1.FaultList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(s.Namespace),
		client.MatchingLabels{chaosv1.LabelSchedule: chaosv1.LabelValue(s.Name)}); err != nil {
		return nil, fmt.Errorf("list faults of schedule %s: %w", klog.KObj(s), err)
	}
	var out scheduleRuns
	for i := range list.Items {
		f := &list.Items[i]
		if !metav1.IsControlledBy(f, s) {
			continue
		}
		at := f.CreationTimestamp.Time
		if t, err := time.Parse(time.RFC3339, f.Annotations[chaosv1.AnnotationScheduledTime]); err == nil {
			at = t
		}
		out = append(out, scheduledFault{fault: f, at: at})
	}
	slices.SortFunc(out, func(a, b scheduledFault) int { return a.at.Compare(b.at) })
	return out, nil
}

// observeRuns reads the schedule's Faults and brings status.active,
// status.runs and status.lastSuccessfulTime up to date with them.
func (r *FaultScheduleReconciler) observeRuns(ctx context.Context, s *chaosv1.FaultSchedule, now time.Time) (scheduleRuns, error) {
	runs, err := r.ownedFaults(ctx, s)
	if err != nil {
		return nil, err
	}
	recorded := map[string]bool{}
	for i := range s.Status.Runs {
		run := &s.Status.Runs[i]
		recorded[run.FaultName] = true
		if f := runs.byName(run.FaultName); f != nil {
			if run.Outcome != chaosv1.RunReplaced {
				*run = runOf(f, run.ScheduledTime.Time)
			}
			continue
		}
		if by := runs.replacerOf(run.FaultName); by != "" && run.Outcome != chaosv1.RunReplaced {
			// Replaced, and gone before a status write recorded it.
			markReplaced(run, by)
			if run.EndTime == nil {
				run.EndTime = &metav1.Time{Time: now}
			}
			continue
		}
		if run.Outcome == chaosv1.RunPending || run.Outcome == chaosv1.RunRunning {
			// The list is read from the API server, not a cache: a Fault
			// missing here is gone.
			run.Outcome, run.Reason = chaosv1.RunDeleted, "FaultDeleted"
			run.Message = "the run's Fault was deleted before it ended"
			run.EndTime = &metav1.Time{Time: now}
		}
	}
	for _, f := range runs {
		if !recorded[f.fault.Name] {
			// A run whose record was lost (a manager that stopped between
			// creating the Fault and writing status).
			s.Status.Runs = append(s.Status.Runs, runOf(f.fault, f.at))
		}
		if f.fault.Status.Phase == chaosv1.FaultSucceeded {
			if end := runOf(f.fault, f.at).EndTime; end != nil &&
				(s.Status.LastSuccessfulTime == nil || end.After(s.Status.LastSuccessfulTime.Time)) {
				s.Status.LastSuccessfulTime = end
			}
		}
	}
	sortRuns(s)
	r.setActive(s, runs)
	return runs, nil
}

func (r *FaultScheduleReconciler) setActive(s *chaosv1.FaultSchedule, runs scheduleRuns) {
	s.Status.Active = nil
	for _, f := range runs {
		if f.active() && len(s.Status.Active) < maxActiveRuns {
			s.Status.Active = append(s.Status.Active, chaosv1.FaultReference{Name: f.fault.Name, UID: string(f.fault.UID)})
		}
	}
	s.Status.ActiveCount = int32(len(activeFaults(runs)))
}

// sortRuns orders status.runs by scheduled time and keeps the newest
// MaxScheduleRuns.
func sortRuns(s *chaosv1.FaultSchedule) {
	slices.SortStableFunc(s.Status.Runs, func(a, b chaosv1.ScheduleRun) int {
		return a.ScheduledTime.Compare(b.ScheduledTime.Time)
	})
	if n := len(s.Status.Runs); n > chaosv1.MaxScheduleRuns {
		s.Status.Runs = slices.Clone(s.Status.Runs[n-chaosv1.MaxScheduleRuns:])
	}
}

// recordRun adds or replaces the run of the same Fault name.
func recordRun(s *chaosv1.FaultSchedule, run chaosv1.ScheduleRun) {
	for i := range s.Status.Runs {
		if s.Status.Runs[i].FaultName == run.FaultName {
			s.Status.Runs[i] = run
			sortRuns(s)
			return
		}
	}
	s.Status.Runs = append(s.Status.Runs, run)
	sortRuns(s)
}

// runOf is the run record of Fault f due at at: its phase, and the reason of
// its final condition.
func runOf(f *chaosv1.Fault, at time.Time) chaosv1.ScheduleRun {
	run := chaosv1.ScheduleRun{FaultName: f.Name, ScheduledTime: metav1.Time{Time: at}, Outcome: chaosv1.RunPending}
	if f.Status.StartTime != nil {
		run.StartTime = &metav1.Time{Time: f.Status.StartTime.Time}
	}
	switch f.Status.Phase {
	case chaosv1.FaultRunning:
		run.Outcome = chaosv1.RunRunning
	case chaosv1.FaultSucceeded:
		run.Outcome = chaosv1.RunSucceeded
	case chaosv1.FaultFailed:
		run.Outcome = chaosv1.RunFailed
	case chaosv1.FaultAborted:
		run.Outcome = chaosv1.RunAborted
	}
	ended := f.Status.Phase.Finished()
	if by, ok := f.Annotations[chaosv1.AnnotationReplacedBy]; ok && !ended {
		markReplaced(&run, by)
		if f.DeletionTimestamp != nil {
			run.EndTime = &metav1.Time{Time: f.DeletionTimestamp.Time}
		}
		return run
	}
	if !ended {
		return run
	}
	final := meta.FindStatusCondition(f.Status.Conditions, chaosv1.ConditionCompleted)
	if final == nil || final.Status != metav1.ConditionTrue {
		final = nil
		for i := range f.Status.Conditions {
			if f.Status.Conditions[i].Status == metav1.ConditionFalse {
				final = &f.Status.Conditions[i]
				break
			}
		}
	}
	if final != nil {
		run.Reason, run.Message = final.Reason, truncate(final.Message, 1000)
		run.EndTime = &metav1.Time{Time: final.LastTransitionTime.Time}
	}
	return run
}

// markReplaced records that run was deleted to start the run by.
func markReplaced(run *chaosv1.ScheduleRun, by string) {
	run.Outcome, run.Reason = chaosv1.RunReplaced, chaosv1.ReasonRunReplaced
	run.Message = truncate("deleted by concurrencyPolicy Replace to start run "+by, 1000)
}

// prune deletes finished Faults beyond the history limits, oldest first.
func (r *FaultScheduleReconciler) prune(ctx context.Context, s *chaosv1.FaultSchedule, runs scheduleRuns) error {
	keep := map[chaosv1.FaultPhase]int32{chaosv1.FaultSucceeded: 3, chaosv1.FaultFailed: 1}
	if l := s.Spec.SuccessfulRunsHistoryLimit; l != nil {
		keep[chaosv1.FaultSucceeded] = *l
	}
	if l := s.Spec.FailedRunsHistoryLimit; l != nil {
		keep[chaosv1.FaultFailed] = *l
	}
	seen := map[chaosv1.FaultPhase]int32{}
	for i := len(runs) - 1; i >= 0; i-- {
		f := runs[i]
		if !f.finished() || !f.fault.DeletionTimestamp.IsZero() {
			continue
		}
		phase := f.fault.Status.Phase
		if phase == chaosv1.FaultAborted {
			phase = chaosv1.FaultFailed // one history limit for the runs that did not succeed
		}
		if seen[phase]++; seen[phase] <= keep[phase] {
			continue
		}
		if err := r.Client.Delete(ctx, f.fault, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("prune fault %s of schedule %s: %w", f.fault.Name, klog.KObj(s), err)
		}
		log.FromContext(ctx).V(1).Info("Pruned finished fault", "fault", f.fault.Name, "phase", phase)
	}
	return nil
}
