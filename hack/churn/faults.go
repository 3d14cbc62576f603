package main

import (
	"fmt"
	"math/rand"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// ending is how a cycle's Fault ends.
type ending int

const (
	// deleteAtOnce deletes the Fault right after its create: the delete
	// lands while the agent attaches (or before it has started).
	deleteAtOnce ending = iota
	// deleteRunning deletes the Fault once it runs, before its deadline.
	deleteRunning
	// runOut lets the Fault reach its deadline (2-10 s), then deletes it.
	runOut
	numEndings
)

func (e ending) String() string {
	return [...]string{"deleted at once (mid-attach)", "deleted while running", "ran out (2-10 s)"}[e]
}

// networkActions are Drop and Corrupt actions the tcx backend runs on this
// kernel (as in experiments/ and test/e2e).
var networkActions = []func(r *rand.Rand) *chaosv1.NetworkAction{
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: chaosv1.NetworkActionType("Drop"), Direction: "Egress", Protocol: "TCP",
			DestinationPorts: []chaosv1.PortRange{{From: 8000}}}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Drop", Direction: "Both", Protocol: "UDP", Probability: "50"}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Drop", Direction: "Ingress", Protocol: "ICMP"}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Drop", Direction: "Both", Probability: "30"}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Drop", Direction: "Ingress", Protocol: "TCP",
			SourcePorts: []chaosv1.PortRange{{From: 7000}}}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Drop", Direction: "Egress", PeerCIDRs: []string{"10.244.0.0/24"}, Probability: "20"}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Corrupt", Direction: "Egress", Protocol: "UDP",
			DestinationPorts: []chaosv1.PortRange{{From: 7001}},
			Corrupt:          &chaosv1.CorruptSpec{Field: "UDPLength", Delta: ptr.To[int32](-8), Checksum: "Repair"}}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Corrupt", Direction: "Egress", Protocol: "TCP", Probability: "10",
			Corrupt: &chaosv1.CorruptSpec{Field: "TCPDataOffset", Value: ptr.To[int32](15)}}
	},
	func(r *rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Corrupt", Direction: "Ingress", Protocol: "TCP", Probability: "5",
			Corrupt: &chaosv1.CorruptSpec{Field: "Payload", Bytes: ptr.To(int32(1 + r.Intn(4)))}}
	},
	func(*rand.Rand) *chaosv1.NetworkAction {
		return &chaosv1.NetworkAction{Type: "Corrupt", Direction: "Both", Protocol: "UDP", Probability: "50",
			Corrupt: &chaosv1.CorruptSpec{Field: "IPv4TotalLength", Delta: ptr.To[int32](-4), Checksum: "Leave"}}
	},
}

// syscallActions use only syscalls the cgroup backend serves (the only one
// this kernel allows): connect, bind, sendto/sendmsg, socket, set/getsockopt.
var syscallActions = []func(r *rand.Rand) *chaosv1.SyscallAction{
	func(*rand.Rand) *chaosv1.SyscallAction {
		return &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ECONNREFUSED"}
	},
	func(*rand.Rand) *chaosv1.SyscallAction {
		return &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ETIMEDOUT", Probability: "50"}
	},
	func(*rand.Rand) *chaosv1.SyscallAction {
		return &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"sendto", "sendmsg"}, Errno: "EIO"}
	},
	func(*rand.Rand) *chaosv1.SyscallAction {
		return &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"socket"}, Errno: "EACCES", Probability: "25"}
	},
	func(*rand.Rand) *chaosv1.SyscallAction {
		return &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"bind"}, Errno: "EADDRINUSE"}
	},
	func(*rand.Rand) *chaosv1.SyscallAction {
		return &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"setsockopt", "getsockopt"}, Errno: "EINVAL"}
	},
	func(*rand.Rand) *chaosv1.SyscallAction {
		return &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect", "socket"}, Errno: "ENETUNREACH", Probability: "75"}
	},
}

// plan is one cycle's Fault and how it ends.
type plan struct {
	fault   *chaosv1.Fault
	end     ending
	kind    string        // "network" or "syscall"
	wait    time.Duration // deleteAtOnce: delay before the delete
	running time.Duration // deleteRunning: how long it runs before the delete
}

// newPlan draws cycle i's Fault: a random action, target choice and ending.
func newPlan(r *rand.Rand, ns string, i, pods int) plan {
	p := plan{end: ending(r.Intn(int(numEndings)))}
	f := &chaosv1.Fault{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("churn-%05d", i), Namespace: ns,
		Labels: map[string]string{"app.kubernetes.io/part-of": "temblor-churn"}}}
	switch r.Intn(4) {
	case 0: // one named victim
		f.Spec.Selector.MatchLabels = map[string]chaosv1.SelectorValue{victimLabel: chaosv1.SelectorValue(victimName(r.Intn(pods)))}
	case 1:
		f.Spec.Selector.MatchLabels = map[string]chaosv1.SelectorValue{"role": "victim"}
		f.Spec.Mode = "One"
	case 2:
		f.Spec.Selector.MatchLabels = map[string]chaosv1.SelectorValue{"role": "victim"}
		f.Spec.Mode = "Fixed"
		f.Spec.Count = ptr.To(int32(min(pods, 2+r.Intn(2))))
	default:
		a, b := r.Intn(pods), r.Intn(pods)
		f.Spec.Selector.MatchLabels = map[string]chaosv1.SelectorValue{"role": "victim"}
		f.Spec.Selector.PodNames = dedup(victimName(a), victimName(b))
	}
	if r.Intn(2) == 0 {
		p.kind = "network"
		f.Spec.Network = networkActions[r.Intn(len(networkActions))](r)
	} else {
		p.kind = "syscall"
		f.Spec.Syscall = syscallActions[r.Intn(len(syscallActions))](r)
	}
	switch p.end {
	case deleteAtOnce:
		f.Spec.Duration = metav1.Duration{Duration: 2 * time.Minute}
		p.wait = time.Duration(r.Intn(300)) * time.Millisecond
	case deleteRunning:
		f.Spec.Duration = metav1.Duration{Duration: 2 * time.Minute}
		p.running = time.Duration(500+r.Intn(2500)) * time.Millisecond
	case runOut:
		f.Spec.Duration = metav1.Duration{Duration: time.Duration(2+r.Intn(9)) * time.Second}
	}
	p.fault = f
	return p
}

func dedup(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}
