package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConcurrencyPolicy says what a FaultSchedule does when a run is due while an
// earlier run is still active.
// +kubebuilder:validation:Enum=Forbid;Allow;Replace
type ConcurrencyPolicy string

const (
	// ConcurrencyForbid skips the new run (recorded as Skipped).
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyAllow starts the new run beside the active ones.
	ConcurrencyAllow ConcurrencyPolicy = "Allow"
	// ConcurrencyReplace deletes the active runs (recorded as Replaced) and
	// starts the new one.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// RunOutcome is how one run of a FaultSchedule ended, or where it is.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Aborted;Skipped;Replaced;Missed;Deleted
type RunOutcome string

const (
	// RunPending: the Fault was created and has not started yet.
	RunPending RunOutcome = "Pending"
	// RunRunning: the Fault runs.
	RunRunning RunOutcome = "Running"
	// RunSucceeded: the Fault ended in phase Succeeded.
	RunSucceeded RunOutcome = "Succeeded"
	// RunFailed: the Fault ended in phase Failed, or could not be created.
	RunFailed RunOutcome = "Failed"
	// RunAborted: the Fault ended in phase Aborted: an abort condition
	// stopped it. It counts against failedRunsHistoryLimit.
	RunAborted RunOutcome = "Aborted"
	// RunSkipped: concurrencyPolicy Forbid skipped the run because an earlier
	// run was still active; no Fault was created.
	RunSkipped RunOutcome = "Skipped"
	// RunReplaced: concurrencyPolicy Replace deleted the run's Fault to start
	// a newer run.
	RunReplaced RunOutcome = "Replaced"
	// RunMissed: the run was due while the manager was down and
	// startingDeadlineSeconds had passed when it came back; no Fault was
	// created.
	RunMissed RunOutcome = "Missed"
	// RunDeleted: the run's Fault was deleted by someone else before it ended.
	RunDeleted RunOutcome = "Deleted"
)

// Condition types of a FaultSchedule.
const (
	// ConditionScheduleReady is True while the schedule is valid and allowed
	// to create Faults; False (with a reason) when it never will as it stands.
	ConditionScheduleReady = "Ready"
	// ConditionMissedRuns is True when more than 100 runs were missed (the
	// manager was down, or the clock jumped) with no startingDeadlineSeconds.
	ConditionMissedRuns = "MissedRuns"
)

// Condition and Event reasons of a FaultSchedule.
const (
	// ReasonScheduleAccepted: the schedule parsed and Faults are created on time.
	ReasonScheduleAccepted = "Accepted"
	// ReasonSuspended: spec.suspend is true; no new runs start.
	ReasonSuspended = "Suspended"
	// ReasonInvalidSchedule: spec.schedule is not a cron expression.
	ReasonInvalidSchedule = "InvalidSchedule"
	// ReasonInvalidTimeZone: spec.timeZone is not a known IANA time zone.
	ReasonInvalidTimeZone = "InvalidTimeZone"
	// ReasonFaultRejected: the API server refused the Fault the template
	// makes (the template passes the FaultSchedule CRD but not the Fault's
	// validation, e.g. an invalid annotation key).
	ReasonFaultRejected = "FaultRejected"
	// ReasonNameConflict: a Fault with the run's name exists and is not
	// controlled by this schedule.
	ReasonNameConflict = "NameConflict"
	// ReasonTooManyMissedRuns: more than 100 runs were missed.
	ReasonTooManyMissedRuns = "TooManyMissedRuns"
	// ReasonNoMissedRuns: no more than 100 runs were missed.
	ReasonNoMissedRuns = "NoMissedRuns"
	// ReasonRunStarted: a run's Fault was created.
	ReasonRunStarted = "RunStarted"
	// ReasonRunSkipped: a run was skipped by concurrencyPolicy Forbid.
	ReasonRunSkipped = "RunSkipped"
	// ReasonRunReplaced: an active run was deleted by concurrencyPolicy Replace.
	ReasonRunReplaced = "RunReplaced"
	// ReasonRunMissed: a run was missed beyond startingDeadlineSeconds.
	ReasonRunMissed = "RunMissed"
)

// Labels and annotations the schedule controller puts on its Faults.
const (
	// LabelSchedule carries the owning FaultSchedule's name (hashed when
	// longer than a label value may be).
	LabelSchedule = "chaos.temblor.dev/schedule"
	// AnnotationScheduledTime is the run's scheduled time, RFC 3339 in UTC.
	AnnotationScheduledTime = "chaos.temblor.dev/scheduled-time"
	// AnnotationReplacedBy names the run that replaced this one under
	// concurrencyPolicy Replace; it is set just before the Fault is deleted.
	AnnotationReplacedBy = "chaos.temblor.dev/replaced-by"
	// AnnotationReplaces lists, comma-separated, the runs that a run started
	// under concurrencyPolicy Replace deleted. It outlives them: a run whose
	// Fault is gone before the schedule's status recorded it still reads
	// Replaced.
	AnnotationReplaces = "chaos.temblor.dev/replaces"
)

// MaxScheduleRuns is the most entries status.runs keeps.
const MaxScheduleRuns = 20

// FaultTemplateMetadata is the metadata given to each Fault a schedule creates.
type FaultTemplateMetadata struct {
	// labels are put on each Fault, beside chaos.temblor.dev/schedule.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$'))",message="label keys must be an optional DNS subdomain prefix and '/' followed by a name that starts and ends with [A-Za-z0-9] and holds only [-._A-Za-z0-9] inside"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.indexOf('/') <= 253 && k.substring(k.indexOf('/') + 1).size() <= 63)",message="label key names must be at most 63 characters and prefixes at most 253"
	// +kubebuilder:validation:XValidation:rule="!('chaos.temblor.dev/schedule' in self)",message="the label chaos.temblor.dev/schedule is set by the schedule controller"
	Labels map[string]SelectorValue `json:"labels,omitempty"`

	// annotations are put on each Fault. Their keys are checked when the
	// Fault is created; a rejected Fault stops the schedule with reason
	// FaultRejected.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() <= 4096)",message="annotation values must be at most 4096 characters"
	Annotations map[string]string `json:"annotations,omitempty"`
}

// FaultTemplate is the Fault each run of a schedule creates.
type FaultTemplate struct {
	// metadata holds the labels and annotations of each Fault.
	// +optional
	Metadata FaultTemplateMetadata `json:"metadata,omitempty"`

	// spec is the spec of each Fault, validated like a Fault's.
	// +required
	Spec FaultSpec `json:"spec"`
}

// FaultScheduleSpec is when a schedule runs its Fault and how runs overlap.
type FaultScheduleSpec struct {
	// schedule is a cron expression of five fields (minute hour
	// day-of-month month day-of-week) or one of @yearly, @annually,
	// @monthly, @weekly, @daily, @midnight, @hourly. The time zone is
	// timeZone, never a TZ= or CRON_TZ= prefix.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="!self.contains('TZ=')",message="set the time zone in spec.timeZone, not with a TZ= or CRON_TZ= prefix"
	// +kubebuilder:validation:XValidation:rule="self.matches('^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[ \\t]*[0-9A-Za-z*?/,-]+([ \\t]+[0-9A-Za-z*?/,-]+){4}[ \\t]*)$')",message="schedule must be five cron fields (minute hour day-of-month month day-of-week) or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"
	Schedule string `json:"schedule"`

	// timeZone is the IANA time zone the schedule is read in, e.g.
	// Europe/Paris; UTC when unset.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][-A-Za-z0-9_+]*(/[A-Za-z0-9][-A-Za-z0-9_+]*)*$`
	// +kubebuilder:validation:XValidation:rule="self.lowerAscii() != 'local'",message="timeZone Local is the manager's own zone and is refused: name an IANA zone such as UTC or Europe/Paris"
	TimeZone *string `json:"timeZone,omitempty"`

	// faultTemplate is the Fault each run creates, named
	// "<schedule>-<scheduled unix minute>" in the schedule's namespace.
	// +required
	FaultTemplate FaultTemplate `json:"faultTemplate"`

	// concurrencyPolicy is Forbid (the default), Allow or Replace.
	// +optional
	// +kubebuilder:default=Forbid
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`

	// suspend stops new runs; active runs go on.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// startingDeadlineSeconds is how late a run may start, for example
	// after the manager was down; a run later than that is recorded as
	// Missed. Unset means no deadline: only the most recent missed run
	// starts.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=31536000
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`

	// successfulRunsHistoryLimit is how many Succeeded Faults are kept (3
	// by default); older ones are deleted.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	SuccessfulRunsHistoryLimit *int32 `json:"successfulRunsHistoryLimit,omitempty"`

	// failedRunsHistoryLimit is how many Failed Faults are kept (1 by
	// default); older ones are deleted.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	FailedRunsHistoryLimit *int32 `json:"failedRunsHistoryLimit,omitempty"`
}

// FaultReference names one Fault of a schedule.
type FaultReference struct {
	// name is the Fault's name.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// uid is the Fault's UID.
	// +optional
	// +kubebuilder:validation:MaxLength=36
	UID string `json:"uid,omitempty"`
}

// ScheduleRun is one run of a schedule, started or not.
type ScheduleRun struct {
	// faultName is the run's Fault (for Skipped and Missed runs, the name
	// it would have had).
	// +required
	// +kubebuilder:validation:MaxLength=253
	FaultName string `json:"faultName"`

	// scheduledTime is when the run was due.
	// +required
	ScheduledTime metav1.Time `json:"scheduledTime"`

	// outcome is the run's state: the Fault's phase, or Skipped, Replaced,
	// Missed, Deleted.
	// +required
	Outcome RunOutcome `json:"outcome"`

	// reason is the reason of the Fault's final condition (Expired,
	// NeverInjected, ProtectedNamespace, ...) or why the run did not start.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Reason string `json:"reason,omitempty"`

	// message says more about reason.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`

	// startTime is when the Fault started injecting.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`

	// endTime is when the Fault ended.
	// +optional
	EndTime *metav1.Time `json:"endTime,omitempty"`
}

// FaultScheduleStatus is the observed state of a FaultSchedule.
type FaultScheduleStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are the schedule's conditions (Ready, MissedRuns).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// lastScheduleTime is the last run time the schedule handled: started,
	// skipped or refused.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`

	// lastSuccessfulTime is when the last Succeeded run ended.
	// +optional
	LastSuccessfulTime *metav1.Time `json:"lastSuccessfulTime,omitempty"`

	// nextScheduleTime is when the next run is due (unset while suspended
	// or invalid).
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`

	// active are the Faults of runs that have not ended.
	// +optional
	// +kubebuilder:validation:MaxItems=100
	// +listType=map
	// +listMapKey=name
	Active []FaultReference `json:"active,omitempty"`

	// activeCount is the number of active runs, for kubectl.
	// +optional
	ActiveCount int32 `json:"activeCount,omitempty"`

	// runs are the last runs and their outcomes, oldest first.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +listType=atomic
	Runs []ScheduleRun `json:"runs,omitempty"`
}

// FaultSchedule runs a Fault on a cron schedule, as a CronJob runs Jobs.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=temblor,shortName=fsched
// +kubebuilder:printcolumn:name="Schedule",type=string,JSONPath=`.spec.schedule`
// +kubebuilder:printcolumn:name="Timezone",type=string,JSONPath=`.spec.timeZone`,priority=1
// +kubebuilder:printcolumn:name="Suspend",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Active",type=integer,JSONPath=`.status.activeCount`
// +kubebuilder:printcolumn:name="Last Schedule",type=date,JSONPath=`.status.lastScheduleTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 240",message="a FaultSchedule's name must be at most 240 characters: its Faults are named <schedule>-<unix minute>"
type FaultSchedule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the schedule and the Fault it runs.
	// +required
	Spec FaultScheduleSpec `json:"spec"`

	// status is the observed state, written by the manager.
	// +optional
	Status FaultScheduleStatus `json:"status,omitempty"`
}

// FaultScheduleList is a list of FaultSchedules.
// +kubebuilder:object:root=true
type FaultScheduleList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the FaultSchedules.
	Items []FaultSchedule `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FaultSchedule{}, &FaultScheduleList{})
}
