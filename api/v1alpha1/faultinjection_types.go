package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InjectionTarget is one target pod on the FaultInjection's node, as the
// manager resolved it.
type InjectionTarget struct {
	// podUID is the pod's UID; the agent finds the pod's processes by it.
	// +required
	// +kubebuilder:validation:MaxLength=36
	PodUID string `json:"podUID"`

	// namespace is the pod's namespace.
	// +required
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`

	// name is the pod's name.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// containerIDs limits a syscall fault to these containers
	// ("containerd://<id>" as in the pod status); empty means the whole pod.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=set
	ContainerIDs []string `json:"containerIDs,omitempty"`
}

// FaultInjectionSpec is the work one node's agent carries out for a Fault.
// It is written once by the manager and never changed.
type FaultInjectionSpec struct {
	// faultName is the Fault this injection belongs to.
	// +required
	// +kubebuilder:validation:MaxLength=253
	FaultName string `json:"faultName"`

	// nodeName is the node whose agent carries this injection out.
	// +required
	// +kubebuilder:validation:MaxLength=253
	NodeName string `json:"nodeName"`

	// targets are the pods on that node.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10000
	// +listType=atomic
	Targets []InjectionTarget `json:"targets"`

	// deadline is the absolute time at which the agent removes the fault,
	// whether or not it can still reach the API server, with microsecond
	// precision. It is never later than the owning Fault's expiryTime.
	// +required
	Deadline metav1.MicroTime `json:"deadline"`

	// The action, exactly one of network and syscall.
	FaultAction `json:",inline"`
}

// InjectionPhase is where a node's injection is.
// +kubebuilder:validation:Enum=Pending;Injected;PartiallyInjected;Failed;Withdrawn;Removed
type InjectionPhase string

const (
	// InjectionPending: the agent has not acted yet.
	InjectionPending InjectionPhase = "Pending"
	// InjectionInjected: every target is injected.
	InjectionInjected InjectionPhase = "Injected"
	// InjectionPartiallyInjected: some targets failed; the rest are injected.
	InjectionPartiallyInjected InjectionPhase = "PartiallyInjected"
	// InjectionFailed: no target could be injected.
	InjectionFailed InjectionPhase = "Failed"
	// InjectionWithdrawn: the agent withdrew the fault on its own (dead-man
	// switch: it lost the API server for longer than its grace).
	InjectionWithdrawn InjectionPhase = "Withdrawn"
	// InjectionRemoved: the deadline passed and every attachment is gone.
	InjectionRemoved InjectionPhase = "Removed"
)

// TargetState is where one target pod is.
// +kubebuilder:validation:Enum=Pending;Injected;Failed;Gone;Removed
type TargetState string

const (
	// TargetPending: not yet injected.
	TargetPending TargetState = "Pending"
	// TargetInjected: programs attached in the pod's kernel context.
	TargetInjected TargetState = "Injected"
	// TargetFailed: injection failed and was rolled back; see message.
	TargetFailed TargetState = "Failed"
	// TargetGone: the pod no longer exists on the node; nothing is left of it.
	TargetGone TargetState = "Gone"
	// TargetRemoved: the fault was removed from the pod.
	TargetRemoved TargetState = "Removed"
)

// TargetStatus is the agent's report on one target pod.
type TargetStatus struct {
	// podUID identifies the target.
	// +required
	// +kubebuilder:validation:MaxLength=36
	PodUID string `json:"podUID"`

	// name is the pod's name.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// state is Pending, Injected, Failed, Gone or Removed.
	// +required
	State TargetState `json:"state"`

	// methods are the attach methods or syscall backends used, e.g.
	// "eth0 egress tcx", "connect cgroup/connect4".
	// +optional
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=128
	// +listType=atomic
	Methods []string `json:"methods,omitempty"`

	// message explains a failure.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`

	// counters are this target's counts.
	// +optional
	Counters Counters `json:"counters,omitempty"`

	// reinjections counts how many times the fault was attached again
	// after the pod's container restarted or its sandbox was recreated
	// (new cgroup or network namespace).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Reinjections int32 `json:"reinjections,omitempty"`

	// injectedTime is when the agent last attached the fault to this
	// target, to the microsecond.
	// +optional
	InjectedTime *metav1.MicroTime `json:"injectedTime,omitempty"`
}

// FaultInjectionStatus is written only by the node's agent.
type FaultInjectionStatus struct {
	// observedGeneration is the generation the agent acted on.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is the node's injection phase.
	// +optional
	Phase InjectionPhase `json:"phase,omitempty"`

	// targets reports each target pod.
	// +optional
	// +kubebuilder:validation:MaxItems=10000
	// +listType=map
	// +listMapKey=podUID
	Targets []TargetStatus `json:"targets,omitempty"`

	// counters sums the targets' counters.
	// +optional
	Counters Counters `json:"counters,omitempty"`

	// conditions are the injection's conditions.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// seenTime is when the agent first acted on this object, to the
	// microsecond: with creationTimestamp and the targets' injectedTime it
	// tells where the time from create to injected goes.
	// +optional
	SeenTime *metav1.MicroTime `json:"seenTime,omitempty"`

	// lastUpdateTime is when the agent last refreshed this status.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
}

// FaultInjection is one node's share of a Fault: the targets on that node,
// the action and the deadline. The manager creates it; the node's agent
// attaches the programs, reports status and removes its finalizer after
// teardown.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:categories=temblor,shortName=fi
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Deadline",type=string,JSONPath=`.spec.deadline`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.spec == oldSelf.spec",message="spec is immutable"
type FaultInjection struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the node's work.
	// +required
	Spec FaultInjectionSpec `json:"spec"`

	// status is the agent's report.
	// +optional
	Status FaultInjectionStatus `json:"status,omitempty"`
}

// FaultInjectionList is a list of FaultInjections.
// +kubebuilder:object:root=true
type FaultInjectionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the FaultInjections.
	Items []FaultInjection `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FaultInjection{}, &FaultInjectionList{})
}
