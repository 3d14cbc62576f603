package v1alpha1

// Probability is a percentage written as a string with at most two decimals,
// from "0" to "100": "100" hits every matching packet or call, "30" about
// three in ten, "0.05" one in two thousand. Strings keep floats out of the API
// (Kubernetes API conventions); the agent converts it to basis points.
// +kubebuilder:validation:Pattern=`^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$`
// +kubebuilder:validation:MaxLength=6
type Probability string

// FaultAction is the one thing a Fault does to its targets. Exactly one member
// is set.
// +kubebuilder:validation:XValidation:rule="has(self.network) != has(self.syscall)",message="exactly one action must be set: network or syscall"
type FaultAction struct {
	// network drops or corrupts the targets' packets.
	// +optional
	Network *NetworkAction `json:"network,omitempty"`

	// syscall makes the targets' system calls fail with an errno.
	// +optional
	Syscall *SyscallAction `json:"syscall,omitempty"`
}

// NetworkActionType says what happens to a matching packet.
// +kubebuilder:validation:Enum=Drop;Corrupt
type NetworkActionType string

const (
	// NetworkDrop drops matching packets.
	NetworkDrop NetworkActionType = "Drop"
	// NetworkCorrupt rewrites a length field or payload bytes of matching packets.
	NetworkCorrupt NetworkActionType = "Corrupt"
)

// Direction is the direction of traffic, seen from the target pod.
// +kubebuilder:validation:Enum=Ingress;Egress;Both
type Direction string

const (
	// DirectionIngress is traffic the pod receives.
	DirectionIngress Direction = "Ingress"
	// DirectionEgress is traffic the pod sends.
	DirectionEgress Direction = "Egress"
	// DirectionBoth is traffic in either direction.
	DirectionBoth Direction = "Both"
)

// Protocol is a transport protocol a network fault can be limited to.
// ICMP covers ICMPv6 for IPv6 packets.
// +kubebuilder:validation:Enum=TCP;UDP;ICMP
type Protocol string

const (
	// ProtocolTCP matches TCP segments.
	ProtocolTCP Protocol = "TCP"
	// ProtocolUDP matches UDP datagrams.
	ProtocolUDP Protocol = "UDP"
	// ProtocolICMP matches ICMP and ICMPv6 messages.
	ProtocolICMP Protocol = "ICMP"
)

// NetworkAction drops or corrupts packets of the target pods, on every
// non-loopback interface of the pod's network namespace (or the named one).
// +kubebuilder:validation:XValidation:rule="self.type != 'Corrupt' || has(self.corrupt)",message="corrupt is required when type is Corrupt"
// +kubebuilder:validation:XValidation:rule="self.type == 'Corrupt' || !has(self.corrupt)",message="corrupt is only valid when type is Corrupt"
// +kubebuilder:validation:XValidation:rule="!(has(self.ports) || has(self.sourcePorts) || has(self.destinationPorts)) || (has(self.protocol) && self.protocol != 'ICMP')",message="port filters need protocol TCP or UDP"
// +kubebuilder:validation:XValidation:rule="!has(self.corrupt) || self.corrupt.field != 'UDPLength' || (has(self.protocol) && self.protocol == 'UDP')",message="corrupting the UDP length needs protocol UDP"
// +kubebuilder:validation:XValidation:rule="!has(self.corrupt) || self.corrupt.field != 'TCPDataOffset' || (has(self.protocol) && self.protocol == 'TCP')",message="corrupting the TCP data offset needs protocol TCP"
type NetworkAction struct {
	// type is Drop or Corrupt.
	// +required
	Type NetworkActionType `json:"type"`

	// direction is Ingress, Egress or Both (the default), seen from the pod.
	// +optional
	// +kubebuilder:default=Both
	Direction Direction `json:"direction,omitempty"`

	// probability is the percentage of matching packets acted on (default "100").
	// +optional
	// +kubebuilder:default="100"
	Probability Probability `json:"probability,omitempty"`

	// interface limits the fault to one interface of the pod, e.g. "eth0".
	// By default every non-loopback interface is used.
	// +optional
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_.@-]+$`
	Interface string `json:"interface,omitempty"`

	// protocol limits the fault to TCP, UDP or ICMP; by default every protocol.
	// +optional
	Protocol Protocol `json:"protocol,omitempty"`

	// ports matches packets whose source or destination port is in one of
	// these ranges.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	Ports []PortRange `json:"ports,omitempty"`

	// sourcePorts matches packets whose source port is in one of these ranges.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	SourcePorts []PortRange `json:"sourcePorts,omitempty"`

	// destinationPorts matches packets whose destination port is in one of
	// these ranges.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	DestinationPorts []PortRange `json:"destinationPorts,omitempty"`

	// peerCIDRs matches packets whose peer (the destination of egress
	// packets, the source of ingress packets) is in one of these IPv4 or IPv6
	// CIDRs, e.g. "10.96.0.0/12" or "fd00::/8".
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="peerCIDRs must hold valid CIDRs such as 10.0.0.0/8 or fd00::/8"
	// +listType=set
	PeerCIDRs []string `json:"peerCIDRs,omitempty"`

	// corrupt says how packets are corrupted; required when type is Corrupt.
	// +optional
	Corrupt *CorruptSpec `json:"corrupt,omitempty"`
}

// PortRange is one port or an inclusive range of ports.
// +kubebuilder:validation:XValidation:rule="!has(self.to) || self.to >= self.from",message="port range end (to) must not be below its start (from)"
type PortRange struct {
	// from is the first port of the range, or the only port.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	From int32 `json:"from"`

	// to is the last port of the range (inclusive); unset means just from.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	To *int32 `json:"to,omitempty"`
}

// CorruptField is the part of a packet that a Corrupt action rewrites.
// +kubebuilder:validation:Enum=IPv4TotalLength;UDPLength;TCPDataOffset;Payload
type CorruptField string

const (
	// CorruptIPv4TotalLength rewrites the IPv4 header's total length.
	CorruptIPv4TotalLength CorruptField = "IPv4TotalLength"
	// CorruptUDPLength rewrites the UDP header's length.
	CorruptUDPLength CorruptField = "UDPLength"
	// CorruptTCPDataOffset rewrites the TCP header's data offset (4 bits, in
	// 32-bit words).
	CorruptTCPDataOffset CorruptField = "TCPDataOffset"
	// CorruptPayload flips one random bit in each of some random payload bytes.
	CorruptPayload CorruptField = "Payload"
)

// ChecksumPolicy says whether checksums are fixed up after a rewrite.
// +kubebuilder:validation:Enum=Repair;Leave
type ChecksumPolicy string

const (
	// ChecksumRepair recomputes the IP and transport checksums, so the
	// corrupted packet passes checksum checks and reaches the parser.
	ChecksumRepair ChecksumPolicy = "Repair"
	// ChecksumLeave leaves checksums as they were, so receivers that check
	// them discard the packet.
	ChecksumLeave ChecksumPolicy = "Leave"
)

// CorruptSpec says how a Corrupt action rewrites matching packets.
// +kubebuilder:validation:XValidation:rule="self.field == 'Payload' || (has(self.delta) != has(self.value))",message="a length field needs exactly one of delta or value"
// +kubebuilder:validation:XValidation:rule="self.field != 'Payload' || (!has(self.delta) && !has(self.value))",message="delta and value apply to length fields; use bytes with field Payload"
// +kubebuilder:validation:XValidation:rule="self.field == 'Payload' || !has(self.bytes)",message="bytes applies only to field Payload"
// +kubebuilder:validation:XValidation:rule="self.field != 'TCPDataOffset' || ((!has(self.value) || self.value <= 15) && (!has(self.delta) || (self.delta >= -15 && self.delta <= 15)))",message="the TCP data offset is 4 bits: value must be 0-15 and delta -15..15"
type CorruptSpec struct {
	// field is IPv4TotalLength, UDPLength, TCPDataOffset or Payload.
	// +required
	Field CorruptField `json:"field"`

	// delta is added to the length field (negative shrinks it); the result
	// saturates at the field's bounds: it stops at 0 and at the field's
	// maximum (65535 for the 16-bit lengths, 15 for the TCP data offset)
	// rather than wrapping.
	// +optional
	// +kubebuilder:validation:Minimum=-65535
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self != 0",message="delta must not be 0"
	Delta *int32 `json:"delta,omitempty"`

	// value replaces the length field.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	Value *int32 `json:"value,omitempty"`

	// bytes is how many random payload bytes get one random bit flipped
	// (field Payload; default 1).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16
	Bytes *int32 `json:"bytes,omitempty"`

	// checksum is Repair (the default: checksums are fixed so the packet
	// reaches the parser) or Leave.
	// +optional
	// +kubebuilder:default=Repair
	Checksum ChecksumPolicy `json:"checksum,omitempty"`
}

// SyscallAction makes system calls of the target pods' processes fail.
// ports and peerCIDRs narrow the socket syscalls that carry an address
// (connect, bind, sendto, sendmsg) to calls whose address matches; a call of
// those syscalls without an address (a send on a connected socket) or of
// another address family (AF_UNIX) does not match a filter and is not failed.
// +kubebuilder:validation:XValidation:rule="!has(self.pathPrefix) || self.syscalls.all(s, s in ['creat', 'execve', 'fdatasync', 'fsync', 'ftruncate', 'mkdir', 'mkdirat', 'open', 'openat', 'pread64', 'pwrite64', 'read', 'readv', 'rename', 'renameat', 'renameat2', 'truncate', 'unlink', 'unlinkat', 'write', 'writev'])",message="pathPrefix applies only to syscalls whose path a backend can compare: creat, execve, fdatasync, fsync, ftruncate, mkdir, mkdirat, open, openat, pread64, pwrite64, read, readv, rename, renameat, renameat2, truncate, unlink, unlinkat, write, writev"
// +kubebuilder:validation:XValidation:rule="!(has(self.ports) || has(self.peerCIDRs)) || self.syscalls.all(s, s in ['connect', 'bind', 'sendto', 'sendmsg'])",message="ports and peerCIDRs apply only to socket syscalls that carry an address: connect, bind, sendto, sendmsg"
type SyscallAction struct {
	// syscalls lists the system calls to fail, by their Linux names.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +listType=set
	Syscalls []SyscallName `json:"syscalls"`

	// errno is the error the calls return, by name, e.g. EIO or ECONNREFUSED.
	// +required
	Errno ErrnoName `json:"errno"`

	// probability is the percentage of matching calls that fail (default "100").
	// +optional
	// +kubebuilder:default="100"
	Probability Probability `json:"probability,omitempty"`

	// pathPrefix limits file syscalls to files whose path starts with it,
	// e.g. "/var/lib/data/", at most 255 bytes (the programs compare bytes,
	// so a multi-byte UTF-8 character counts for several). It is accepted on
	// the syscalls some backend can filter by path: open, openat, creat,
	// truncate, mkdir, mkdirat, unlink, unlinkat, rename, renameat,
	// renameat2 and execve (the path argument as passed), and read, pread64,
	// readv, write, pwrite64, writev, fsync, fdatasync and ftruncate (the
	// open file's path as the process sees it; a path deeper than 32
	// components does not match). Backends that cannot see the path report
	// the syscall as unsupported in status rather than failing every file.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	// +kubebuilder:validation:Pattern=`^/`
	// +kubebuilder:validation:XValidation:rule="size(bytes(self)) <= 255",message="pathPrefix must be at most 255 bytes (UTF-8); multi-byte characters count for several"
	PathPrefix string `json:"pathPrefix,omitempty"`

	// ports limits connect, bind, sendto and sendmsg to calls whose address
	// has a port in one of these ranges: the destination port of connect,
	// sendto and sendmsg, the local port being bound for bind (0 when the
	// kernel is to pick one).
	// +optional
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	Ports []PortRange `json:"ports,omitempty"`

	// peerCIDRs limits connect, bind, sendto and sendmsg to calls whose
	// address is in one of these IPv4 or IPv6 CIDRs, e.g. "10.96.0.0/12" or
	// "fd00::/8": the peer connected or sent to, and for bind the local
	// address being bound (0.0.0.0 or :: for a wildcard bind).
	// +optional
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="peerCIDRs must hold valid CIDRs such as 10.0.0.0/8 or fd00::/8"
	// +listType=set
	PeerCIDRs []string `json:"peerCIDRs,omitempty"`
}
