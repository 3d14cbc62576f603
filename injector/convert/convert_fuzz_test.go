package convert

import (
	"encoding/binary"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// The CRD's patterns, copied from the kubebuilder markers in api/v1alpha1.
var (
	crdProbability = regexp.MustCompile(`^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$`)
	crdInterface   = regexp.MustCompile(`^[a-zA-Z0-9_.@-]+$`)
)

// crdSockSyscalls are the syscalls the CRD lets ports and peerCIDRs apply to.
var crdSockSyscalls = []string{"connect", "bind", "sendto", "sendmsg"}

// crdFileSyscalls are the syscalls the CRD lets pathPrefix apply to (its
// CEL list equals this, api/v1alpha1's TestCRDClosedLists).
var crdFileSyscalls = sysfault.PathFilterableSyscalls()

// crdNetworkRefusal is a model of the CRD's OpenAPI and CEL rules for a
// network action: the reason the API server would refuse a, or "".
func crdNetworkRefusal(a *chaosv1.NetworkAction) string {
	switch {
	case a.Type != chaosv1.NetworkDrop && a.Type != chaosv1.NetworkCorrupt:
		return "type"
	case !slices.Contains([]chaosv1.Direction{"", chaosv1.DirectionIngress, chaosv1.DirectionEgress, chaosv1.DirectionBoth}, a.Direction):
		return "direction"
	case a.Probability != "" && (len(a.Probability) > 6 || !crdProbability.MatchString(string(a.Probability))):
		return "probability"
	case a.Interface != "" && (len(a.Interface) > 15 || !crdInterface.MatchString(a.Interface)):
		return "interface"
	case !slices.Contains([]chaosv1.Protocol{"", chaosv1.ProtocolTCP, chaosv1.ProtocolUDP, chaosv1.ProtocolICMP}, a.Protocol):
		return "protocol"
	}
	for _, rs := range [][]chaosv1.PortRange{a.Ports, a.SourcePorts, a.DestinationPorts} {
		if len(rs) > 8 {
			return "too many port ranges"
		}
		for _, r := range rs {
			if r.From < 1 || r.From > 65535 || r.To != nil && (*r.To < 1 || *r.To > 65535 || *r.To < r.From) {
				return "port range"
			}
		}
	}
	if len(a.PeerCIDRs) > 32 {
		return "too many peer CIDRs"
	}
	for i, c := range a.PeerCIDRs {
		p, err := netip.ParsePrefix(c)
		if len(c) > 43 || err != nil || p.Addr().Is4In6() || slices.Contains(a.PeerCIDRs[:i], c) {
			return "peer CIDR"
		}
	}
	if (a.Type == chaosv1.NetworkCorrupt) != (a.Corrupt != nil) {
		return "corrupt with type"
	}
	if len(a.Ports)+len(a.SourcePorts)+len(a.DestinationPorts) > 0 && a.Protocol != chaosv1.ProtocolTCP && a.Protocol != chaosv1.ProtocolUDP {
		return "port filters need protocol TCP or UDP"
	}
	c := a.Corrupt
	if c == nil {
		return ""
	}
	switch {
	case !slices.Contains([]chaosv1.CorruptField{chaosv1.CorruptIPv4TotalLength, chaosv1.CorruptUDPLength, chaosv1.CorruptTCPDataOffset, chaosv1.CorruptPayload}, c.Field):
		return "corrupt field"
	case c.Delta != nil && (*c.Delta < -65535 || *c.Delta > 65535 || *c.Delta == 0):
		return "delta"
	case c.Value != nil && (*c.Value < 0 || *c.Value > 65535):
		return "value"
	case c.Bytes != nil && (*c.Bytes < 1 || *c.Bytes > 16):
		return "bytes"
	case !slices.Contains([]chaosv1.ChecksumPolicy{"", chaosv1.ChecksumRepair, chaosv1.ChecksumLeave}, c.Checksum):
		return "checksum"
	case c.Field == chaosv1.CorruptUDPLength && a.Protocol != chaosv1.ProtocolUDP:
		return "UDP length needs UDP"
	case c.Field == chaosv1.CorruptTCPDataOffset && a.Protocol != chaosv1.ProtocolTCP:
		return "TCP data offset needs TCP"
	case c.Field != chaosv1.CorruptPayload && (c.Delta != nil) == (c.Value != nil):
		return "exactly one of delta and value"
	case c.Field == chaosv1.CorruptPayload && (c.Delta != nil || c.Value != nil):
		return "delta or value with payload"
	case c.Field != chaosv1.CorruptPayload && c.Bytes != nil:
		return "bytes without payload"
	case c.Field == chaosv1.CorruptTCPDataOffset && (c.Value != nil && *c.Value > 15 || c.Delta != nil && (*c.Delta < -15 || *c.Delta > 15)):
		return "TCP data offset is 4 bits"
	}
	return ""
}

// crdSyscallRefusal is the same model for a syscall action.
func crdSyscallRefusal(a *chaosv1.SyscallAction) string {
	if len(a.Syscalls) < 1 || len(a.Syscalls) > 16 {
		return "number of syscalls"
	}
	for i, s := range a.Syscalls {
		if !slices.Contains(chaosv1.SyscallNames(), s) || slices.Contains(a.Syscalls[:i], s) {
			return "syscall"
		}
	}
	switch {
	case !slices.Contains(chaosv1.ErrnoNames(), a.Errno):
		return "errno"
	case a.Probability != "" && (len(a.Probability) > 6 || !crdProbability.MatchString(string(a.Probability))):
		return "probability"
	case a.PathPrefix != "" && (len(a.PathPrefix) > 255 || !strings.HasPrefix(a.PathPrefix, "/")):
		return "pathPrefix"
	}
	if a.PathPrefix != "" {
		for _, s := range a.Syscalls {
			if !slices.Contains(crdFileSyscalls, string(s)) {
				return "pathPrefix on a non-file syscall"
			}
		}
	}
	if len(a.Ports) > 8 {
		return "too many port ranges"
	}
	for _, r := range a.Ports {
		if r.From < 1 || r.From > 65535 || r.To != nil && (*r.To < 1 || *r.To > 65535 || *r.To < r.From) {
			return "port range"
		}
	}
	if len(a.PeerCIDRs) > 32 {
		return "too many peer CIDRs"
	}
	for i, c := range a.PeerCIDRs {
		p, err := netip.ParsePrefix(c)
		if len(c) > 43 || err != nil || p.Addr().Is4In6() || slices.Contains(a.PeerCIDRs[:i], c) {
			return "peer CIDR"
		}
	}
	if len(a.Ports) > 0 || len(a.PeerCIDRs) > 0 {
		for _, s := range a.Syscalls {
			if !slices.Contains(crdSockSyscalls, string(s)) {
				return "socket filters on a syscall without an address"
			}
		}
	}
	return ""
}

// portRanges reads port ranges from fuzz bytes, five bytes a range: which
// list, from, to; the flag byte also pushes ports out of range.
func portRanges(data []byte) (lists [3][]chaosv1.PortRange) {
	for len(data) >= 5 {
		flag := data[0]
		from := int32(binary.BigEndian.Uint16(data[1:3]))
		to := int32(binary.BigEndian.Uint16(data[3:5]))
		data = data[5:]
		if flag&0x10 != 0 {
			from += 65536
		}
		if flag&0x20 != 0 {
			from = -from
		}
		r := chaosv1.PortRange{From: from}
		if flag&0x40 != 0 {
			if flag&0x80 != 0 {
				to -= 70000
			}
			r.To = &to
		}
		i := int(flag&0x0f) % 3
		lists[i] = append(lists[i], r)
	}
	return lists
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// FuzzNetwork builds network actions from fuzz input, including ones the CRD
// refuses, and checks that Network never panics, refuses with a reason,
// accepts exactly what the CRD accepts (local mode has no API server to
// refuse the rest), and yields only configurations that are in range and
// pass network.Config.Validate.
func FuzzNetwork(f *testing.F) {
	f.Add("Drop", "", "", "", "UDP", []byte{0, 0, 53, 0, 0}, "10.96.0.1/12,fd00::/8", "", int32(0), int32(0), int32(0), uint8(0), "")
	f.Add("Corrupt", "Egress", "12.5", "eth0", "UDP", []byte{2, 0, 80, 0, 90, 0x41, 0, 80, 0, 90}, "", "UDPLength", int32(-4), int32(0), int32(0), uint8(3), "Leave")
	f.Add("Corrupt", "Ingress", "0.05", "", "TCP", []byte{}, "", "TCPDataOffset", int32(0), int32(15), int32(0), uint8(5), "Repair")
	f.Add("Corrupt", "Both", "100", "net1", "", []byte{}, "", "Payload", int32(0), int32(0), int32(16), uint8(9), "")
	f.Add("Corrupt", "", "100.00", "", "", []byte{}, "192.168.0.0/16", "IPv4TotalLength", int32(0), int32(20), int32(0), uint8(5), "")
	f.Add("Drop", "Sideways", "150", "this-name-is-too-long", "SCTP", []byte{0x70, 0, 0, 0, 0}, "::ffff:10.0.0.0/104,database,10.0.0.0/33", "", int32(0), int32(0), int32(0), uint8(1), "Maybe")
	f.Add("Corrupt", "", "5.", "", "ICMP", []byte{}, "", "", int32(0), int32(0), int32(0), uint8(0), "")
	f.Fuzz(func(t *testing.T, typ, dir, prob, iface, proto string, ports []byte, cidrs, field string, delta, value, nbytes int32, set uint8, checksum string) {
		lists := portRanges(ports)
		a := &chaosv1.NetworkAction{
			Type: chaosv1.NetworkActionType(typ), Direction: chaosv1.Direction(dir), Probability: chaosv1.Probability(prob),
			Interface: iface, Protocol: chaosv1.Protocol(proto),
			Ports: lists[0], SourcePorts: lists[1], DestinationPorts: lists[2], PeerCIDRs: splitList(cidrs),
		}
		if set&1 != 0 {
			a.Corrupt = &chaosv1.CorruptSpec{Field: chaosv1.CorruptField(field), Checksum: chaosv1.ChecksumPolicy(checksum)}
			if set&2 != 0 {
				a.Corrupt.Delta = &delta
			}
			if set&4 != 0 {
				a.Corrupt.Value = &value
			}
			if set&8 != 0 {
				a.Corrupt.Bytes = &nbytes
			}
		}
		refusal := crdNetworkRefusal(a)
		cfg, err := Network(a)
		if err != nil {
			reason, _ := strings.CutPrefix(err.Error(), "convert network action: ")
			if strings.TrimSpace(reason) == "" {
				t.Fatalf("%+v: refused without a reason: %q", a, err)
			}
			if refusal == "" {
				t.Fatalf("%+v: the CRD accepts it, Network refuses: %v", a, err)
			}
			return
		}
		if refusal != "" {
			t.Fatalf("%+v: the CRD refuses it (%s), Network accepts it: %+v", a, refusal, cfg)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%+v: accepted config does not validate: %v", a, err)
		}
		if cfg.ProbabilityBasisPoints > network.ProbabilityOne {
			t.Fatalf("%+v: probability %d basis points", a, cfg.ProbabilityBasisPoints)
		}
		for _, rs := range [][]network.PortRange{cfg.Ports, cfg.SourcePorts, cfg.DestinationPorts} {
			for _, r := range rs {
				if r.From < 1 || r.From > r.To {
					t.Fatalf("%+v: port range %d-%d", a, r.From, r.To)
				}
			}
		}
		if len(cfg.Ports) != len(a.Ports) || len(cfg.SourcePorts) != len(a.SourcePorts) || len(cfg.DestinationPorts) != len(a.DestinationPorts) || len(cfg.PeerCIDRs) != len(a.PeerCIDRs) {
			t.Fatalf("%+v: filters lost in conversion: %+v", a, cfg)
		}
		for _, p := range cfg.PeerCIDRs {
			if p != p.Masked() {
				t.Fatalf("%+v: peer prefix %v not masked", a, p)
			}
		}
		if (cfg.Action == network.ActionCorrupt) != (a.Type == chaosv1.NetworkCorrupt) {
			t.Fatalf("%+v: action %v", a, cfg.Action)
		}
	})
}

// FuzzSyscall does the same for syscall actions and backend names.
func FuzzSyscall(f *testing.F) {
	f.Add("connect,openat", "ECONNREFUSED", "30.5", "", "cgroup", []byte{}, "")
	f.Add("openat,read,write", "EIO", "0.05", "/data/", "", []byte{}, "")
	f.Add("read", "ENOSPC", "100", "/", "auto", []byte{}, "")
	f.Add("", "EIO", "", "", "lsm", []byte{}, "")
	f.Add("read,read", "EWHAT", "101", "data/", "ptrace", []byte{}, "")
	f.Add("connect", "EIO", "", "/data", "kprobe-override", []byte{}, "")
	f.Add("accept,accept4,bind,clone,clone3,connect,creat,execve,fdatasync,fork,fsync,ftruncate,getsockopt,listen,mkdir,mkdirat,mmap", "EPERM", "7", "", "fmod_ret", []byte{}, "")
	f.Add("connect,sendto", "ECONNREFUSED", "", "", "", []byte{0, 0x15, 0x38, 0, 0, 0x41, 0, 80, 0, 90}, "10.96.0.1/12,fd00::/8")
	f.Add("bind,sendmsg", "EADDRINUSE", "", "", "cgroup", []byte{}, "127.0.0.1/32")
	f.Add("connect,openat", "EIO", "", "", "", []byte{0, 0, 53, 0, 0}, "")
	f.Add("socket", "EIO", "", "", "", []byte{}, "::ffff:10.0.0.0/104,database,10.0.0.0/33")
	f.Add("connect", "EIO", "", "", "", []byte{0x70, 0, 0, 0, 0, 0xc1, 0, 9, 0, 1}, "10.0.0.0/8,10.0.0.0/8")
	f.Fuzz(func(t *testing.T, syscalls, errno, prob, prefix, backendName string, ports []byte, cidrs string) {
		lists := portRanges(ports)
		a := &chaosv1.SyscallAction{Errno: chaosv1.ErrnoName(errno), Probability: chaosv1.Probability(prob), PathPrefix: prefix,
			Ports: append(append(lists[0], lists[1]...), lists[2]...), PeerCIDRs: splitList(cidrs)}
		for _, s := range splitList(syscalls) {
			a.Syscalls = append(a.Syscalls, chaosv1.SyscallName(s))
		}
		backend, berr := ParseBackend(backendName)
		if berr != nil && !strings.Contains(berr.Error(), "unknown syscall backend") {
			t.Fatalf("ParseBackend(%q): refused without a reason: %v", backendName, berr)
		}
		refusal := crdSyscallRefusal(a)
		cfg, err := Syscall(a, backend)
		if err != nil {
			reason, _ := strings.CutPrefix(err.Error(), "convert syscall action: ")
			if strings.TrimSpace(reason) == "" {
				t.Fatalf("%+v: refused without a reason: %q", a, err)
			}
			if refusal == "" {
				t.Fatalf("%+v: the CRD accepts it, Syscall refuses: %v", a, err)
			}
			return
		}
		if refusal != "" {
			t.Fatalf("%+v: the CRD refuses it (%s), Syscall accepts it: %+v", a, refusal, cfg)
		}
		if cfg.ProbabilityBasisPoints > 10000 {
			t.Fatalf("%+v: probability %d basis points", a, cfg.ProbabilityBasisPoints)
		}
		if len(cfg.Syscalls) == 0 || len(cfg.Syscalls) != len(a.Syscalls) {
			t.Fatalf("%+v: syscalls %v", a, cfg.Syscalls)
		}
		for i, s := range cfg.Syscalls {
			if _, ok := sysfault.Lookup(s); !ok || slices.Contains(cfg.Syscalls[:i], s) {
				t.Fatalf("%+v: syscall %q unknown or twice", a, s)
			}
		}
		if _, ok := sysfault.Errno(cfg.Errno); !ok {
			t.Fatalf("%+v: errno %q", a, cfg.Errno)
		}
		if len(cfg.PathPrefix) > sysfault.MaxPathPrefix || cfg.Backend != backend {
			t.Fatalf("%+v: path prefix %q, backend %q", a, cfg.PathPrefix, cfg.Backend)
		}
		if len(cfg.Ports) != len(a.Ports) || len(cfg.PeerCIDRs) != len(a.PeerCIDRs) {
			t.Fatalf("%+v: socket filters lost in conversion: %+v", a, cfg)
		}
		for _, r := range cfg.Ports {
			if r.From < 1 || r.From > r.To {
				t.Fatalf("%+v: port range %d-%d", a, r.From, r.To)
			}
		}
		for _, p := range cfg.PeerCIDRs {
			if p != p.Masked() || p.Addr().Is4In6() {
				t.Fatalf("%+v: peer prefix %v not masked or IPv4-mapped", a, p)
			}
		}
		// What the CRD accepts, the agent takes: only the kernel may still
		// refuse it (ErrUnsupported, from Plan).
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%+v: accepted by the CRD, refused by the agent as invalid: %v", a, err)
		}
	})
}

// FuzzBasisPoints checks BasisPoints against the CRD's pattern for
// probabilities: it accepts exactly the strings the CRD accepts (and "",
// the default), and a string it accepts converts to the basis points of its
// decimal value.
func FuzzBasisPoints(f *testing.F) {
	for _, s := range []string{"", "100", "100.00", "100.0", "30.5", "30.55", "0.05", "0", "7", "99.99", "100.01", "101", "1.234", "abc", ".5", "-1", "5.", "007", "+5", "1e2", "0x10", "1_0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bp, err := BasisPoints(chaosv1.Probability(s))
		crd := s == "" || len(s) <= 6 && crdProbability.MatchString(s)
		if (err == nil) != crd {
			t.Fatalf("BasisPoints(%q) = %d, %v; the CRD accepts it: %v", s, bp, err, crd)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "probability") {
				t.Fatalf("BasisPoints(%q): error without the field: %v", s, err)
			}
			return
		}
		if bp > 10000 {
			t.Fatalf("BasisPoints(%q) = %d, above 10000", s, bp)
		}
		if s == "" {
			return
		}
		whole, frac, _ := strings.Cut(s, ".")
		frac = (frac + "00")[:2]
		want := uint32(0)
		for _, c := range whole + frac {
			want = want*10 + uint32(c-'0')
		}
		if bp != want {
			t.Fatalf("BasisPoints(%q) = %d, want %d", s, bp, want)
		}
	})
}
