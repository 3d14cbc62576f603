package convert

import (
	"net/netip"
	"testing"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

func TestBasisPoints(t *testing.T) {
	for in, want := range map[chaosv1.Probability]uint32{
		"": 10000, "100": 10000, "100.00": 10000, "30.5": 3050, "30.55": 3055, "0.05": 5, "0": 0, "7": 700, "99.99": 9999,
	} {
		got, err := BasisPoints(in)
		if err != nil || got != want {
			t.Errorf("BasisPoints(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []chaosv1.Probability{"100.01", "101", "1.234", "abc", ".5", "-1"} {
		if got, err := BasisPoints(bad); err == nil {
			t.Errorf("BasisPoints(%q) = %d, want an error", bad, got)
		}
	}
}

func TestNetwork(t *testing.T) {
	to := int32(90)
	delta := int32(-4)
	cfg, err := Network(&chaosv1.NetworkAction{
		Type:             chaosv1.NetworkCorrupt,
		Direction:        chaosv1.DirectionEgress,
		Probability:      "12.5",
		Protocol:         chaosv1.ProtocolUDP,
		Ports:            []chaosv1.PortRange{{From: 53}},
		DestinationPorts: []chaosv1.PortRange{{From: 80, To: &to}},
		PeerCIDRs:        []string{"10.96.0.1/12", "fd00::/8"},
		Corrupt:          &chaosv1.CorruptSpec{Field: chaosv1.CorruptUDPLength, Delta: &delta, Checksum: chaosv1.ChecksumLeave},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Action != network.ActionCorrupt || cfg.Direction != network.Egress || cfg.ProbabilityBasisPoints != 1250 || cfg.Protocol != network.ProtocolUDP {
		t.Errorf("got %+v", cfg)
	}
	if cfg.Ports[0] != (network.PortRange{From: 53, To: 53}) || cfg.DestinationPorts[0] != (network.PortRange{From: 80, To: 90}) {
		t.Errorf("ports: got %+v %+v", cfg.Ports, cfg.DestinationPorts)
	}
	if cfg.PeerCIDRs[0] != netip.MustParsePrefix("10.96.0.0/12") || cfg.PeerCIDRs[1] != netip.MustParsePrefix("fd00::/8") {
		t.Errorf("CIDRs: got %v", cfg.PeerCIDRs)
	}
	if cfg.Corrupt.Field != network.FieldUDPLength || *cfg.Corrupt.Delta != -4 || cfg.Corrupt.RepairChecksum {
		t.Errorf("corrupt: got %+v", cfg.Corrupt)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("converted config does not validate: %v", err)
	}

	drop, err := Network(&chaosv1.NetworkAction{Type: chaosv1.NetworkDrop})
	if err != nil || drop.Direction != network.Both || drop.ProbabilityBasisPoints != 10000 || drop.Protocol != network.ProtocolAny {
		t.Errorf("defaults: got %+v, %v", drop, err)
	}
	if _, err := Network(&chaosv1.NetworkAction{Type: chaosv1.NetworkDrop, PeerCIDRs: []string{"nope"}}); err == nil {
		t.Errorf("bad CIDR accepted")
	}
	high, low := int32(70000), int32(10)
	for _, bad := range [][]chaosv1.PortRange{{{From: 0}}, {{From: 70000}}, {{From: 80, To: &high}}, {{From: 80, To: &low}}} {
		if _, err := Network(&chaosv1.NetworkAction{Type: chaosv1.NetworkDrop, Protocol: chaosv1.ProtocolTCP, SourcePorts: bad}); err == nil {
			t.Errorf("port range %+v accepted", bad)
		}
	}
	for name, want := range map[string]network.Method{"": network.MethodAuto, "auto": network.MethodAuto, "tcx": network.MethodTCX, "netlink-tc": network.MethodNetlinkTC} {
		if got, err := ParseNetworkMethod(name); err != nil || got != want {
			t.Errorf("ParseNetworkMethod(%q) = %v, %v", name, got, err)
		}
	}
	if _, err := ParseNetworkMethod("iptables"); err == nil {
		t.Errorf("ParseNetworkMethod accepted iptables")
	}
}

func TestSyscall(t *testing.T) {
	cfg, err := Syscall(&chaosv1.SyscallAction{
		Syscalls: []chaosv1.SyscallName{"read", "openat"}, Errno: "ECONNREFUSED", Probability: "30.5", PathPrefix: "/data/",
	}, sysfault.Cgroup)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ProbabilityBasisPoints != 3050 || cfg.Errno != "ECONNREFUSED" || len(cfg.Syscalls) != 2 || cfg.Backend != sysfault.Cgroup || cfg.PathPrefix != "/data/" {
		t.Errorf("got %+v", cfg)
	}
	if _, err := Syscall(&chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "EWHAT"}, sysfault.Auto); err == nil {
		t.Errorf("unknown errno accepted")
	}
	for _, name := range []string{"", "auto", "cgroup", "lsm", "fmod_ret", "kprobe-override"} {
		if _, err := ParseBackend(name); err != nil {
			t.Errorf("ParseBackend(%q): %v", name, err)
		}
	}
	if _, err := ParseBackend("ptrace"); err == nil {
		t.Errorf("ParseBackend accepted ptrace")
	}
}

func TestSyscallSockFilters(t *testing.T) {
	to := int32(5433)
	cfg, err := Syscall(&chaosv1.SyscallAction{
		Syscalls: []chaosv1.SyscallName{"connect", "sendto"}, Errno: "ECONNREFUSED",
		Ports:     []chaosv1.PortRange{{From: 5432, To: &to}, {From: 53}},
		PeerCIDRs: []string{"10.96.0.1/12", "fd00::/8"},
	}, sysfault.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Ports) != 2 || cfg.Ports[0] != (sysfault.PortRange{From: 5432, To: 5433}) || cfg.Ports[1] != (sysfault.PortRange{From: 53, To: 53}) {
		t.Errorf("ports: got %+v", cfg.Ports)
	}
	if len(cfg.PeerCIDRs) != 2 || cfg.PeerCIDRs[0] != netip.MustParsePrefix("10.96.0.0/12") || cfg.PeerCIDRs[1] != netip.MustParsePrefix("fd00::/8") {
		t.Errorf("CIDRs: got %v", cfg.PeerCIDRs)
	}
	high := int32(70000)
	for name, a := range map[string]*chaosv1.SyscallAction{
		"ports on openat":   {Syscalls: []chaosv1.SyscallName{"connect", "openat"}, Errno: "EIO", Ports: []chaosv1.PortRange{{From: 1}}},
		"peers on socket":   {Syscalls: []chaosv1.SyscallName{"socket"}, Errno: "EIO", PeerCIDRs: []string{"10.0.0.0/8"}},
		"bad CIDR":          {Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "EIO", PeerCIDRs: []string{"database"}},
		"4in6 CIDR":         {Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "EIO", PeerCIDRs: []string{"::ffff:10.0.0.0/104"}},
		"duplicate CIDR":    {Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "EIO", PeerCIDRs: []string{"10.0.0.0/8", "10.0.0.0/8"}},
		"port out of range": {Syscalls: []chaosv1.SyscallName{"bind"}, Errno: "EIO", Ports: []chaosv1.PortRange{{From: 80, To: &high}}},
		"port 0":            {Syscalls: []chaosv1.SyscallName{"bind"}, Errno: "EIO", Ports: []chaosv1.PortRange{{From: 0}}},
	} {
		if cfg, err := Syscall(a, sysfault.Auto); err == nil {
			t.Errorf("%s: accepted as %+v", name, cfg)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
