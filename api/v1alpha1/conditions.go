package v1alpha1

// Condition types of a Fault.
const (
	// ConditionTargetsSelected is True once the target pods are fixed.
	ConditionTargetsSelected = "TargetsSelected"
	// ConditionInjected is True while every target is injected.
	ConditionInjected = "Injected"
	// ConditionCompleted is True once the fault has ended and been torn down.
	ConditionCompleted = "Completed"
)

// Condition types of a FaultInjection.
const (
	// ConditionAgentConnected is False while the agent has withdrawn its
	// faults because it lost the API server (dead-man switch).
	ConditionAgentConnected = "AgentConnected"
)

// Condition reasons.
const (
	// ReasonTargetsResolved: the selector matched pods and targets were fixed.
	ReasonTargetsResolved = "TargetsResolved"
	// ReasonNoTargets: the selector matched no running pod, or no matching
	// pod had every container named in selector.containerNames started.
	ReasonNoTargets = "NoTargets"
	// ReasonContainersNotFound: some matching pods were left out because a
	// container named in selector.containerNames is missing or not started.
	ReasonContainersNotFound = "ContainersNotFound"
	// ReasonProtectedNamespace: the Fault lives in a protected namespace.
	ReasonProtectedNamespace = "ProtectedNamespace"
	// ReasonTooManyTargets: the selection exceeds the most pods one Fault
	// may hit (MaxTargets).
	ReasonTooManyTargets = "TooManyTargets"
	// ReasonInvalidSpec: the spec passed the CRD but cannot be carried out.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonDryRun: dry run, targets reported and nothing injected.
	ReasonDryRun = "DryRun"
	// ReasonInjectionPending: waiting for the agents.
	ReasonInjectionPending = "InjectionPending"
	// ReasonAllInjected: every target is injected.
	ReasonAllInjected = "AllInjected"
	// ReasonPartiallyInjected: some targets failed or are gone.
	ReasonPartiallyInjected = "PartiallyInjected"
	// ReasonInjectionFailed: no target could be injected.
	ReasonInjectionFailed = "InjectionFailed"
	// ReasonInjectionConflict: a FaultInjection of the same name exists and
	// is not controlled by this Fault, so its node gets nothing.
	ReasonInjectionConflict = "InjectionConflict"
	// ReasonExpired: the duration ended and everything was removed.
	ReasonExpired = "Expired"
	// ReasonNeverInjected: the fault expired and was removed, but no agent
	// ever reported a target injected: nothing was tested.
	ReasonNeverInjected = "NeverInjected"
	// ReasonAborted: an abort condition failed past its threshold; the
	// fault was torn down before its expiry.
	ReasonAborted = "Aborted"
	// ReasonAbortCheckFailed: an abort condition's evaluation failed (or
	// could not be made), below its threshold so far.
	ReasonAbortCheckFailed = "AbortCheckFailed"
	// ReasonTearingDown: waiting for the agents to confirm teardown.
	ReasonTearingDown = "TearingDown"
	// ReasonAPIServerUnreachable: the agent withdrew the fault on its own.
	ReasonAPIServerUnreachable = "APIServerUnreachable"
	// ReasonReconnected: the agent reached the API server again.
	ReasonReconnected = "Reconnected"
)

// Finalizer is held by Faults and FaultInjections until teardown is confirmed.
const Finalizer = "chaos.temblor.dev/finalizer"
