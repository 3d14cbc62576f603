package controllers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// runDue handles the run that is due, if any. As with CronJob, only the most
// recent missed run is considered, and only within startingDeadlineSeconds.
func (r *FaultScheduleReconciler) runDue(ctx context.Context, s *chaosv1.FaultSchedule, cs *cronSchedule, runs scheduleRuns, now time.Time) error {
	earliest := s.CreationTimestamp.Time
	if s.Status.LastScheduleTime != nil {
		earliest = s.Status.LastScheduleTime.Time
	}
	at, missed := cs.mostRecent(earliest, now)
	r.reportMissed(ctx, s, missed)
	if at.IsZero() {
		return nil
	}
	name := runName(s.Name, at)
	handled := func() { s.Status.LastScheduleTime = &metav1.Time{Time: at} }
	if runs.byName(name) != nil {
		handled() // created before a restart or a lost status write
		return nil
	}
	if d := s.Spec.StartingDeadlineSeconds; d != nil && now.Sub(at) > time.Duration(*d)*time.Second {
		msg := fmt.Sprintf("the run due at %s was missed: %s late, past startingDeadlineSeconds (%ds)",
			at.Format(time.RFC3339), now.Sub(at).Truncate(time.Second), *d)
		recordRun(s, chaosv1.ScheduleRun{FaultName: name, ScheduledTime: metav1.Time{Time: at},
			Outcome: chaosv1.RunMissed, Reason: chaosv1.ReasonRunMissed, Message: msg})
		r.statusRecorder(ctx).Eventf(s, nil, corev1.EventTypeWarning, chaosv1.ReasonRunMissed, "Schedule", "Missed run: %s", msg)
		handled()
		return nil
	}
	active := activeFaults(runs)
	if len(active) >= maxActiveRuns && s.Spec.ConcurrencyPolicy == chaosv1.ConcurrencyAllow {
		// status.active holds at most maxActiveRuns: a status that the API
		// server refuses would stop the schedule's bookkeeping.
		msg := fmt.Sprintf("the run due at %s was skipped: %d runs are already active, the most one schedule runs at once",
			at.Format(time.RFC3339), len(active))
		recordRun(s, chaosv1.ScheduleRun{FaultName: name, ScheduledTime: metav1.Time{Time: at},
			Outcome: chaosv1.RunSkipped, Reason: chaosv1.ReasonRunSkipped, Message: msg})
		r.statusRecorder(ctx).Eventf(s, nil, corev1.EventTypeWarning, chaosv1.ReasonRunSkipped, "Schedule", "Skipped run: %s", msg)
		handled()
		return nil
	}
	switch {
	case len(active) > 0 && s.Spec.ConcurrencyPolicy == chaosv1.ConcurrencyReplace:
		if err := r.replace(ctx, s, active, name); err != nil {
			return err
		}
	case len(active) > 0 && s.Spec.ConcurrencyPolicy != chaosv1.ConcurrencyAllow:
		msg := fmt.Sprintf("the run due at %s was skipped: concurrencyPolicy Forbid and %s is still active",
			at.Format(time.RFC3339), active[0].Name)
		recordRun(s, chaosv1.ScheduleRun{FaultName: name, ScheduledTime: metav1.Time{Time: at},
			Outcome: chaosv1.RunSkipped, Reason: chaosv1.ReasonRunSkipped, Message: msg})
		r.statusRecorder(ctx).Eventf(s, active[0], corev1.EventTypeNormal, chaosv1.ReasonRunSkipped, "Schedule", "Skipped run: %s", msg)
		handled()
		return nil
	}
	var replaces []string
	if s.Spec.ConcurrencyPolicy == chaosv1.ConcurrencyReplace {
		// The runs just deleted, and those a retry of this run deleted before
		// its Fault could be created.
		replaces = runs.replacedBy(name)
	}
	err := r.createRun(ctx, s, name, at, replaces)
	if err == nil || errors.Is(err, reconcile.TerminalError(nil)) {
		handled()
	}
	return err
}

// maxActiveRuns is the most runs of one schedule active at once (the
// MaxItems of status.active).
const maxActiveRuns = 100

func activeFaults(runs scheduleRuns) []*chaosv1.Fault {
	var out []*chaosv1.Fault
	for _, f := range runs {
		if f.active() {
			out = append(out, f.fault)
		}
	}
	return out
}

// reportMissed sets the MissedRuns condition when more than maxMissedRuns
// runs were missed and no startingDeadlineSeconds bounds the catch-up.
func (r *FaultScheduleReconciler) reportMissed(ctx context.Context, s *chaosv1.FaultSchedule, missed int) {
	if missed > maxMissedRuns && s.Spec.StartingDeadlineSeconds == nil {
		msg := fmt.Sprintf("more than %d runs were missed (the manager was down or the clock jumped); only the most recent one starts: set startingDeadlineSeconds to bound catch-up", maxMissedRuns)
		if r.setCondition(s, chaosv1.ConditionMissedRuns, metav1.ConditionTrue, chaosv1.ReasonTooManyMissedRuns, msg) {
			r.statusRecorder(ctx).Eventf(s, nil, corev1.EventTypeWarning, chaosv1.ReasonTooManyMissedRuns, "Schedule", "%s", msg)
		}
		return
	}
	if missed > 0 && meta.FindStatusCondition(s.Status.Conditions, chaosv1.ConditionMissedRuns) != nil {
		r.setCondition(s, chaosv1.ConditionMissedRuns, metav1.ConditionFalse, chaosv1.ReasonNoMissedRuns,
			fmt.Sprintf("the last catch-up found %d due runs", missed))
	}
}

// replace deletes the active runs, for concurrencyPolicy Replace. Each is
// first annotated with the run that replaces it, so that its outcome reads
// Replaced from the Fault itself even if this reconcile's status write is
// lost.
func (r *FaultScheduleReconciler) replace(ctx context.Context, s *chaosv1.FaultSchedule, active []*chaosv1.Fault, by string) error {
	for _, f := range active {
		patch := client.MergeFrom(f.DeepCopy())
		if f.Annotations == nil {
			f.Annotations = map[string]string{}
		}
		f.Annotations[chaosv1.AnnotationReplacedBy] = by
		if err := r.Client.Patch(ctx, f, patch); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("mark fault %s of schedule %s replaced: %w", f.Name, klog.KObj(s), err)
		}
		if err := r.Client.Delete(ctx, f, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("replace fault %s of schedule %s: %w", f.Name, klog.KObj(s), err)
		}
		run := runOf(f, scheduledAt(f))
		run.EndTime = &metav1.Time{Time: r.Clock.Now()}
		recordRun(s, run)
		r.Recorder.Eventf(s, f, corev1.EventTypeNormal, chaosv1.ReasonRunReplaced, "Schedule", "Deleted active run %s to start a newer one", f.Name)
	}
	return nil
}

func scheduledAt(f *chaosv1.Fault) time.Time {
	if t, err := time.Parse(time.RFC3339, f.Annotations[chaosv1.AnnotationScheduledTime]); err == nil {
		return t
	}
	return f.CreationTimestamp.Time
}

// createRun creates the Fault of the run due at at. A Fault the API server
// rejects stops the schedule (terminal, in status and an Event): every
// later run would be rejected too.
func (r *FaultScheduleReconciler) createRun(ctx context.Context, s *chaosv1.FaultSchedule, name string, at time.Time, replaces []string) error {
	f := r.faultFor(s, name, at, replaces)
	if err := controllerutil.SetControllerReference(s, f, r.Client.Scheme()); err != nil {
		return fmt.Errorf("own fault %s: %w", name, err)
	}
	err := r.Client.Create(ctx, f)
	switch {
	case err == nil:
		recordRun(s, runOf(f, at))
		s.Status.Active = append(s.Status.Active, chaosv1.FaultReference{Name: f.Name, UID: string(f.UID)})
		s.Status.ActiveCount = int32(len(s.Status.Active))
		r.Recorder.Eventf(s, f, corev1.EventTypeNormal, chaosv1.ReasonRunStarted, "Schedule", "Created fault %s for the run due at %s", name, at.Format(time.RFC3339))
		log.FromContext(ctx).Info("Created scheduled fault", "fault", name, "scheduledTime", at)
		return nil
	case apierrors.IsAlreadyExists(err):
		return r.nameTaken(ctx, s, name, at)
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		msg := fmt.Sprintf("the API server rejected the Fault of the run due at %s: %v", at.Format(time.RFC3339), err)
		recordRun(s, chaosv1.ScheduleRun{FaultName: name, ScheduledTime: metav1.Time{Time: at},
			Outcome: chaosv1.RunFailed, Reason: chaosv1.ReasonFaultRejected, Message: truncate(msg, 1000)})
		return r.refuse(ctx, s, chaosv1.ReasonFaultRejected, msg+": fix spec.faultTemplate")
	default:
		return fmt.Errorf("create fault %s of schedule %s: %w", name, klog.KObj(s), err)
	}
}

// nameTaken handles a run whose Fault name exists: a run created by an
// earlier reconcile, or someone else's Fault, which is left alone.
func (r *FaultScheduleReconciler) nameTaken(ctx context.Context, s *chaosv1.FaultSchedule, name string, at time.Time) error {
	existing := &chaosv1.Fault{}
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: name}, existing); err != nil {
		return fmt.Errorf("get fault %s of schedule %s: %w", name, klog.KObj(s), err)
	}
	if metav1.IsControlledBy(existing, s) {
		recordRun(s, runOf(existing, at))
		return nil
	}
	msg := fmt.Sprintf("the run due at %s was not started: a Fault named %s exists and is not controlled by this schedule", at.Format(time.RFC3339), name)
	recordRun(s, chaosv1.ScheduleRun{FaultName: name, ScheduledTime: metav1.Time{Time: at},
		Outcome: chaosv1.RunFailed, Reason: chaosv1.ReasonNameConflict, Message: msg})
	r.statusRecorder(ctx).Eventf(s, nil, corev1.EventTypeWarning, chaosv1.ReasonNameConflict, "Schedule", "%s", msg)
	return nil
}

// faultFor builds the Fault of the run due at at from the template; replaces
// names the runs it replaced, if any.
func (r *FaultScheduleReconciler) faultFor(s *chaosv1.FaultSchedule, name string, at time.Time, replaces []string) *chaosv1.Fault {
	labels := map[string]string{}
	for k, v := range s.Spec.FaultTemplate.Metadata.Labels {
		labels[k] = string(v)
	}
	labels[chaosv1.LabelSchedule] = chaosv1.LabelValue(s.Name)
	annotations := maps.Clone(s.Spec.FaultTemplate.Metadata.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[chaosv1.AnnotationScheduledTime] = at.UTC().Format(time.RFC3339)
	if len(replaces) > 0 {
		annotations[chaosv1.AnnotationReplaces] = strings.Join(replaces, ",")
	}
	return &chaosv1.Fault{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: name, Labels: labels, Annotations: annotations},
		Spec:       *s.Spec.FaultTemplate.Spec.DeepCopy(),
	}
}
