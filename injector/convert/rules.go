package convert

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// The CRD's rules that the injector configurations do not enforce by
// themselves. The API server applies them to every Fault; local mode reads
// manifests that never met one, so Network and Syscall apply them again and
// accept exactly what the CRD accepts. Each mirrors a kubebuilder marker in
// api/v1alpha1/action_types.go.

// interfaceName is the CRD's pattern for network.interface.
var interfaceName = regexp.MustCompile(`^[a-zA-Z0-9_.@-]+$`)

// Limits from the CRD markers.
const (
	maxInterfaceName = 15
	maxPeerCIDRs     = 32
	maxPeerCIDRLen   = 43
	maxPort          = 65535
	maxLengthDelta   = 65535
	maxTCPDataOffset = 15
	maxPayloadBytes  = 16
	maxSyscalls      = 16
	maxPortRanges    = 8
	maxPathPrefix    = 255
)

// sockSyscalls are the syscalls the CRD lets ports and peerCIDRs apply to.
var sockSyscalls = []chaosv1.SyscallName{"connect", "bind", "sendto", "sendmsg"}

// fileSyscalls are the syscalls the CRD lets pathPrefix apply to: those
// some backend can filter by path.
var fileSyscalls = sysfault.PathFilterableSyscalls()

// networkRules returns every CRD rule a breaks.
func networkRules(a *chaosv1.NetworkAction) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if a.Interface != "" && (len(a.Interface) > maxInterfaceName || !interfaceName.MatchString(a.Interface)) {
		add("interface %q: want at most %d letters, digits and _.@-", a.Interface, maxInterfaceName)
	}
	if len(a.Ports)+len(a.SourcePorts)+len(a.DestinationPorts) > 0 && a.Protocol != chaosv1.ProtocolTCP && a.Protocol != chaosv1.ProtocolUDP {
		add("port filters need protocol TCP or UDP")
	}
	errs = append(errs, peerCIDRRules(a.PeerCIDRs)...)
	switch {
	case a.Type == chaosv1.NetworkCorrupt && a.Corrupt == nil:
		add("corrupt is required when type is Corrupt")
	case a.Type != chaosv1.NetworkCorrupt && a.Corrupt != nil:
		add("corrupt is only valid when type is Corrupt")
	}
	if a.Corrupt != nil {
		errs = append(errs, corruptRules(a.Corrupt, a.Protocol)...)
	}
	return errs
}

// peerCIDRRules returns every CRD rule of a peerCIDRs list (network and
// syscall actions alike) that cidrs break, beyond parsing.
func peerCIDRRules(cidrs []string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(cidrs) > maxPeerCIDRs {
		add("peerCIDRs: %d, at most %d", len(cidrs), maxPeerCIDRs)
	}
	for i, c := range cidrs {
		if len(c) > maxPeerCIDRLen {
			add("peer CIDR %q: longer than %d characters", c, maxPeerCIDRLen)
		} else if p, err := netip.ParsePrefix(c); err == nil && p.Addr().Is4In6() {
			add("peer CIDR %q: IPv4-mapped IPv6 prefixes are not allowed", c)
		}
		if slices.Contains(cidrs[:i], c) {
			add("peer CIDR %q given twice", c)
		}
	}
	return errs
}

// corruptRules returns every CRD rule c breaks.
func corruptRules(c *chaosv1.CorruptSpec, proto chaosv1.Protocol) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch c.Checksum {
	case "", chaosv1.ChecksumRepair, chaosv1.ChecksumLeave:
	default:
		add("unknown checksum policy %q: want Repair or Leave", c.Checksum)
	}
	if c.Delta != nil && (*c.Delta < -maxLengthDelta || *c.Delta > maxLengthDelta || *c.Delta == 0) {
		add("corrupt delta %d: want -%d..%d, not 0", *c.Delta, maxLengthDelta, maxLengthDelta)
	}
	if c.Value != nil && *c.Value > maxPort {
		add("corrupt value %d: above %d", *c.Value, maxPort)
	}
	if c.Bytes != nil && (*c.Bytes < 1 || *c.Bytes > maxPayloadBytes) {
		add("corrupt bytes %d: want 1..%d", *c.Bytes, maxPayloadBytes)
	}
	if c.Field == chaosv1.CorruptPayload {
		if c.Delta != nil || c.Value != nil {
			add("delta and value apply to length fields; use bytes with field Payload")
		}
		return errs
	}
	if (c.Delta == nil) == (c.Value == nil) {
		add("a length field needs exactly one of delta or value")
	}
	if c.Bytes != nil {
		add("bytes applies only to field Payload")
	}
	switch c.Field {
	case chaosv1.CorruptUDPLength:
		if proto != chaosv1.ProtocolUDP {
			add("corrupting the UDP length needs protocol UDP")
		}
	case chaosv1.CorruptTCPDataOffset:
		if proto != chaosv1.ProtocolTCP {
			add("corrupting the TCP data offset needs protocol TCP")
		}
		if c.Value != nil && *c.Value > maxTCPDataOffset || c.Delta != nil && (*c.Delta < -maxTCPDataOffset || *c.Delta > maxTCPDataOffset) {
			add("the TCP data offset is 4 bits: value must be 0-15 and delta -15..15")
		}
	}
	return errs
}

// syscallRules returns every CRD rule a breaks.
func syscallRules(a *chaosv1.SyscallAction) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if n := len(a.Syscalls); n < 1 || n > maxSyscalls {
		add("%d syscalls: want 1 to %d", n, maxSyscalls)
	}
	for i, s := range a.Syscalls {
		if slices.Contains(a.Syscalls[:i], s) {
			add("syscall %q given twice", s)
		}
	}
	if len(a.Ports) > 0 || len(a.PeerCIDRs) > 0 {
		for _, s := range a.Syscalls {
			if !slices.Contains(sockSyscalls, s) {
				add("ports and peerCIDRs apply only to socket syscalls that carry an address (connect, bind, sendto, sendmsg), not %q", s)
			}
		}
	}
	if len(a.Ports) > maxPortRanges {
		add("ports: %d ranges, at most %d", len(a.Ports), maxPortRanges)
	}
	errs = append(errs, peerCIDRRules(a.PeerCIDRs)...)
	if a.PathPrefix == "" {
		return errs
	}
	if len(a.PathPrefix) > maxPathPrefix || a.PathPrefix[0] != '/' {
		add("pathPrefix %q: want an absolute path of at most %d bytes", a.PathPrefix, maxPathPrefix)
	}
	for _, s := range a.Syscalls {
		if !slices.Contains(fileSyscalls, string(s)) {
			add("pathPrefix applies only to syscalls whose path a backend can compare (%s), not %q", strings.Join(fileSyscalls, ", "), s)
		}
	}
	return errs
}
