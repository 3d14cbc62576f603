package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mode chooses how many of the pods matching the selector a Fault hits.
// +kubebuilder:validation:Enum=All;One;Fixed;Percent
type Mode string

const (
	// ModeAll hits every matching pod.
	ModeAll Mode = "All"
	// ModeOne hits one matching pod, chosen at random.
	ModeOne Mode = "One"
	// ModeFixed hits spec.count matching pods, chosen at random.
	ModeFixed Mode = "Fixed"
	// ModePercent hits spec.percent percent of the matching pods (rounded
	// down, at least one), chosen at random.
	ModePercent Mode = "Percent"
)

// PodSelector chooses the pods of a Fault, always within the Fault's own
// namespace. At least one of matchLabels, matchExpressions and podNames must
// be set; when several are set a pod must satisfy all of them.
// +kubebuilder:validation:XValidation:rule="(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0) || (has(self.podNames) && size(self.podNames) > 0)",message="selector must name pods: set a non-empty matchLabels, matchExpressions or podNames (an empty selector would hit every pod in the namespace)"
type PodSelector struct {
	// matchLabels selects pods carrying all these labels. Keys and values
	// follow the Kubernetes label syntax, checked at apply.
	// +optional
	// +kubebuilder:validation:MinProperties=1
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$'))",message="label keys must be an optional DNS subdomain prefix and '/' followed by a name that starts and ends with [A-Za-z0-9] and holds only [-._A-Za-z0-9] inside, e.g. app or example.com/tier"
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.indexOf('/') <= 253 && k.substring(k.indexOf('/') + 1).size() <= 63)",message="label key names must be at most 63 characters and prefixes at most 253"
	MatchLabels map[string]SelectorValue `json:"matchLabels,omitempty"`

	// matchExpressions selects pods satisfying all these label requirements.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	MatchExpressions []LabelSelectorRequirement `json:"matchExpressions,omitempty"`

	// podNames limits the selection to pods with these names.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	// +listType=set
	PodNames []string `json:"podNames,omitempty"`

	// containerNames limits a syscall fault to these containers of each pod
	// (by default every container). Network faults act on the pod's network
	// namespace, which all its containers share.
	// +optional
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	ContainerNames []string `json:"containerNames,omitempty"`
}

// Empty reports whether the selector names no pods at all: no label, no
// expression and no pod name. A label selector built from it would match
// every pod, so such a selector must never be acted on.
func (s *PodSelector) Empty() bool {
	return len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 && len(s.PodNames) == 0
}

// SelectorValue is the value of a label in a selector: empty, or at most 63
// characters of [-._A-Za-z0-9] that start and end with [A-Za-z0-9].
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="self.matches('^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$')",message="label values must be empty or at most 63 characters that start and end with [A-Za-z0-9] and hold only [-._A-Za-z0-9] inside"
type SelectorValue string

// LabelSelectorOperator relates a label key to a set of values.
// +kubebuilder:validation:Enum=In;NotIn;Exists;DoesNotExist
type LabelSelectorOperator string

const (
	// LabelSelectorOpIn: the label's value is one of values.
	LabelSelectorOpIn LabelSelectorOperator = "In"
	// LabelSelectorOpNotIn: the label is absent or its value is none of values.
	LabelSelectorOpNotIn LabelSelectorOperator = "NotIn"
	// LabelSelectorOpExists: the pod carries the label.
	LabelSelectorOpExists LabelSelectorOperator = "Exists"
	// LabelSelectorOpDoesNotExist: the pod does not carry the label.
	LabelSelectorOpDoesNotExist LabelSelectorOperator = "DoesNotExist"
)

// LabelSelectorRequirement is one label requirement of a PodSelector, the
// Kubernetes one with its syntax checked at apply: a selector the manager
// could not parse never reaches it.
// +kubebuilder:validation:XValidation:rule="!(self.operator in ['In', 'NotIn']) || (has(self.values) && size(self.values) > 0)",message="values must be non-empty when operator is In or NotIn"
// +kubebuilder:validation:XValidation:rule="!(self.operator in ['Exists', 'DoesNotExist']) || !has(self.values) || size(self.values) == 0",message="values must be empty when operator is Exists or DoesNotExist"
type LabelSelectorRequirement struct {
	// key is the label key, e.g. app or example.com/tier.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$')",message="label keys must be an optional DNS subdomain prefix and '/' followed by a name that starts and ends with [A-Za-z0-9] and holds only [-._A-Za-z0-9] inside, e.g. app or example.com/tier"
	// +kubebuilder:validation:XValidation:rule="self.indexOf('/') <= 253 && self.substring(self.indexOf('/') + 1).size() <= 63",message="label key names must be at most 63 characters and prefixes at most 253"
	Key string `json:"key"`

	// operator is In, NotIn, Exists or DoesNotExist.
	// +required
	Operator LabelSelectorOperator `json:"operator"`

	// values are the label values for In and NotIn (at least one); Exists
	// and DoesNotExist take none.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.all(v, v.matches('^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$'))",message="label values must be empty or at most 63 characters that start and end with [A-Za-z0-9] and hold only [-._A-Za-z0-9] inside"
	// +listType=atomic
	Values []string `json:"values,omitempty"`
}

// LabelSelector converts s's label part to the Kubernetes type that
// client-go parses.
func (s *PodSelector) LabelSelector() *metav1.LabelSelector {
	out := &metav1.LabelSelector{}
	if len(s.MatchLabels) > 0 {
		out.MatchLabels = make(map[string]string, len(s.MatchLabels))
		for k, v := range s.MatchLabels {
			out.MatchLabels[k] = string(v)
		}
	}
	for _, e := range s.MatchExpressions {
		out.MatchExpressions = append(out.MatchExpressions, metav1.LabelSelectorRequirement{
			Key: e.Key, Operator: metav1.LabelSelectorOperator(e.Operator), Values: e.Values,
		})
	}
	return out
}

// FaultSpec is what a Fault does, to which pods, and for how long.
// +kubebuilder:validation:XValidation:rule="self.mode != 'Fixed' || has(self.count)",message="count is required when mode is Fixed"
// +kubebuilder:validation:XValidation:rule="self.mode == 'Fixed' || !has(self.count)",message="count is only valid when mode is Fixed"
// +kubebuilder:validation:XValidation:rule="self.mode != 'Percent' || has(self.percent)",message="percent is required when mode is Percent"
// +kubebuilder:validation:XValidation:rule="self.mode == 'Percent' || !has(self.percent)",message="percent is only valid when mode is Percent"
// +kubebuilder:validation:XValidation:rule="!has(self.selector.containerNames) || has(self.syscall)",message="selector.containerNames applies only to syscall faults: containers of a pod share its network namespace"
type FaultSpec struct {
	// selector chooses the target pods in the Fault's namespace.
	// +required
	Selector PodSelector `json:"selector"`

	// mode is All (the default), One, Fixed or Percent.
	// +optional
	// +kubebuilder:default=All
	Mode Mode `json:"mode,omitempty"`

	// count is the number of pods hit when mode is Fixed, at most 10000
	// (MaxTargets).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	Count *int32 `json:"count,omitempty"`

	// percent is the percentage of matching pods hit when mode is Percent.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Percent *int32 `json:"percent,omitempty"`

	// duration is how long the fault lasts once injected, from 1s to 24h,
	// in Go syntax: "30s", "5m", "1h30m".
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="duration must be between 1s and 24h"
	Duration metav1.Duration `json:"duration"`

	// dryRun resolves and reports the targets without injecting anything.
	// +optional
	DryRun bool `json:"dryRun,omitempty"`

	// abortConditions end the Fault early, torn down and Aborted, when one
	// of them fails past its threshold while the Fault runs.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	AbortConditions []AbortCondition `json:"abortConditions,omitempty"`

	// The action, exactly one of network and syscall.
	FaultAction `json:",inline"`
}

// MaxTargets is the most pods one Fault may hit: status.targets holds at most
// this many (the MaxItems marker on it and on count must agree).
const MaxTargets = 10000

// FaultPhase is where a Fault is in its life.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed;Aborted
type FaultPhase string

const (
	// FaultPending: accepted, targets not yet injected.
	FaultPending FaultPhase = "Pending"
	// FaultRunning: targets selected, injections handed to the nodes.
	FaultRunning FaultPhase = "Running"
	// FaultSucceeded: the fault expired (or was a dry run) and was torn down cleanly.
	FaultSucceeded FaultPhase = "Succeeded"
	// FaultFailed: the fault was refused or could not be injected.
	FaultFailed FaultPhase = "Failed"
	// FaultAborted: an abort condition failed; the fault was torn down
	// before its expiry.
	FaultAborted FaultPhase = "Aborted"
)

// Finished reports whether a Fault in phase p has ended: nothing more will
// be injected.
func (p FaultPhase) Finished() bool {
	return p == FaultSucceeded || p == FaultFailed || p == FaultAborted
}

// Target is one pod a Fault hits.
type Target struct {
	// name is the pod's name.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// uid is the pod's UID.
	// +required
	// +kubebuilder:validation:MaxLength=36
	UID string `json:"uid"`

	// nodeName is the node the pod runs on.
	// +required
	// +kubebuilder:validation:MaxLength=253
	NodeName string `json:"nodeName"`

	// containerIDs are the runtime IDs of the containers hit, when the
	// selector names containers; empty means the whole pod.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=atomic
	ContainerIDs []string `json:"containerIDs,omitempty"`
}

// Counters are what the kernel programs counted, summed over targets.
type Counters struct {
	// packetsMatched counts packets that matched the filters.
	// +optional
	PacketsMatched int64 `json:"packetsMatched,omitempty"`
	// packetsDropped counts packets dropped.
	// +optional
	PacketsDropped int64 `json:"packetsDropped,omitempty"`
	// packetsCorrupted counts packets rewritten.
	// +optional
	PacketsCorrupted int64 `json:"packetsCorrupted,omitempty"`
	// syscallsMatched counts system calls by targets that matched.
	// +optional
	SyscallsMatched int64 `json:"syscallsMatched,omitempty"`
	// syscallsFailed counts system calls made to fail.
	// +optional
	SyscallsFailed int64 `json:"syscallsFailed,omitempty"`
}

// Add adds o to c.
func (c *Counters) Add(o Counters) {
	c.PacketsMatched += o.PacketsMatched
	c.PacketsDropped += o.PacketsDropped
	c.PacketsCorrupted += o.PacketsCorrupted
	c.SyscallsMatched += o.SyscallsMatched
	c.SyscallsFailed += o.SyscallsFailed
}

// NodeStatus summarises one node's FaultInjection.
type NodeStatus struct {
	// nodeName is the node.
	// +required
	// +kubebuilder:validation:MaxLength=253
	NodeName string `json:"nodeName"`

	// phase is the node's injection phase, as its agent reports it.
	// +optional
	Phase InjectionPhase `json:"phase,omitempty"`

	// targets is the number of target pods on the node.
	// +optional
	Targets int32 `json:"targets,omitempty"`

	// injected is the number of those targets the agent has injected.
	// +optional
	Injected int32 `json:"injected,omitempty"`

	// message is the agent's last word on failures, if any.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`

	// counters are the node's last reported counts; they are kept after
	// the node's FaultInjection is removed, so totals never go backwards.
	// +optional
	Counters Counters `json:"counters,omitempty"`

	// firstInjectedTime is the earliest time the node's agent reported a
	// target injected.
	// +optional
	FirstInjectedTime *metav1.MicroTime `json:"firstInjectedTime,omitempty"`

	// removedTime is when the manager first saw the node's FaultInjection
	// gone: its agent had confirmed teardown.
	// +optional
	RemovedTime *metav1.MicroTime `json:"removedTime,omitempty"`
}

// FaultStatus is the observed state of a Fault.
type FaultStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is Pending, Running, Succeeded, Failed or Aborted.
	// +optional
	Phase FaultPhase `json:"phase,omitempty"`

	// abort says which abort condition ended the Fault, what it saw and
	// when; set only when phase is Aborted.
	// +optional
	Abort *AbortStatus `json:"abort,omitempty"`

	// abortChecks are the last evaluations of the abort conditions.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=map
	// +listMapKey=name
	AbortChecks []AbortCheckStatus `json:"abortChecks,omitempty"`

	// action summarises the action for kubectl, e.g. "drop egress 30%".
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Action string `json:"action,omitempty"`

	// conditions are the Fault's conditions (TargetsSelected, Injected, Completed).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// startTime is when the targets were fixed and injection began, with
	// microsecond precision.
	// +optional
	StartTime *metav1.MicroTime `json:"startTime,omitempty"`

	// expiryTime is when the fault ends: startTime plus duration, with
	// microsecond precision (a 1s Fault must not lose up to a second to
	// rounding).
	// +optional
	ExpiryTime *metav1.MicroTime `json:"expiryTime,omitempty"`

	// firstInjectedTime is when an agent first reported a target injected;
	// unset at expiry means the fault never acted (phase Failed, reason
	// NeverInjected).
	// +optional
	FirstInjectedTime *metav1.MicroTime `json:"firstInjectedTime,omitempty"`

	// timeLeft is the time until expiry, refreshed while running.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	TimeLeft string `json:"timeLeft,omitempty"`

	// targetCount is the number of pods hit.
	// +optional
	TargetCount int32 `json:"targetCount,omitempty"`

	// targets are the pods hit, fixed when the fault starts.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	// +listType=atomic
	Targets []Target `json:"targets,omitempty"`

	// nodes summarises each node's injection.
	// +optional
	// +kubebuilder:validation:MaxItems=5000
	// +listType=map
	// +listMapKey=nodeName
	Nodes []NodeStatus `json:"nodes,omitempty"`

	// counters sums what the nodes' kernel programs counted.
	// +optional
	Counters Counters `json:"counters,omitempty"`
}

// Fault is a chaos experiment: for a while, drop or corrupt the packets of
// some pods, or make some of their system calls fail.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=temblor
// +kubebuilder:printcolumn:name="Action",type=string,JSONPath=`.status.action`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Targets",type=integer,JSONPath=`.status.targetCount`
// +kubebuilder:printcolumn:name="Left",type=string,JSONPath=`.status.timeLeft`
// +kubebuilder:printcolumn:name="Aborted-By",type=string,JSONPath=`.status.abort.condition`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase == 'Pending' || self.spec == oldSelf.spec",message="spec is immutable once the Fault has started; delete it and create a new one"
type Fault struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired fault.
	// +required
	Spec FaultSpec `json:"spec"`

	// status is the observed state, written by the manager.
	// +optional
	Status FaultStatus `json:"status,omitempty"`
}

// FaultList is a list of Faults.
// +kubebuilder:object:root=true
type FaultList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the Faults.
	Items []Fault `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Fault{}, &FaultList{})
}
