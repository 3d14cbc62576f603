package attach

import (
	"strings"
	"testing"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/network"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
)

// TestConvert: exactly one action converts, with the node's options applied;
// anything else is refused with the reason.
func TestConvert(t *testing.T) {
	netAct := &chaosv1.NetworkAction{Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Probability: "25"}
	sysAct := &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ECONNREFUSED"}
	opts := Options{NetworkMethod: network.MethodNetlinkTC, SyscallBackend: sysfault.Cgroup}

	act, err := Convert(chaosv1.FaultAction{Network: netAct}, opts)
	if err != nil || act.Network == nil || act.Syscall != nil || act.Kind() != "network" {
		t.Fatalf("network: %+v, %v", act, err)
	}
	if act.Network.Method != network.MethodNetlinkTC || act.Network.ProbabilityBasisPoints != 2500 {
		t.Errorf("network: method %v, probability %d bp, want netlink-tc and 2500", act.Network.Method, act.Network.ProbabilityBasisPoints)
	}

	act, err = Convert(chaosv1.FaultAction{Syscall: sysAct}, opts)
	if err != nil || act.Syscall == nil || act.Network != nil || act.Kind() != "syscall" {
		t.Fatalf("syscall: %+v, %v", act, err)
	}
	if act.Syscall.Backend != sysfault.Cgroup {
		t.Errorf("syscall backend %v, want cgroup", act.Syscall.Backend)
	}

	for _, tc := range []struct {
		name string
		fa   chaosv1.FaultAction
		want string
	}{
		{"both", chaosv1.FaultAction{Network: netAct, Syscall: sysAct}, "both network and syscall"},
		{"neither", chaosv1.FaultAction{}, "neither network nor syscall"},
		{"bad errno", chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ENOTANERRNO"}}, "convert syscall action"},
		{"bad probability", chaosv1.FaultAction{Network: &chaosv1.NetworkAction{Type: chaosv1.NetworkDrop, Probability: "101"}}, "convert network action"},
	} {
		if _, err := Convert(tc.fa, opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
