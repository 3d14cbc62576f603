package v1alpha1_test

import (
	"testing"

	"k8s.io/utils/ptr"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// TestActionSummaryNamesFilters: the one-line summary (status, kubectl get,
// temblorctl) names the filters that narrow a fault, so that "connect
// refused on port 5432" never reads as "every connect refused".
func TestActionSummaryNamesFilters(t *testing.T) {
	for _, tc := range []struct {
		act  chaosv1.FaultAction
		want string
	}{
		{chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ECONNREFUSED", Probability: "100",
			Ports: []chaosv1.PortRange{{From: 5432}}, PeerCIDRs: []string{"10.0.0.0/8"}}},
			"syscall connect ECONNREFUSED 100% ports 5432 peers 10.0.0.0/8"},
		{chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"openat"}, Errno: "EIO", Probability: "5", PathPrefix: "/data/"}},
			"syscall openat EIO 5% path /data/*"},
		{chaosv1.FaultAction{Network: &chaosv1.NetworkAction{Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Protocol: chaosv1.ProtocolTCP, Probability: "30",
			Ports: []chaosv1.PortRange{{From: 8000, To: ptr.To[int32](8010)}, {From: 9000}}}},
			"drop egress TCP 30% ports 8000-8010,9000"},
		{chaosv1.FaultAction{Network: &chaosv1.NetworkAction{Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Protocol: chaosv1.ProtocolTCP, Probability: "30"}},
			"drop egress TCP 30%"},
	} {
		if got := tc.act.Summary(); got != tc.want {
			t.Errorf("summary %q, want %q", got, tc.want)
		}
	}
}
