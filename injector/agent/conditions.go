package agent

// Condition types the agent writes on FaultInjections. They live here, not
// in api/v1alpha1, because only the agent writes them.
const (
	// ConditionOrderVerified is True once the agent checked the
	// FaultInjection against its owning Fault, and False, with the reason,
	// when it refused it: nothing is attached for a refused order.
	ConditionOrderVerified = "OrderVerified"
	// ConditionTornDown is False while a teardown failed and is retried
	// (reason TeardownFailed; the finalizer stays), True once every
	// attachment is closed.
	ConditionTornDown = "TornDown"
)

// Reasons of ConditionOrderVerified. Each is also the reason of the Warning
// Event emitted on refusal.
const (
	// ReasonVerified: the owning Fault ordered exactly this.
	ReasonVerified = "Verified"
	// ReasonNoOwningFault: no controller ownerReference names a Fault.
	ReasonNoOwningFault = "NoOwningFault"
	// ReasonOwnerNotFound: the owning Fault does not exist.
	ReasonOwnerNotFound = "OwnerNotFound"
	// ReasonOwnerMismatch: the Fault of that name has another UID (it was
	// deleted and recreated), is being deleted, or names another fault.
	ReasonOwnerMismatch = "OwnerMismatch"
	// ReasonFaultNotStarted: the owning Fault has no expiry time yet.
	ReasonFaultNotStarted = "FaultNotStarted"
	// ReasonTargetNotOrdered: a target is not in the Fault's status targets
	// for this node (or its containers differ).
	ReasonTargetNotOrdered = "TargetNotOrdered"
	// ReasonTargetOutsideNamespace: a target is not in the FaultInjection's
	// namespace.
	ReasonTargetOutsideNamespace = "TargetOutsideNamespace"
	// ReasonProtectedNamespace: the FaultInjection or a target is in one of
	// the agent's protected namespaces.
	ReasonProtectedNamespace = "ProtectedNamespace"
	// ReasonDeadlineBeyondExpiry: the deadline is later than the Fault's
	// expiry time.
	ReasonDeadlineBeyondExpiry = "DeadlineBeyondExpiry"
	// ReasonActionMismatch: the action differs from the Fault's.
	ReasonActionMismatch = "ActionMismatch"
)

// Reasons of ConditionTornDown.
const (
	// ReasonTeardownFailed: closing an attachment failed; the agent retries
	// with backoff and keeps the finalizer meanwhile.
	ReasonTeardownFailed = "TeardownFailed"
	// ReasonTornDown: every attachment is closed.
	ReasonTornDown = "TornDown"
)
