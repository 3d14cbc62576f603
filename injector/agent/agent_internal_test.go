package agent

import (
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/podresolve"
)

func TestSyscallScope(t *testing.T) {
	pod := &podresolve.Pod{
		UID: "u", NetNS: 11, CgroupV2Dir: "/cg/pod",
		Processes: []podresolve.Process{
			{PID: 1, ContainerID: "aaa", MntNS: 21, CgroupV2Dir: "/cg/pod/aaa"},
			{PID: 2, ContainerID: "bbb", MntNS: 22},
		},
	}
	s, err := syscallScope(pod, nil)
	if err != nil || len(s.CgroupPaths) != 1 || s.CgroupPaths[0] != "/cg/pod" {
		t.Errorf("whole pod: got %+v, %v", s, err)
	}
	s, err = syscallScope(pod, []string{"containerd://aaa", "cri-o://bbb"})
	if err != nil || len(s.CgroupPaths) != 1 || s.CgroupPaths[0] != "/cg/pod/aaa" || len(s.MntNSInodes) != 1 || s.MntNSInodes[0] != 22 {
		t.Errorf("containers: got %+v, %v", s, err)
	}
	if _, err := syscallScope(pod, []string{"containerd://ccc"}); err == nil {
		t.Errorf("a missing container was accepted")
	}
	crio := &podresolve.Pod{
		UID: "u", NetNS: 11, CgroupV2Dir: "/cg/pod", ConmonCgroupDirs: []string{"/cg/pod/crio-conmon-aaa.scope"},
		Processes: []podresolve.Process{
			{PID: 1, ContainerID: "aaa", CgroupV2Dir: "/cg/pod/crio-aaa.scope"},
			{PID: 2, ContainerID: "aaa", CgroupV2Dir: "/cg/pod/crio-aaa.scope"},
			{PID: 3, ContainerID: "bbb", CgroupV2Dir: "/cg/pod/crio-bbb.scope"},
		},
	}
	s, err = syscallScope(crio, nil)
	if err != nil || !slices.Equal(s.CgroupPaths, []string{"/cg/pod/crio-aaa.scope", "/cg/pod/crio-bbb.scope"}) {
		t.Errorf("CRI-O pod with conmon: got %+v, %v, want the containers' directories, not the pod's", s, err)
	}
	v1 := &podresolve.Pod{UID: "u", NetNS: 11}
	if s, err := syscallScope(v1, nil); err != nil || len(s.NetNSInodes) != 1 || s.NetNSInodes[0] != 11 {
		t.Errorf("cgroup v1 pod: got %+v, %v", s, err)
	}
	host := &podresolve.Pod{UID: "u", NetNS: 1, HostNetwork: true}
	if _, err := syscallScope(host, nil); err == nil {
		t.Errorf("a host-network pod without cgroup v2 was scoped to the whole node's netns")
	}
}

func TestPhase(t *testing.T) {
	ts := func(states ...chaosv1.TargetState) []*target {
		var out []*target
		for _, s := range states {
			out = append(out, &target{state: s})
		}
		return out
	}
	for _, tc := range []struct {
		f    *fault
		want chaosv1.InjectionPhase
	}{
		{&fault{targets: ts(chaosv1.TargetPending)}, chaosv1.InjectionPending},
		{&fault{injected: true, targets: ts(chaosv1.TargetInjected, chaosv1.TargetInjected)}, chaosv1.InjectionInjected},
		{&fault{injected: true, targets: ts(chaosv1.TargetInjected, chaosv1.TargetFailed)}, chaosv1.InjectionPartiallyInjected},
		{&fault{injected: true, targets: ts(chaosv1.TargetInjected, chaosv1.TargetGone)}, chaosv1.InjectionPartiallyInjected},
		{&fault{injected: true, targets: ts(chaosv1.TargetFailed, chaosv1.TargetGone)}, chaosv1.InjectionFailed},
		{&fault{injected: true, ended: endExpired, targets: ts(chaosv1.TargetRemoved)}, chaosv1.InjectionRemoved},
		{&fault{injected: true, ended: endWithdrawn, targets: ts(chaosv1.TargetRemoved)}, chaosv1.InjectionWithdrawn},
	} {
		if got := phase(tc.f); got != tc.want {
			t.Errorf("phase with ended %q and %d targets: got %s, want %s", tc.f.ended, len(tc.f.targets), got, tc.want)
		}
	}
}

func TestWithdrawnConditions(t *testing.T) {
	a := &Agent{APIServerGrace: 30 * time.Second}
	f := &fault{injected: true, ended: endWithdrawn, endedAt: time.Now(), targets: []*target{{spec: chaosv1.InjectionTarget{PodUID: "u"}, state: chaosv1.TargetRemoved}}}
	var st chaosv1.FaultInjectionStatus
	a.fillStatus(&st, f, 1)
	c := meta.FindStatusCondition(st.Conditions, chaosv1.ConditionAgentConnected)
	if st.Phase != chaosv1.InjectionWithdrawn || c == nil || c.Status != "False" || c.Reason != chaosv1.ReasonAPIServerUnreachable {
		t.Fatalf("first report: phase %s condition %+v", st.Phase, c)
	}
	a.advanceWithdrawReport(f)
	a.fillStatus(&st, f, 1)
	c = meta.FindStatusCondition(st.Conditions, chaosv1.ConditionAgentConnected)
	if c.Status != "True" || c.Reason != chaosv1.ReasonReconnected || !strings.Contains(c.Message, "stays withdrawn") {
		t.Fatalf("second report: condition %+v", c)
	}
}

func TestProbeInterval(t *testing.T) {
	for grace, want := range map[time.Duration]time.Duration{
		30 * time.Second: 5 * time.Second, 3 * time.Second: 500 * time.Millisecond, 500 * time.Millisecond: 200 * time.Millisecond,
	} {
		if got := probeInterval(grace); got != want {
			t.Errorf("probeInterval(%s) = %s, want %s", grace, got, want)
		}
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate(strings.Repeat("x", 2000), maxMessage); len(got) != maxMessage {
		t.Errorf("truncate: got %d bytes", len(got))
	}
}

// TestGoneNamespaces: a key whose namespace no process of the pod holds any
// more is stale (its inode may be reused by a new pod) and must be found.
func TestGoneNamespaces(t *testing.T) {
	pod := &podresolve.Pod{UID: "u", NetNS: 11, Processes: []podresolve.Process{
		{PID: 1, NetNS: 11, MntNS: 21}, {PID: 2, NetNS: 11, MntNS: 22},
	}}
	live := &target{nsKeys: []nsKey{{"net", 11}, {"mnt", 21}, {"mnt", 22}}}
	if got := goneNamespaces(live, pod); len(got) != 0 {
		t.Errorf("live keys reported gone: %v", got)
	}
	stale := &target{nsKeys: []nsKey{{"net", 12}, {"mnt", 21}, {"mnt", 23}}}
	got := goneNamespaces(stale, pod)
	if !slices.Equal(got, []nsKey{{"net", 12}, {"mnt", 23}}) {
		t.Errorf("stale keys: got %v, want net 12 and mnt 23", got)
	}
	// A mount namespace inode held as a network one is not a match.
	crossed := &target{nsKeys: []nsKey{{"net", 21}}}
	if got := goneNamespaces(crossed, pod); len(got) != 1 {
		t.Errorf("a key matched a namespace of another kind: %v", got)
	}
}
