package syscall

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// scenario is one syscall fault checked end to end: a helper process inside
// the target cgroup makes the syscall count times and gets errno, one outside
// succeeds.
type scenario struct {
	name    string
	syscall string
	errno   string
	mode    string // helper mode
	// setup returns helper environment for the targeted and the control
	// helper, and the path prefix to configure.
	setup func(t *testing.T) (target, control []string, prefix string)
	// sock, when set, makes this a socket-filter scenario instead
	// (runSockScenario); setup is then unused.
	sock func(t *testing.T) sockCase
	// joinLate makes the targeted helper join the target cgroup itself
	// once started, so that neither the exec nor the Go runtime's start-up
	// calls of the syscall are faulted (read: the exec reads the binary).
	joinLate bool
}

func connectSetup(t *testing.T) ([]string, []string, string) {
	addr := "TB_ADDR=" + loopbackListener(t)
	return []string{addr}, []string{addr}, ""
}

func noSetup(*testing.T) ([]string, []string, string) { return nil, nil, "" }

// connect6Setup: a TCP listener on ::1.
func connect6Setup(t *testing.T) ([]string, []string, string) {
	addr := "TB_ADDR=" + hostPort("::1", listeners(t, "tcp", "::1", 1)[0])
	return []string{addr}, []string{addr}, ""
}

// udpSetup: a UDP socket on 127.0.0.1 to send datagrams to.
func udpSetup(t *testing.T) ([]string, []string, string) {
	addr := "TB_ADDR=" + hostPort("127.0.0.1", listeners(t, "udp", "127.0.0.1", 1)[0])
	return []string{addr}, []string{addr}, ""
}

// readSetup: a file with content to read from.
func readSetup(t *testing.T) ([]string, []string, string) {
	p := filepath.Join(t.TempDir(), "r")
	if err := os.WriteFile(p, []byte("temblor"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"TB_PATH=" + p}, []string{"TB_PATH=" + p}, ""
}

// openSetup fails opens under one directory only: the control helper runs
// in the target cgroup too, and opens a file outside the prefix.
func openSetup(t *testing.T) ([]string, []string, string) {
	dir := t.TempDir()
	faulty := filepath.Join(dir, "faulty")
	if err := os.Mkdir(faulty, 0o700); err != nil {
		t.Fatal(err)
	}
	return []string{"TB_PATH=" + filepath.Join(faulty, "f")}, []string{"TB_PATH=" + filepath.Join(dir, "other")}, faulty + "/"
}

func fileSetup(name string) func(t *testing.T) ([]string, []string, string) {
	return func(t *testing.T) ([]string, []string, string) {
		p := "TB_PATH=" + filepath.Join(t.TempDir(), name)
		return []string{p}, []string{p}, ""
	}
}

var (
	scConnectRefused = scenario{name: "connect-ECONNREFUSED", syscall: "connect", errno: "ECONNREFUSED", mode: "connect", setup: connectSetup}
	scConnectNetUnr  = scenario{name: "connect-ENETUNREACH", syscall: "connect", errno: "ENETUNREACH", mode: "connect", setup: connectSetup}
	scBind           = scenario{name: "bind-EADDRINUSE", syscall: "bind", errno: "EADDRINUSE", mode: "bind", setup: noSetup}
	scSocket         = scenario{name: "socket-EACCES", syscall: "socket", errno: "EACCES", mode: "socket", setup: noSetup}
	scOpenPrefix     = scenario{name: "openat-EIO-prefix", syscall: "openat", errno: "EIO", mode: "open", setup: openSetup}
	scWrite          = scenario{name: "write-ENOSPC", syscall: "write", errno: "ENOSPC", mode: "write", setup: fileSetup("w")}
	// The helper calls mkdirat(2) itself (unix.Mkdir is mkdirat on some
	// architectures and mkdir on others): the syscall configured is the one
	// made.
	scMkdirat = scenario{name: "mkdirat-EROFS", syscall: "mkdirat", errno: "EROFS", mode: "mkdirat", setup: fileSetup("d")}
	// read without a path prefix: every read of the targeted task fails.
	scRead       = scenario{name: "read-EIO", syscall: "read", errno: "EIO", mode: "read", setup: readSetup, joinLate: true}
	scSetsockopt = scenario{name: "setsockopt-EPERM", syscall: "setsockopt", errno: "EPERM", mode: "setsockopt", setup: noSetup}
	scSendmsg    = scenario{name: "sendmsg-udp-EPERM", syscall: "sendmsg", errno: "EPERM", mode: "sendmsg", setup: udpSetup}
	// fork(2) itself (amd64 only); the helper joins late so that the
	// runtime's thread creations (clone, also task_alloc) come before.
	scFork     = scenario{name: "fork-EAGAIN", syscall: "fork", errno: "EAGAIN", mode: "fork", setup: noSetup, joinLate: true}
	scConnect6 = scenario{name: "connect6-ECONNREFUSED", syscall: "connect", errno: "ECONNREFUSED", mode: "connect-addr", setup: connect6Setup}
)

// refusedScenarios lists, per backend, syscalls of the scenarios that it
// cannot serve, with the reason Plan must give when the backend is forced.
var refusedScenarios = map[Backend][]struct{ syscall, reason string }{
	Cgroup: {{"read", "no cgroup hook can fail read"}, {"fork", "no cgroup hook can fail fork"}},
}

// backendScenarios lists, per backend, the scenarios it can serve.
var backendScenarios = map[Backend][]scenario{
	KprobeOverride: {scConnectRefused, scBind, scSocket, scOpenPrefix, scWrite, scMkdirat, scRead, scSetsockopt, scSendmsg, scConnect6},
	FmodRet:        {scConnectRefused, scBind, scSocket, scOpenPrefix, scWrite, scMkdirat, scRead, scSetsockopt, scSendmsg, scConnect6},
	LSM:            {scConnectRefused, scBind, scSocket, scOpenPrefix, scWrite, scMkdirat, scRead, scSetsockopt, scSendmsg, scConnect6},
	Cgroup:         {scConnectRefused, scConnectNetUnr, scBind, scSocket, scSetsockopt, scSendmsg, scConnect6},
}

func init() {
	// Every backend honours the socket filters of connect, bind, sendto and
	// sendmsg (sockfilter_test.go).
	for b := range backendScenarios {
		backendScenarios[b] = append(backendScenarios[b], sockScenarios...)
	}
	for _, b := range []Backend{KprobeOverride, FmodRet, LSM} {
		backendScenarios[b] = append(backendScenarios[b], forkScenarios...)
	}
}

// requireBackendsEnv lists the backends the kernel under test must support,
// comma-separated (set by the kernel matrix, test/kernelmatrix). When set, it
// decides instead of CI: a listed backend that the probe rejects fails, an
// unlisted one skips even with CI=true.
const requireBackendsEnv = "TEMBLOR_REQUIRE_BACKENDS"

// requireBackend skips (fails in CI) when the probe says the kernel cannot
// run backend b, with the probe's reason; TEMBLOR_REQUIRE_BACKENDS overrides.
func requireBackend(t testing.TB, b Backend) {
	t.Helper()
	sup := Probe(context.Background()).Backends[b]
	switch sup.State {
	case StateUnsupported:
		if list, ok := os.LookupEnv(requireBackendsEnv); ok {
			if slices.Contains(strings.Split(list, ","), b.String()) {
				t.Fatalf("%s=%s requires backend %s: %s", requireBackendsEnv, list, b, sup.Reason)
			}
			t.Skipf("not required on this kernel (%s=%s): %s", requireBackendsEnv, list, sup.Reason)
		}
		testutil.Skip(t, sup.Reason)
	case StateUnknown:
		t.Logf("probe inconclusive, trying anyway: %s", sup.Reason)
	}
}

// perSyscallSkip starts the skip message of a scenario whose syscall the
// forced backend cannot serve on this kernel for a reason of that syscall
// alone (perSyscallLimit). The kernel matrix (test/kernelmatrix/results.go)
// accepts only such skips inside a backend that must pass.
const perSyscallSkip = "backend cannot serve this syscall on this kernel: "

// perSyscallLimit says whether the planner's refusal is a limit of one
// syscall on this kernel: no single real entry point in BTF, or none at all
// (fmod_ret on fork where pahole left __x64_sys_fork out).
func perSyscallLimit(err error) bool {
	return errors.Is(err, errAmbiguousEntry) || errors.Is(err, errEntryNotInBTF)
}

// TestBackends runs the same end-to-end scenarios against each backend
// forced in turn. On kernels without a backend, its subtests skip with the
// probe's reason (and fail in CI). A scenario whose syscall alone the backend
// cannot serve skips with the planner's reason; at least one scenario of a
// backend must run.
func TestBackends(t *testing.T) {
	testutil.RequireRoot(t)
	for _, b := range preference {
		t.Run(b.String(), func(t *testing.T) {
			requireBackend(t, b)
			ran := 0
			for _, sc := range backendScenarios[b] {
				t.Run(sc.name, func(t *testing.T) {
					runScenario(t, b, sc)
					ran++
				})
			}
			if ran == 0 && !t.Failed() {
				t.Errorf("no scenario of backend %s ran: each syscall was skipped", b)
			}
		})
	}
}

func runScenario(t *testing.T, b Backend, sc scenario) {
	if sc.sock != nil {
		runSockScenario(t, b, sc)
		return
	}
	cfg := Config{
		Syscalls: []string{sc.syscall}, Errno: sc.errno, ProbabilityBasisPoints: 10000,
		Backend: b,
	}
	targetEnv, controlEnv, prefix := sc.setup(t)
	cfg.PathPrefix = prefix
	// A syscall this kernel keeps from the backend (and only this syscall)
	// skips, with the planner's reason; any other refusal fails below.
	if choices, err := Plan(context.Background(), cfg); err != nil && perSyscallLimit(choices[0].Err) {
		t.Skip(perSyscallSkip + choices[0].Err.Error())
	}
	testutil.LeakCheck(t)
	cg := testutil.NewCgroup(t)
	cgFD := cg.Open(t)
	const n = 20

	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, cfg)
	if err != nil {
		t.Fatalf("attach: %+v", err)
	}
	defer a.Close()
	t.Logf("backends: %s", a)
	if got := servedBy(a, sc.syscall); got.Backend != b {
		t.Fatalf("%s served by %+v, want backend %s", sc.syscall, got, b)
	}

	target := helperOpts{cgroupFD: cgFD, env: targetEnv, count: n}
	if sc.joinLate {
		target = helperOpts{cgroupFD: -1, env: append(targetEnv[:len(targetEnv):len(targetEnv)], "TB_JOIN_CGROUP="+cg.Path), count: n}
	}
	res := runHelper(t, sc.mode, target)
	if res.Errnos[sc.errno] != n {
		t.Errorf("target in %s: %s, want %d x %s", cg, res, n, sc.errno)
	}
	controlFD := -1
	if prefix != "" {
		controlFD = cgFD // same cgroup, path outside the prefix
	}
	if res := runHelper(t, sc.mode, helperOpts{cgroupFD: controlFD, env: controlEnv, count: n}); res.OK != n {
		t.Errorf("control: %s, want %d successes", res, n)
	}
	c, err := a.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c.Failed != n {
		t.Errorf("counters %+v: want %d failed", c, n)
	}

	if err := a.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if res := runHelper(t, sc.mode, target); res.OK != n {
		t.Errorf("target after Close: %s, want %d successes", res, n)
	}
}

// TestBackendRefusals forces each backend on the syscalls of scenarios it
// cannot serve: Plan and Attach must refuse, with the reason.
func TestBackendRefusals(t *testing.T) {
	testutil.RequireRoot(t)
	for b, refused := range refusedScenarios {
		for _, r := range refused {
			t.Run(b.String()+"/"+r.syscall, func(t *testing.T) {
				cfg := Config{Syscalls: []string{r.syscall}, Errno: "EIO", ProbabilityBasisPoints: 10000, Backend: b}
				choices, err := Plan(context.Background(), cfg)
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), r.reason) {
					t.Fatalf("plan: %v, want ErrUnsupported with %q", err, r.reason)
				}
				if choices[0].Backend != Auto {
					t.Fatalf("choice %v: want no backend", choices[0])
				}
				if _, err := Attach(context.Background(), Scope{CgroupIDs: []uint64{1}}, cfg); !errors.Is(err, ErrUnsupported) {
					t.Fatalf("attach: %v, want ErrUnsupported", err)
				}
			})
		}
	}
}

// TestNetNSScope attaches at the cgroup v2 root and lets the target map pick
// tasks by network namespace.
func TestNetNSScope(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheck(t)
	target, targetIno := newNetNS(t)
	other, _ := newNetNS(t)
	addr := loopbackListener(t)
	const n = 20

	a, err := Attach(context.Background(), Scope{NetNSInodes: []uint64{targetIno}}, Config{
		Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: 10000,
	})
	if err != nil {
		t.Fatalf("attach: %+v", err)
	}
	defer a.Close()
	t.Logf("netns %d; backends: %s", targetIno, a)

	// Each helper listens inside its own namespace (no TB_ADDR).
	if res := runHelper(t, "connect", helperOpts{cgroupFD: -1, netns: target, count: n}); res.Errnos["ECONNREFUSED"] != n {
		t.Errorf("task in target netns: %s, want %d x ECONNREFUSED", res, n)
	}
	if res := runHelper(t, "connect", helperOpts{cgroupFD: -1, netns: other, count: n}); res.OK != n {
		t.Errorf("task in another netns: %s, want %d successes", res, n)
	}
	if res := runHelper(t, "connect", helperOpts{cgroupFD: -1, env: []string{"TB_ADDR=" + addr}, count: n}); res.OK != n {
		t.Errorf("task in host netns: %s, want %d successes", res, n)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if res := runHelper(t, "connect", helperOpts{cgroupFD: -1, netns: target, count: n}); res.OK != n {
		t.Errorf("task in target netns after Close: %s, want %d successes", res, n)
	}
}

// TestProbability checks 0%, 100% and 50% over many calls, with the
// counters.
func TestProbability(t *testing.T) {
	testutil.RequireRoot(t)
	const n = 2000
	for _, tc := range []struct {
		bp       uint32
		min, max int // failures
	}{
		{0, 0, 0},
		{10000, n, n},
		{5000, n * 40 / 100, n * 60 / 100}, // ±9 standard deviations
	} {
		t.Run(strconvBP(tc.bp), func(t *testing.T) {
			testutil.LeakCheck(t)
			cg := testutil.NewCgroup(t)
			addr := loopbackListener(t)
			a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, Config{
				Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: tc.bp,
			})
			if err != nil {
				t.Fatalf("attach: %+v", err)
			}
			defer a.Close()
			res := runHelper(t, "connect", helperOpts{cgroupFD: cg.Open(t), env: []string{"TB_ADDR=" + addr}, count: n})
			failed := res.Errnos["ECONNREFUSED"]
			if failed < tc.min || failed > tc.max || failed+res.OK != n {
				t.Errorf("%s: %d failed, want %d..%d", res, failed, tc.min, tc.max)
			}
			c, err := a.Counters()
			if err != nil {
				t.Fatal(err)
			}
			if c.Matched != n || c.Failed != uint64(failed) {
				t.Errorf("counters %+v, want matched %d failed %d", c, n, failed)
			}
			t.Logf("%d/%d failed; counters %+v", failed, n, c)
		})
	}
}

func strconvBP(bp uint32) string { return fmt.Sprintf("%dbp", bp) }

// TestOwnerKilled attaches from a helper process, kills it with SIGKILL, and
// checks that the fault is gone and no Temblor program or link remains.
func TestOwnerKilled(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.LeakCheck(t)
	cg := testutil.NewCgroup(t)
	cgFD := cg.Open(t)
	addr := loopbackListener(t)
	const n = 10

	cmd, result, err := helperCommand("attach", helperOpts{cgroupFD: -1, env: []string{"TB_CGROUP=" + cg.Path}})
	if err != nil {
		t.Fatal(err)
	}
	defer result.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("helper did not get ready: %q %v", line, err)
	}
	t.Logf("owner pid %d: %s", cmd.Process.Pid, strings.TrimSpace(line))

	before, err := testutil.TemblorBPF()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before SIGKILL: %v", before)
	if len(before) == 0 {
		t.Fatal("no Temblor program or link loaded while the owner runs")
	}
	if res := runHelper(t, "connect", helperOpts{cgroupFD: cgFD, env: []string{"TB_ADDR=" + addr}, count: n}); res.Errnos["ECONNREFUSED"] != n {
		t.Fatalf("fault not active: %s", res)
	}

	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// Links go with the last descriptor; programs are freed after an RCU
	// grace period.
	var after []testutil.BPFObject
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, err = testutil.TemblorBPF()
		if err != nil {
			t.Fatal(err)
		}
		if len(after) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("after SIGKILL: %v", after)
	if res := runHelper(t, "connect", helperOpts{cgroupFD: cgFD, env: []string{"TB_ADDR=" + addr}, count: n}); res.OK != n {
		t.Errorf("after owner died: %s, want %d successes", res, n)
	}
}

// TestPlan checks the per-syscall choice against what the probe found: the
// network syscalls always have the cgroup backend, openat needs one of the
// three tracing backends and is reported unsupported, with reasons, without.
func TestPlan(t *testing.T) {
	testutil.RequireRoot(t)
	caps := Probe(context.Background())
	for _, b := range preference {
		t.Logf("probe %s: %s %s", b, caps.Backends[b].State, caps.Backends[b].Reason)
	}
	firstUsable := func(candidates ...Backend) Backend {
		for _, b := range candidates {
			if caps.Backends[b].State != StateUnsupported {
				return b
			}
		}
		return Auto
	}

	choices, err := Plan(context.Background(), Config{Syscalls: []string{"connect"}, Errno: "EPERM"})
	if want := firstUsable(preference...); want == Auto {
		t.Fatalf("no backend usable for connect: %v", err)
	} else if err != nil || choices[0].Backend != want {
		t.Fatalf("connect: %v %v, want backend %s", choices, err, want)
	}
	t.Logf("connect: %s (rejected: %v)", choices[0], choices[0].Rejected)

	choices, err = Plan(context.Background(), Config{Syscalls: []string{"openat", "connect"}, Errno: "EIO"})
	if want := firstUsable(KprobeOverride, FmodRet, LSM); want == Auto {
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "openat") {
			t.Fatalf("openat without tracing backends: err %v, want ErrUnsupported naming openat", err)
		}
		if choices[0].Err == nil || len(choices[0].Rejected) != len(preference) {
			t.Fatalf("openat choice %+v: want an error and a reason per backend", choices[0])
		}
		if choices[1].Err != nil {
			t.Fatalf("connect choice %+v: want served", choices[1])
		}
		t.Logf("openat unsupported as expected: %v", err)
		if _, aerr := Attach(context.Background(), Scope{CgroupIDs: []uint64{1}}, Config{Syscalls: []string{"openat"}, Errno: "EIO"}); !errors.Is(aerr, ErrUnsupported) {
			t.Fatalf("Attach(openat): %v, want ErrUnsupported", aerr)
		}
	} else if err != nil || choices[0].Backend != want {
		t.Fatalf("openat: %v %v, want %s", choices, err, want)
	}

	// A path prefix on read needs a backend that resolves the fd's file
	// (kprobe, fmod_ret, LSM file_permission); the cgroup backend has no
	// read hook at all.
	choices, err = Plan(context.Background(), Config{Syscalls: []string{"read"}, Errno: "EIO", PathPrefix: "/data/"})
	if want := firstUsable(KprobeOverride, FmodRet, LSM); want == Auto {
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("read with a path prefix and no tracing backend: %v %v, want ErrUnsupported", choices, err)
		}
		t.Logf("read with prefix: %v", err)
	} else if err != nil || choices[0].Backend != want {
		t.Fatalf("read with a path prefix: %v %v, want backend %s", choices, err, want)
	}
}
