package network

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/temblor-dev/temblor/bpf"
)

// Action is what happens to a matching packet.
type Action int

const (
	// ActionDrop drops matching packets.
	ActionDrop Action = iota + 1
	// ActionCorrupt rewrites a length field or payload bytes of matching
	// packets and lets them go on.
	ActionCorrupt
)

// Direction selects the traffic direction, seen from the namespace.
type Direction int

const (
	// Ingress is traffic entering the namespace.
	Ingress Direction = 1 << iota
	// Egress is traffic leaving the namespace.
	Egress
	// Both is traffic in either direction.
	Both = Ingress | Egress
)

// Protocol filters on the L4 protocol.
type Protocol int

const (
	// ProtocolAny matches every IPv4 and IPv6 packet.
	ProtocolAny Protocol = iota
	// ProtocolTCP matches TCP.
	ProtocolTCP
	// ProtocolUDP matches UDP.
	ProtocolUDP
	// ProtocolICMP matches ICMP over IPv4 and ICMPv6 over IPv6.
	ProtocolICMP
)

// Field is what a corrupt action rewrites.
type Field int

const (
	// FieldIPv4TotalLength rewrites the IPv4 total length (IPv4 packets only).
	FieldIPv4TotalLength Field = iota + 1
	// FieldUDPLength rewrites the UDP length.
	FieldUDPLength
	// FieldTCPDataOffset rewrites the 4-bit TCP data offset (in 32-bit words).
	FieldTCPDataOffset
	// FieldPayload flips one random bit in each of PayloadBytes random
	// payload bytes of TCP, UDP, ICMP and ICMPv6 packets.
	FieldPayload
)

// Method forces how tc-level programs are attached.
type Method int

const (
	// MethodAuto uses tcx where the kernel has it (6.6+), netlink tc otherwise.
	MethodAuto Method = iota
	// MethodTCX requires tcx links.
	MethodTCX
	// MethodNetlinkTC requires a clsact qdisc with direct-action cls_bpf
	// filters.
	MethodNetlinkTC
)

// XDPMode chooses whether and how ingress drops use XDP.
type XDPMode int

const (
	// XDPAuto uses XDP for ingress drops, native if the driver supports it,
	// generic otherwise, and falls back to tc when XDP cannot be attached
	// (for example because another XDP program owns the interface).
	XDPAuto XDPMode = iota
	// XDPNative requires driver-mode XDP for ingress drops.
	XDPNative
	// XDPGeneric requires generic (skb) XDP for ingress drops.
	XDPGeneric
	// XDPDisabled drops at tc ingress instead.
	XDPDisabled
)

// Limits of one configuration, fixed by the BPF object's layout.
const (
	// MaxPortRanges is the most ranges in each of SourcePorts,
	// DestinationPorts and Ports.
	MaxPortRanges = 8
	// MaxPayloadBytes is the most payload bytes a corruption touches.
	MaxPayloadBytes = 16
	// MaxPeerCIDRs is the most peer prefixes per address family.
	MaxPeerCIDRs = 256
	// ProbabilityOne is 100% in basis points.
	ProbabilityOne = bpf.ProbabilityOne
)

// PortRange is an inclusive range of ports.
type PortRange struct {
	// From is the first port of the range.
	From uint16
	// To is the last port of the range, From or above.
	To uint16
}

// CorruptConfig says how ActionCorrupt rewrites packets.
type CorruptConfig struct {
	// Field is the field to rewrite.
	Field Field
	// Delta adds a signed amount to a length field, saturating at the
	// field's bounds. Exactly one of Delta and Value is set for length
	// fields.
	Delta *int32
	// Value sets a length field, masked to the field's width.
	Value *uint32
	// PayloadBytes is how many payload bytes FieldPayload changes, 1 to
	// MaxPayloadBytes.
	PayloadBytes int
	// RepairChecksum keeps the IPv4 header and L4 checksums valid, so that
	// the receiver acts on the corrupted content rather than dropping the
	// packet as damaged.
	RepairChecksum bool
}

// Config is one packet fault.
type Config struct {
	// Action is ActionDrop or ActionCorrupt.
	Action Action
	// Direction is Ingress, Egress or Both.
	Direction Direction
	// ProbabilityBasisPoints is the chance, 0 to 10000, that a matching
	// packet is acted on.
	ProbabilityBasisPoints uint32
	// Protocol filters on the L4 protocol.
	Protocol Protocol
	// SourcePorts, if set, matches TCP/UDP packets whose source port is in
	// one of the ranges.
	SourcePorts []PortRange
	// DestinationPorts, if set, matches TCP/UDP packets whose destination
	// port is in one of the ranges.
	DestinationPorts []PortRange
	// Ports, if set, matches TCP/UDP packets whose source or destination
	// port is in one of the ranges.
	Ports []PortRange
	// PeerCIDRs, if set, matches packets whose peer (destination on
	// egress, source on ingress) is in one of the prefixes.
	PeerCIDRs []netip.Prefix
	// Corrupt configures ActionCorrupt.
	Corrupt CorruptConfig
	// Interface, if set, limits the fault to this interface; by default
	// every non-loopback Ethernet interface of the namespace is used.
	Interface string
	// Method forces the tc attach method.
	Method Method
	// XDP chooses whether ingress drops use XDP.
	XDP XDPMode
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Action {
	case ActionDrop, ActionCorrupt:
	default:
		add("action %d: must be drop or corrupt", c.Action)
	}
	if c.Direction&^Both != 0 || c.Direction == 0 {
		add("direction %d: must be ingress, egress or both", c.Direction)
	}
	if c.ProbabilityBasisPoints > ProbabilityOne {
		add("probability %d basis points: must be at most %d", c.ProbabilityBasisPoints, ProbabilityOne)
	}
	if c.Protocol < ProtocolAny || c.Protocol > ProtocolICMP {
		add("protocol %d: unknown", c.Protocol)
	}
	for name, rs := range map[string][]PortRange{"source ports": c.SourcePorts, "destination ports": c.DestinationPorts, "ports": c.Ports} {
		if len(rs) > MaxPortRanges {
			add("%s: %d ranges, at most %d", name, len(rs), MaxPortRanges)
		}
		for _, r := range rs {
			if r.From > r.To {
				add("%s: range %d-%d is reversed", name, r.From, r.To)
			}
		}
		if len(rs) > 0 && c.Protocol == ProtocolICMP {
			add("%s: ICMP has no ports", name)
		}
	}
	var n4, n6 int
	for _, p := range c.PeerCIDRs {
		switch {
		case !p.IsValid():
			add("peer CIDR %v: invalid", p)
		case p.Addr().Is4() || p.Addr().Is4In6():
			n4++
		default:
			n6++
		}
	}
	if n4 > MaxPeerCIDRs || n6 > MaxPeerCIDRs {
		add("peer CIDRs: at most %d per address family", MaxPeerCIDRs)
	}
	if c.Method < MethodAuto || c.Method > MethodNetlinkTC {
		add("method %d: unknown", c.Method)
	}
	if c.XDP < XDPAuto || c.XDP > XDPDisabled {
		add("XDP mode %d: unknown", c.XDP)
	}
	if c.Action == ActionCorrupt {
		errs = append(errs, c.Corrupt.validate(c.Protocol)...)
	}
	return errors.Join(errs...)
}

func (cc CorruptConfig) validate(proto Protocol) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch cc.Field {
	case FieldIPv4TotalLength, FieldUDPLength, FieldTCPDataOffset:
		if (cc.Delta == nil) == (cc.Value == nil) {
			add("corrupt: exactly one of delta and value must be set for a length field")
		}
		if cc.Delta != nil && *cc.Delta == 0 {
			add("corrupt: a delta of 0 changes nothing")
		}
		if cc.PayloadBytes != 0 {
			add("corrupt: payload bytes only apply to payload corruption")
		}
		if cc.Field == FieldUDPLength && proto != ProtocolAny && proto != ProtocolUDP {
			add("corrupt: UDP length needs protocol UDP or any")
		}
		if cc.Field == FieldTCPDataOffset && proto != ProtocolAny && proto != ProtocolTCP {
			add("corrupt: TCP data offset needs protocol TCP or any")
		}
	case FieldPayload:
		if cc.PayloadBytes < 1 || cc.PayloadBytes > MaxPayloadBytes {
			add("corrupt: payload bytes %d: must be 1 to %d", cc.PayloadBytes, MaxPayloadBytes)
		}
		if cc.Delta != nil || cc.Value != nil {
			add("corrupt: delta and value do not apply to payload corruption")
		}
	default:
		add("corrupt: field %d: unknown", cc.Field)
	}
	return errs
}

// String names the direction.
func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	case Both:
		return "both"
	}
	return fmt.Sprintf("direction(%d)", int(d))
}
