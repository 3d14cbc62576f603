// Package temblortest injects Temblor faults into Go tests, with no
// cluster: a resilience test states what its code must survive (dropped
// packets, refused connections, failing writes) and checks that it does.
//
//	func TestClientRetries(t *testing.T) {
//		fault := temblortest.Parse(t, `
//	spec:
//	  duration: 2s
//	  network: {type: Drop}
//	`)
//		temblortest.Inject(t, fault, func(env temblortest.Env) {
//			// Sockets opened here, on this goroutine, live in a fresh
//			// network namespace whose packets are dropped; the host is
//			// reachable at env.HostAddr.
//		})
//	}
//
// Network faults act on a fresh network namespace joined to the host by a
// veth pair, syscall faults on a fresh cgroup. Everything is removed when
// the fault ends, and again in t.Cleanup. It is built on package local, the
// engine of `temblorctl exec`, and needs root: tests are skipped without it
// (and fail when CI=true, where every test must run).
package temblortest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
	"github.com/temblor-dev/temblor/injector/local"
)

// Env is the environment a fault acts on.
type Env struct {
	// HostAddr is the host's address as seen from the fresh network
	// namespace of a network fault ("" for a syscall fault): services the
	// test runs on the host are reachable there.
	HostAddr string
	// NetNS is the network namespace of a network fault.
	NetNS string
	// Cgroup is the cgroup directory of a syscall fault.
	Cgroup string
}

// Result is what running a command under a fault came to.
type Result = local.Result

// Parse reads a Fault manifest strictly, failing the test if it is not one.
// The local mode ignores metadata and selector, so a manifest may hold just
// the spec's duration and action.
func Parse(tb testing.TB, manifest string) *chaosv1.Fault {
	tb.Helper()
	f, err := local.ParseFault([]byte(manifest))
	if err != nil {
		tb.Fatalf("temblortest: %v", err)
	}
	return f
}

// Start attaches fault and returns its session, to start commands in
// (Session.Start), run code in (Session.Do) or read counters from. The
// fault is detached and its environment removed in t.Cleanup, and the fault
// is detached earlier when its duration ends.
func Start(tb testing.TB, fault *chaosv1.Fault) *local.Session {
	tb.Helper()
	requireRoot(tb)
	ctx := context.WithoutCancel(tb.Context())
	s, err := local.New(ctx, fault, local.Options{})
	if err != nil {
		tb.Fatalf("temblortest: %v", err)
	}
	timer := time.AfterFunc(fault.Spec.Duration.Duration, func() { _ = s.Detach() })
	tb.Cleanup(func() {
		timer.Stop()
		if err := s.Close(); err != nil {
			tb.Errorf("temblortest: cleanup: %v", err)
		}
	})
	return s
}

// Inject attaches fault, runs fn inside its environment and detaches the
// fault when fn returns (or earlier, when the fault's duration ends).
//
// Under a network fault fn runs on a goroutine locked to a thread that has
// joined the fault's namespace: sockets fn opens itself are in it; sockets
// opened by goroutines fn starts are not. Under a syscall fault the whole test
// process is moved into the fault's cgroup while fn runs, so every goroutine's
// calls can fail. In the network case fn runs on another goroutine than the
// test's: report failures with t.Error, not t.Fatal.
func Inject(tb testing.TB, fault *chaosv1.Fault, fn func(env Env)) {
	tb.Helper()
	s := Start(tb, fault)
	env := Env{HostAddr: s.HostAddr(), NetNS: s.NetNSPath(), Cgroup: s.CgroupPath()}
	if err := s.Do(func() error { fn(env); return nil }); err != nil {
		tb.Fatalf("temblortest: %v", err)
	}
	if err := s.Detach(); err != nil {
		tb.Errorf("temblortest: %v", err)
	}
}

// Exec runs cmd under fault, as `temblorctl exec` does, and returns once cmd
// has exited: its exit status, the counters and how the fault was attached.
// A network fault in a fresh namespace gives cmd the host's address in
// TEMBLOR_HOST_ADDR. The fault is detached when its duration ends, while cmd
// goes on.
func Exec(tb testing.TB, fault *chaosv1.Fault, cmd *exec.Cmd) Result {
	tb.Helper()
	s := Start(tb, fault)
	res, err := local.Run(tb.Context(), s, cmd, fault.Spec.Duration.Duration, nil)
	if err != nil {
		tb.Fatalf("temblortest: run %s: %v", cmd.Path, err)
	}
	return res
}

// requireRoot skips the test without root, or fails it when CI=true.
func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("temblortest: faults need root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN), and CI=true requires this test to run")
	}
	tb.Skip("temblortest: faults need root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)")
}
