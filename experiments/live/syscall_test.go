package live_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/temblor-dev/temblor/injector/netns"
	sysfault "github.com/temblor-dev/temblor/injector/syscall"
	"github.com/temblor-dev/temblor/internal/testutil"
)

var (
	everyBackend   = []sysfault.Backend{sysfault.KprobeOverride, sysfault.FmodRet, sysfault.LSM, sysfault.Cgroup}
	tracingOrLSM   = []sysfault.Backend{sysfault.KprobeOverride, sysfault.FmodRet, sysfault.LSM}
	connectTries   = 20
	forkTries      = 400
	fileTries      = 300
	fileWriteTries = 100
)

func init() {
	register("db-connection-refused", check{
		syscallBackends: everyBackend,
		expected:        "connect to :5432 (IPv4 and IPv6) fails ECONNREFUSED; :8080 and DNS (udp :53) still connect; all connect after expiry",
		run:             runDBConnectionRefused,
	})
	register("fork-failures", check{
		syscallBackends: tracingOrLSM,
		expected:        "about 50% of clone and fork calls fail EAGAIN, the rest fork; none fail after expiry",
		run:             runForkFailures,
	})
	register("disk-read-errors", check{
		syscallBackends: tracingOrLSM,
		expected:        "about 10% of read, pread64, readv under /var/lib/index/ fail EIO; reads elsewhere (also /var/lib/indexes/) succeed",
		run:             runDiskReadErrors,
	})
	register("disk-full", check{
		syscallBackends: tracingOrLSM,
		expected:        "write, pwrite64, writev under /data/ fail ENOSPC; writes elsewhere (also /data-archive/) succeed",
		run:             runDiskFull,
	})
}

func runDBConnectionRefused(ctx context.Context, r *run) {
	t := r.t
	// A namespace of the test's own, so that the listeners and the
	// connects stay off the host's loopback.
	ns := testutil.NewVethPair(t).A
	for _, addr := range []string{"127.0.0.1:5432", "[::1]:5432", "127.0.0.1:8080", "[::1]:8080"} {
		listenIn(t, ns, addr)
	}
	args := connectArgs{Tries: connectTries, Targets: []string{"tcp:127.0.0.1:5432", "tcp:[::1]:5432", "tcp:127.0.0.1:8080", "tcp:[::1]:8080", "udp:127.0.0.1:53"}}
	allOK := func(phase string, got map[string]tally, except ...string) {
		t.Helper()
		for _, target := range args.Targets {
			if slices.Contains(except, target) {
				continue
			}
			if got[target]["ok"] != connectTries {
				t.Errorf("%s: %s: %v, want %d ok", phase, target, got[target], connectTries)
			}
		}
	}
	var before, during, after map[string]tally
	runChild(ctx, t, nil, ns, "connect", args, &before)
	allOK("before the fault", before)

	s := r.attach(ctx, r.faults[0], "")
	runChild(ctx, t, s, ns, "connect", args, &during)
	refused := []string{"tcp:127.0.0.1:5432", "tcp:[::1]:5432"}
	for _, target := range refused {
		if during[target]["ECONNREFUSED"] != connectTries {
			t.Errorf("under the fault: %s: %v, want %d ECONNREFUSED", target, during[target], connectTries)
		}
	}
	allOK("under the fault", during, refused...)
	c := r.counters(s)
	if c.SyscallsFailed != int64(len(refused)*connectTries) {
		t.Errorf("syscallsFailed %d, want %d", c.SyscallsFailed, len(refused)*connectTries)
	}
	r.detach(s)
	runChild(ctx, t, s, ns, "connect", args, &after)
	allOK("after expiry", after)
	r.measure(":5432 %v / %v, :8080 %v, udp :53 %v, syscallsFailed %d; after expiry :5432 %v",
		during[refused[0]], during[refused[1]], during["tcp:127.0.0.1:8080"], during["udp:127.0.0.1:53"], c.SyscallsFailed, after[refused[0]])
}

func runForkFailures(ctx context.Context, r *run) {
	t := r.t
	s := r.attach(ctx, r.faults[0], "")
	var during, after map[string]tally
	runChild(ctx, t, s, "", "fork", forkArgs{Tries: forkTries}, &during)
	for _, call := range []string{"clone", "fork"} {
		tl := during[call]
		if tl.total() != forkTries/2 || tl["ok"]+tl["EAGAIN"] != forkTries/2 {
			t.Errorf("%s: %v, want only ok and EAGAIN, %d in all", call, tl, forkTries/2)
		}
		expectRate(t, call+" EAGAIN", tl["EAGAIN"], forkTries/2, 0.5)
	}
	c := r.counters(s)
	r.detach(s)
	runChild(ctx, t, s, "", "fork", forkArgs{Tries: 20}, &after)
	expectAllOK(t, "after expiry", after, 10)
	r.measure("clone %v, fork %v (the child's own thread creation retries EAGAIN), syscallsFailed %d; after expiry clone %v", during["clone"], during["fork"], c.SyscallsFailed, after["clone"])
}

func runDiskReadErrors(ctx context.Context, r *run) {
	t := r.t
	root := t.TempDir()
	under := "/var/lib/index/segment-0"
	others := []string{"/var/lib/indexes/segment-0", "/etc/search.conf"}
	for _, f := range append([]string{under}, others...) {
		writeFile(t, filepath.Join(root, f), 4096)
	}
	args := fileArgs{Root: root, Files: append([]string{under}, others...), Tries: fileTries}
	s := r.attach(ctx, r.faults[0], "")
	var during, after map[string]tally
	runChild(ctx, t, s, "", "read", args, &during)
	var parts []string
	for _, op := range []string{"read", "pread64", "readv"} {
		tl := during[under+" "+op]
		if tl["ok"]+tl["EIO"] != fileTries {
			t.Errorf("%s %s: %v, want only ok and EIO", under, op, tl)
		}
		expectRate(t, under+" "+op+" EIO", tl["EIO"], fileTries, 0.10)
		parts = append(parts, op+" "+tl.String())
	}
	expectUntouched(t, during, others, []string{"read", "pread64", "readv"}, fileTries)
	c := r.counters(s)
	r.detach(s)
	args.Tries = 20
	runChild(ctx, t, s, "", "read", args, &after)
	expectAllOK(t, "after expiry", after, args.Tries)
	r.measure("under the prefix %v of %d each; %v and %v all ok; syscallsFailed %d; none fail after expiry", parts, fileTries, others[0], others[1], c.SyscallsFailed)
}

func runDiskFull(ctx context.Context, r *run) {
	t := r.t
	root := t.TempDir()
	under := "/data/upload.part"
	others := []string{"/data-archive/upload.part", "/tmp/upload.part"}
	for _, d := range []string{"data", "data-archive", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := fileArgs{Root: root, Files: append([]string{under}, others...), Tries: fileWriteTries}
	s := r.attach(ctx, r.faults[0], "")
	var during, after map[string]tally
	runChild(ctx, t, s, "", "write", args, &during)
	for _, op := range []string{"write", "pwrite64", "writev"} {
		if tl := during[under+" "+op]; tl["ENOSPC"] != fileWriteTries {
			t.Errorf("%s %s: %v, want all %d ENOSPC", under, op, tl, fileWriteTries)
		}
	}
	expectUntouched(t, during, others, []string{"write", "pwrite64", "writev"}, fileWriteTries)
	c := r.counters(s)
	r.detach(s)
	args.Tries = 10
	runChild(ctx, t, s, "", "write", args, &after)
	expectAllOK(t, "after expiry", after, args.Tries)
	r.measure("%s write %v, pwrite64 %v, writev %v; elsewhere all ok; syscallsFailed %d; none fail after expiry",
		under, during[under+" write"], during[under+" pwrite64"], during[under+" writev"], c.SyscallsFailed)
}

// expectUntouched fails t unless each op on each file outside the prefix
// succeeded all n times.
func expectUntouched(t *testing.T, during map[string]tally, files, ops []string, n int) {
	t.Helper()
	for _, f := range files {
		for _, op := range ops {
			if tl := during[f+" "+op]; tl["ok"] != n {
				t.Errorf("%s %s: %v, want all %d ok (outside the prefix)", f, op, tl, n)
			}
		}
	}
}

// expectAllOK fails t unless every tally holds n successes and nothing else.
func expectAllOK(t *testing.T, phase string, tallies map[string]tally, n int) {
	t.Helper()
	for k, tl := range tallies {
		if tl["ok"] != n || tl.total() != n {
			t.Errorf("%s: %s: %v, want %d ok", phase, k, tl, n)
		}
	}
}

// listenIn listens on TCP addr inside the namespace ns until the test ends.
func listenIn(t *testing.T, ns, addr string) {
	t.Helper()
	var l net.Listener
	if err := netns.Do(ns, func() (err error) {
		l, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { l.Close() })
}

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
}
