package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
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
// "<fault>-<node>-<hash>", with fault and node shortened when too long and
// hash a digest of the pair. Distinct pairs get distinct names even when
// their plain concatenations agree ("a"+"b-c" and "a-b"+"c").
func FaultInjectionName(fault, node string) string {
	// '/' occurs in neither name, so it separates the pair unambiguously.
	sum := sha256.Sum256([]byte(fault + "/" + node))
	return namePart(fault, 100) + "-" + namePart(node, 120) + "-" + hex.EncodeToString(sum[:])[:10]
}

// namePart shortens a DNS subdomain to at most n characters that can be
// joined with '-' into a valid one.
func namePart(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.TrimRight(s, "-.")
}
