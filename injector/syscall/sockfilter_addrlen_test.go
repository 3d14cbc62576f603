package syscall

import (
	"context"
	"testing"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// TestShortAddrlen connects, under a port filter, to the filtered port with
// the whole sockaddr_in in the buffer but an addrlen of 4: the fault must
// not take the call (the kernel's own EINVAL comes back, nothing counted),
// while the same call with addrlen 16 fails with the fault's errno. The
// entry programs read the sockaddr with a fixed size; only addrlen tells
// them the task passed less. LSM's socket_connect sees the kernel's copy,
// which holds only addrlen bytes (the rest is stale stack), so it checks the
// length too.
func TestShortAddrlen(t *testing.T) {
	testutil.RequireRoot(t)
	for _, b := range []Backend{KprobeOverride, FmodRet, LSM, Cgroup} {
		t.Run(b.String(), func(t *testing.T) {
			requireBackend(t, b)
			testutil.LeakCheck(t)
			port := listeners(t, "tcp", "127.0.0.1", 1)[0]
			addr := "TB_ADDR=" + hostPort("127.0.0.1", port)
			cfg := Config{Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: 10000,
				Backend: b, Ports: onePort(port)}
			cg := testutil.NewCgroup(t)
			cgFD := cg.Open(t)
			const n = 20
			a, err := Attach(context.Background(), Scope{CgroupPaths: []string{cg.Path}}, cfg)
			if err != nil {
				t.Fatalf("attach: %+v", err)
			}
			defer a.Close()
			if got := servedBy(a, "connect"); got.Backend != b {
				t.Fatalf("connect served by %+v, want backend %s", got, b)
			}

			if res := runHelper(t, "connect-len", helperOpts{cgroupFD: cgFD, env: []string{addr, "TB_ADDRLEN=4"}, count: n}); res.Errnos["EINVAL"] != n {
				t.Errorf("target, addrlen 4: %s, want %d x EINVAL (the kernel's), not the fault's ECONNREFUSED", res, n)
			}
			if c, err := a.Counters(); err != nil || c.Matched != 0 || c.Failed != 0 {
				t.Errorf("counters after the short calls %+v (%v): want none matched", c, err)
			}
			if res := runHelper(t, "connect-len", helperOpts{cgroupFD: cgFD, env: []string{addr, "TB_ADDRLEN=16"}, count: n}); res.Errnos["ECONNREFUSED"] != n {
				t.Errorf("target, addrlen 16: %s, want %d x ECONNREFUSED", res, n)
			}
			if res := runHelper(t, "connect-len", helperOpts{cgroupFD: -1, env: []string{addr, "TB_ADDRLEN=16"}, count: n}); res.OK != n {
				t.Errorf("untargeted, addrlen 16: %s, want %d successes", res, n)
			}
			if c, err := a.Counters(); err != nil || c.Matched != n || c.Failed != n {
				t.Errorf("counters %+v (%v): want %d matched and failed", c, err, n)
			}
		})
	}
}
