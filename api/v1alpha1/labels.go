package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
)

// Labels the manager puts on FaultInjections.
const (
	// LabelFault carries the owning Fault's name (hashed when longer than a
	// label value may be).
	LabelFault = "chaos.temblor.dev/fault"
	// LabelNode carries the node's name (hashed when too long), so that an
	// agent watches only its own node's FaultInjections.
	LabelNode = "chaos.temblor.dev/node"
)

// LabelValue returns s when it fits in a label value, and otherwise a stable
// hash of it that does.
func LabelValue(s string) string {
	if len(s) <= 63 {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h-" + hex.EncodeToString(sum[:])[:40]
}

// FaultInjectionName is the name of the FaultInjection of fault on node:
// "<fault>-<node>" when that fits, otherwise shortened with a hash.
func FaultInjectionName(fault, node string) string {
	name := fault + "-" + node
	if len(name) <= 253 {
		return name
	}
	sum := sha256.Sum256([]byte(node))
	prefix := fault
	if len(prefix) > 200 {
		prefix = prefix[:200]
	}
	return prefix + "-" + hex.EncodeToString(sum[:])[:16]
}
