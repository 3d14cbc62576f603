package network

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/bpf"
	"github.com/temblor-dev/temblor/internal/testutil"
)

func flows(t *testing.T, p *testutil.VethPair) bool {
	t.Helper()
	return len(udpExchange(t, p.A, p.B, p.B4, []byte("a->b"))) > 0 &&
		len(udpExchange(t, p.B, p.A, p.A6, []byte("b->a"))) > 0
}

func blocked(t *testing.T, p *testutil.VethPair) bool {
	t.Helper()
	return len(udpExchange(t, p.A, p.B, p.B4, []byte("a->b"))) == 0 &&
		len(udpExchange(t, p.B, p.A, p.A6, []byte("b->a"))) == 0
}

// TestCloseRestoresState attaches and closes with each method and checks
// that the interface's qdiscs, filters and XDP state are exactly as before,
// that nothing of Temblor's stays loaded, and that traffic flows again.
func TestCloseRestoresState(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, p *testutil.VethPair)
		cfg   Config
	}{
		{"tcx+xdp", nil, Config{Method: MethodTCX, XDP: XDPAuto}},
		{"netlink-tc-creates-clsact", nil, Config{Method: MethodNetlinkTC, XDP: XDPDisabled}},
		{"netlink-tc-foreign-clsact", func(t *testing.T, p *testutil.VethPair) {
			testutil.Run(t, "tc", "-n", p.NameA, "qdisc", "add", "dev", "eth0", "clsact")
			testutil.Run(t, "tc", "-n", p.NameA, "filter", "add", "dev", "eth0", "egress", "prio", "1", "protocol", "all", "u32", "match", "u32", "0", "0")
		}, Config{Method: MethodNetlinkTC, XDP: XDPDisabled}},
		{"netlink-tc-foreign-empty-clsact", func(t *testing.T, p *testutil.VethPair) {
			testutil.Run(t, "tc", "-n", p.NameA, "qdisc", "add", "dev", "eth0", "clsact")
		}, Config{Method: MethodNetlinkTC, XDP: XDPDisabled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.Method == MethodTCX {
				requireTCX(t)
			}
			p := testutil.NewVethPair(t)
			if tc.setup != nil {
				tc.setup(t, p)
			}
			before := netState(t, p.A, "eth0")
			cfg := tc.cfg
			cfg.Action, cfg.Direction, cfg.ProbabilityBasisPoints = ActionDrop, Both, ProbabilityOne
			a, err := Attach(context.Background(), p.A, cfg)
			if err != nil {
				t.Fatalf("%+v", err)
			}
			t.Logf("attached: %v", a.Describe())
			t.Logf("during:\n%s", netState(t, p.A, "eth0"))
			if !blocked(t, p) {
				t.Error("traffic not blocked while attached")
			}
			if err := a.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			if err := a.Close(); err != nil {
				t.Errorf("second close: %v", err)
			}
			if left := testutil.WaitNoTemblorBPF(t, testutil.ReleaseGrace); len(left) > 0 {
				t.Errorf("left loaded after Close: %v", left)
			}
			requireSameState(t, before, netState(t, p.A, "eth0"))
			if !flows(t, p) {
				t.Error("traffic blocked after Close")
			}
		})
	}
}

// TestAttachUnwindsOnError makes the second of two attachments fail (an
// ingress qdisc leaves no room for clsact) and checks that the first one was
// removed again.
func TestAttachUnwindsOnError(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	p := testutil.NewVethPair(t)
	testutil.Run(t, "tc", "-n", p.NameA, "qdisc", "add", "dev", "eth0", "ingress")
	before := netState(t, p.A, "eth0")
	_, err := Attach(context.Background(), p.A, Config{
		Action: ActionDrop, Direction: Both, ProbabilityBasisPoints: ProbabilityOne,
		Method: MethodNetlinkTC, XDP: XDPGeneric,
	})
	if err == nil {
		t.Fatal("attach succeeded next to an ingress qdisc")
	}
	t.Logf("attach error: %v", err)
	if !strings.Contains(err.Error(), "attach netlink-tc egress on eth0") {
		t.Errorf("error lacks context: %v", err)
	}
	if left := testutil.WaitNoTemblorBPF(t, testutil.ReleaseGrace); len(left) > 0 {
		t.Errorf("left loaded after failed Attach: %v", left)
	}
	requireSameState(t, before, netState(t, p.A, "eth0"))
}

// TestSIGKILL attaches from a helper process, kills it with SIGKILL and
// checks what the kernel cleaned up: everything for tcx and XDP links; for
// netlink tc the filters and their stubs stay (no link semantics) until
// CleanupLegacy, but the fault ends with the process all the same: the
// kernel empties a prog array when its last descriptor closes, so the
// stubs' tail calls fail and every packet passes.
func TestSIGKILL(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheckEventually(t)
	for _, method := range []string{"tcx", "netlink-tc"} {
		t.Run(method, func(t *testing.T) {
			if method == "tcx" {
				requireTCX(t)
			}
			p := testutil.NewVethPair(t)
			before := netState(t, p.A, "eth0")
			logBPF(t, "before")

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), helperNSEnv+"="+p.A, helperMethodEnv+"="+method)
			cmd.Stderr = os.Stderr
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			ready := make(chan string, 1)
			go func() {
				line, _ := bufio.NewReader(stdout).ReadString('\n')
				ready <- line
			}()
			select {
			case line := <-ready:
				if !strings.HasPrefix(line, "READY") {
					t.Fatalf("helper said %q", line)
				}
				t.Logf("helper %d: %s", cmd.Process.Pid, strings.TrimSpace(line))
			case <-time.After(30 * time.Second):
				t.Fatal("helper not ready")
			}
			if len(logBPF(t, "while the helper runs")) == 0 {
				t.Fatal("no Temblor BPF object while the helper runs")
			}
			if !blocked(t, p) {
				t.Fatal("traffic not blocked by the helper")
			}

			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()

			if method == "netlink-tc" {
				if !eventuallyFlows(t, p) {
					t.Error("traffic still blocked after SIGKILL: the stubs' prog array should be empty")
				}
				if !hasStub(logBPF(t, "after SIGKILL, before CleanupLegacy")) {
					t.Error("legacy filters vanished with the process: expected them (and their stubs) to stay")
				}
				if err := CleanupLegacy(context.Background(), p.A); err != nil {
					t.Fatalf("cleanup: %v", err)
				}
			}
			left := testutil.WaitNoTemblorBPF(t, testutil.ReleaseGrace)
			t.Logf("Temblor BPF objects after: %v", left)
			if len(left) > 0 {
				t.Errorf("left loaded: %v", left)
			}
			requireSameState(t, before, netState(t, p.A, "eth0"))
			if !flows(t, p) {
				t.Error("traffic still blocked")
			}
		})
	}
}

// eventuallyFlows waits up to the kernel's release grace for traffic to
// flow both ways (the kernel empties a prog array from a workqueue).
func eventuallyFlows(t *testing.T, p *testutil.VethPair) bool {
	t.Helper()
	deadline := time.Now().Add(testutil.ReleaseGrace)
	for !flows(t, p) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// hasStub reports whether objs holds a tc stub program.
func hasStub(objs []testutil.BPFObject) bool {
	for _, o := range objs {
		if o.Kind == "prog" && (o.Name == bpf.NetfaultStubTCEgress || o.Name == bpf.NetfaultStubTCIngress) {
			return true
		}
	}
	return false
}
