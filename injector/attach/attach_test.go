package attach

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/netns"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// connectFrom runs a TCP connect to addr from a bash in the cgroup open as
// cgFD (-1: this process's own cgroup) and returns its stderr, "" on success.
func connectFrom(t *testing.T, cgFD int, addr string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command("bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%s", host, port))
	if cgFD >= 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: cgFD}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return strings.TrimSpace(string(out)) + " (" + err.Error() + ")"
	}
	return ""
}

// TestAttachSyscall converts an API syscall action and attaches it to a real
// cgroup: connect from the cgroup is refused and counted, connect from
// outside is not, and Close leaves no BPF object behind.
func TestAttachSyscall(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckOwn(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	cg := testutil.NewCgroup(t)
	cgFD := cg.Open(t)

	act, err := Convert(chaosv1.FaultAction{Syscall: &chaosv1.SyscallAction{Syscalls: []chaosv1.SyscallName{"connect"}, Errno: "ECONNREFUSED"}},
		Options{SyscallBackend: sysfault.Cgroup})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Attach(context.Background(), act, Target{Scope: sysfault.Scope{CgroupPaths: []string{cg.Path}}})
	if err != nil {
		testutil.SkipIfNotSupported(t, err)
	}
	want := []string{"connect cgroup connect4,connect6 (only AF_INET and AF_INET6 sockets)"}
	if got := a.Methods(); !slices.Equal(got, want) {
		t.Errorf("methods %q, want %q", got, want)
	}
	if out := connectFrom(t, cgFD, ln.Addr().String()); !strings.Contains(out, "Connection refused") {
		t.Errorf("connect in the target cgroup: %q, want Connection refused", out)
	}
	if out := connectFrom(t, -1, ln.Addr().String()); out != "" {
		t.Errorf("connect outside the target: %q, want success", out)
	}
	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c != (chaosv1.Counters{SyscallsMatched: 1, SyscallsFailed: 1}) {
		t.Errorf("counters %+v, want 1 matched and 1 failed syscall", c)
	}
	if FollowErr(a) != nil {
		t.Errorf("follow error %v", FollowErr(a))
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if out := connectFrom(t, cgFD, ln.Addr().String()); out != "" {
		t.Errorf("connect in the cgroup after close: %q, want success", out)
	}
}

// TestAttachNetwork converts an API network action and attaches it in a real
// namespace: UDP datagrams sent out of it are dropped and counted as API
// Counters, and the methods name the interface and hook.
func TestAttachNetwork(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	vp := testutil.NewVethPair(t)
	act, err := Convert(chaosv1.FaultAction{Network: &chaosv1.NetworkAction{
		Type: chaosv1.NetworkDrop, Direction: chaosv1.DirectionEgress, Protocol: chaosv1.ProtocolUDP,
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Attach(context.Background(), act, Target{NetNSPath: vp.A})
	if err != nil {
		testutil.SkipIfNotSupported(t, err)
	}
	defer a.Close()
	if m := a.Methods(); len(m) != 1 || !strings.HasPrefix(m[0], vp.Ifname+" egress ") {
		t.Errorf("methods %q, want one %q egress hook", m, vp.Ifname)
	}
	const n = 20
	err = netns.Do(vp.A, func() error {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(vp.B4, 9)))
		if err != nil {
			return err
		}
		defer c.Close()
		for range n {
			if _, err := c.Write([]byte("temblor")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	var c chaosv1.Counters
	for start := time.Now(); time.Since(start) < 5*time.Second; time.Sleep(10 * time.Millisecond) {
		if c, err = a.Counters(); err != nil {
			t.Fatal(err)
		}
		if c.PacketsDropped >= n {
			break
		}
	}
	if c != (chaosv1.Counters{PacketsMatched: n, PacketsDropped: n}) {
		t.Errorf("counters %+v, want %d matched and dropped packets", c, n)
	}
}
