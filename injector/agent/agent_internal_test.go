package agent

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/attach"
	"github.com/temblor-dev/temblor/injector/network"
	"github.com/temblor-dev/temblor/injector/podresolve"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
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

// TestPlacementFollowsRestarts: a recreated sandbox (new network
// namespace) or a restarted container (new mount namespace, where there is
// no cgroup v2) changes a target's placement, so that it is attached again
// and the keys of the gone namespaces, whose inodes may be reused by a new
// pod, are released with the old attachment.
func TestPlacementFollowsRestarts(t *testing.T) {
	a := &Agent{}
	net := attach.Action{Network: &network.Config{}}
	sys := attach.Action{Syscall: &sysfault.Config{}}
	before := &podresolve.Pod{UID: "u", NetNS: 11, Processes: []podresolve.Process{
		{PID: 1, NetNS: 11, MntNS: 21, ContainerID: "aaaaaaaaaaaa"}, {PID: 2, NetNS: 11, MntNS: 22, ContainerID: "bbbbbbbbbbbb"},
	}}
	after := &podresolve.Pod{UID: "u", NetNS: 12, Processes: []podresolve.Process{
		{PID: 3, NetNS: 12, MntNS: 23, ContainerID: "aaaaaaaaaaaa"}, {PID: 4, NetNS: 12, MntNS: 22, ContainerID: "bbbbbbbbbbbb"},
	}}
	tgt := &target{spec: chaosv1.InjectionTarget{PodUID: "u", ContainerIDs: []string{"containerd://aaaaaaaaaaaa"}}}
	a.learnContainers(context.Background(), tgt)
	for _, act := range []attach.Action{net, sys} {
		p1, _, err1 := a.placement(context.Background(), tgt, before, act)
		p2, _, err2 := a.placement(context.Background(), tgt, after, act)
		if err1 != nil || err2 != nil {
			t.Fatalf("placement: %v, %v", err1, err2)
		}
		if p1 == p2 {
			t.Errorf("placement %q unchanged across a restart", p1)
		}
		if p1again, _, _ := a.placement(context.Background(), tgt, before, act); p1again != p1 {
			t.Errorf("placement not stable: %q then %q", p1, p1again)
		}
	}
	// The container-scoped target keys only its own container's namespace.
	if p, _, _ := a.placement(context.Background(), tgt, after, sys); p != "mnt:23" {
		t.Errorf("container-scoped placement %q, want mnt:23", p)
	}
	// A container gone without a runtime to name its successor is reported,
	// never widened to the pod.
	gone := &podresolve.Pod{UID: "u", NetNS: 12, Processes: []podresolve.Process{{PID: 4, NetNS: 12, MntNS: 22, ContainerID: "cccccccccccc"}}}
	if _, _, err := a.placement(context.Background(), tgt, gone, sys); err == nil || errors.Is(err, errWaitRestart) || !strings.Contains(err.Error(), "cannot tell") {
		t.Errorf("placement of a restarted, unnamed container: %v, want a refusal saying it cannot tell", err)
	}
}

// flakyAttached fails its first fails Closes, like the injectors' Close it
// does nothing more once it reported a failure.
type flakyAttached struct{ fails, calls int }

func (f *flakyAttached) Methods() []string                   { return []string{"eth0 egress netlink-tc"} }
func (f *flakyAttached) Counters() (chaosv1.Counters, error) { return chaosv1.Counters{}, nil }
func (f *flakyAttached) Close() error {
	f.calls++
	if f.calls <= f.fails {
		return errors.New("delete tc filter: device or resource busy")
	}
	return nil
}

// TestTeardownRetrySweepsLegacy: after a failed Close the attachment is
// kept, and the retry, beside Close, sweeps the held namespace: the
// injectors' second Close does not retry what the first failed to remove.
func TestTeardownRetrySweepsLegacy(t *testing.T) {
	ns, err := os.Open("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	var swept []string
	a := &Agent{CleanupLegacy: func(_ context.Context, p string) error { swept = append(swept, p); return nil }}
	att := &flakyAttached{fails: 1}
	tg := &target{att: att, state: chaosv1.TargetInjected, netns: &heldNetNS{f: ns, inode: 1}}
	f := &fault{targets: []*target{tg}}
	path := tg.netns.path()

	a.teardown(context.Background(), f, endDeleted)
	if f.teardownErr == nil || tg.att == nil || len(swept) != 0 || tg.state != chaosv1.TargetInjected {
		t.Fatalf("first teardown: err %v, attachment kept %v, swept %v, state %s", f.teardownErr, tg.att != nil, swept, tg.state)
	}
	var st chaosv1.FaultInjectionStatus
	a.fillStatus(&st, f, 1)
	if c := meta.FindStatusCondition(st.Conditions, ConditionTornDown); c == nil || c.Reason != ReasonTeardownFailed {
		t.Errorf("condition after a failed teardown: %+v", c)
	}

	a.teardown(context.Background(), f, endDeleted)
	if f.teardownErr != nil || tg.att != nil || !slices.Equal(swept, []string{path}) || tg.netns != nil || tg.state != chaosv1.TargetRemoved {
		t.Fatalf("retry: err %v, attachment kept %v, swept %v (want %s), netns held %v, state %s", f.teardownErr, tg.att != nil, swept, path, tg.netns != nil, tg.state)
	}
	st = chaosv1.FaultInjectionStatus{}
	a.fillStatus(&st, f, 1)
	if c := meta.FindStatusCondition(st.Conditions, ConditionTornDown); c == nil || c.Status != "True" {
		t.Errorf("condition after the retry: %+v", c)
	}
}

// TestRefreshEvery: many faults stretch the counter refresh to stay within
// the status write budget; few keep the configured interval.
func TestRefreshEvery(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{{0, 5 * time.Second}, {1, 5 * time.Second}, {25, 5 * time.Second}, {100, 20 * time.Second}, {1000, 200 * time.Second}} {
		if got := refreshEvery(5*time.Second, 5, tc.n); got != tc.want {
			t.Errorf("refreshEvery(5s, 5/s, %d) = %s, want %s", tc.n, got, tc.want)
		}
	}
	if got := refreshEvery(5*time.Second, 0, 100); got != 5*time.Second {
		t.Errorf("no budget: %s, want the interval", got)
	}
}

// TestPollFastIsBounded: a target waiting for its pod's restart is polled
// fast only for fastPollFor, so a pod that stays without processes does not
// cost a /proc scan every 100 ms until the deadline.
func TestPollFastIsBounded(t *testing.T) {
	tgt := &target{}
	if !tgt.pollFast() {
		t.Fatal("first wait not polled fast")
	}
	tgt.waitStart = time.Now().Add(-fastPollFor - time.Millisecond)
	if tgt.pollFast() {
		t.Error("still polled fast after fastPollFor")
	}
}
