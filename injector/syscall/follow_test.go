package syscall

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/temblor-dev/temblor/internal/testutil"
)

// restartWithin is how soon a restarted container must be faulted again
// (issue 11, hole 4).
const restartWithin = time.Second

// TestRestartedContainerFaulted attaches every backend in turn to a pod's
// cgroup, then does what a container restart does: a new cgroup appears
// below the pod's directory (the old one is removed) and a process starts in
// it. The new cgroup must be a target within restartWithin, the process's
// calls must fail, and the removed cgroup's key must go.
func TestRestartedContainerFaulted(t *testing.T) {
	testutil.RequireRoot(t)
	for _, b := range preference {
		t.Run(b.String(), func(t *testing.T) {
			requireBackend(t, b)
			// The first scenario this kernel lets the backend serve (fmod_ret
			// cannot take connect where its BTF entry is ambiguous).
			var sc scenario
			var skipped []string
			for _, cand := range backendScenarios[b] {
				choices, err := Plan(context.Background(), Config{Syscalls: []string{cand.syscall}, Errno: cand.errno, Backend: b})
				if err != nil && errors.Is(choices[0].Err, errAmbiguousEntry) {
					skipped = append(skipped, choices[0].Err.Error())
					continue
				}
				sc = cand
				break
			}
			if sc.name == "" {
				t.Skip(perSyscallSkip + strings.Join(skipped, "; "))
			}
			t.Logf("scenario %s", sc.name)
			testutil.LeakCheck(t)
			pod := testutil.NewCgroup(t)
			first := mkCgroup(t, filepath.Join(pod.Path, "ctr-1"))
			targetEnv, _, prefix := sc.setup(t)
			cfg := Config{Syscalls: []string{sc.syscall}, Errno: sc.errno, ProbabilityBasisPoints: 10000, Backend: b, PathPrefix: prefix}
			a, err := Attach(context.Background(), Scope{CgroupPaths: []string{pod.Path}}, cfg)
			if err != nil {
				t.Fatalf("attach: %+v", err)
			}
			defer a.Close()
			expectTarget(t, a, first, true)

			// The restart: the old container's cgroup goes, a new one comes.
			rmCgroup(t, first)
			start := time.Now()
			second := mkCgroup(t, filepath.Join(pod.Path, "ctr-2"))
			nested := mkCgroup(t, filepath.Join(second, "init.scope"))
			waitTarget(t, a, nested, true)
			took := time.Since(start)
			t.Logf("new container cgroup (nested) a target %s after mkdir", took.Round(time.Microsecond))
			if took > restartWithin {
				t.Errorf("the restarted container's cgroup became a target after %s, want within %s", took, restartWithin)
			}
			expectTarget(t, a, second, true)
			waitTarget(t, a, first, false)
			// The counters move just after the map does: give them a moment.
			deadline := time.Now().Add(time.Second)
			added, removed := a.Followed()
			for (added < 2 || removed < 1) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
				added, removed = a.Followed()
			}
			if added < 2 || removed < 1 {
				t.Errorf("followed %d added, %d removed; want at least 2 and 1", added, removed)
			}

			fd := openDir(t, nested)
			const n = 20
			if res := runHelper(t, sc.mode, helperOpts{cgroupFD: fd, env: targetEnv, count: n}); res.Errnos[sc.errno] != n {
				t.Errorf("process of the restarted container: %s, want %d x %s", res, n, sc.errno)
			}
			if err := a.FollowErr(); err != nil {
				t.Errorf("follow error: %v", err)
			}
			rmCgroup(t, nested)
			rmCgroup(t, second)
			if err := a.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
		})
	}
}

// TestFollowerIgnoresOutsideScope checks that a cgroup created beside the
// scope (a sibling of the pod, as another pod would be) never becomes a
// target.
func TestFollowerIgnoresOutsideScope(t *testing.T) {
	testutil.RequireRoot(t)
	requireBackend(t, Cgroup)
	testutil.LeakCheck(t)
	parent := testutil.NewCgroup(t)
	pod := mkCgroup(t, filepath.Join(parent.Path, "pod-a"))
	a, err := Attach(context.Background(), Scope{CgroupPaths: []string{pod}}, Config{Syscalls: []string{"connect"}, Errno: "ECONNREFUSED", ProbabilityBasisPoints: 10000, Backend: Cgroup})
	if err != nil {
		t.Fatalf("attach: %+v", err)
	}
	defer a.Close()
	expectTarget(t, a, pod, true)
	other := mkCgroup(t, filepath.Join(parent.Path, "pod-b"))
	otherChild := mkCgroup(t, filepath.Join(other, "ctr"))
	mine := mkCgroup(t, filepath.Join(pod, "ctr"))
	waitTarget(t, a, mine, true) // events are in order: the others came before
	expectTarget(t, a, other, false)
	expectTarget(t, a, otherChild, false)
	expectTarget(t, a, parent.Path, false)
	rmCgroup(t, mine)
	rmCgroup(t, otherChild)
	rmCgroup(t, other)
	waitTarget(t, a, mine, false)
	// The scope's own directory is not watched from above: its removal
	// (the pod gone) ends the attachment instead, through the agent.
}

func mkCgroup(t *testing.T, dir string) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatalf("create cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Rmdir(dir); err != nil && !errors.Is(err, unix.ENOENT) {
			t.Errorf("remove cgroup %s: %v", dir, err)
		}
	})
	return dir
}

func rmCgroup(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := unix.Rmdir(dir)
		if err == nil {
			return
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			t.Fatalf("remove cgroup %s: %v", dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openDir(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open cgroup %s: %v", dir, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// cgroupIDs are the ids directories had; a removed one is looked up by the id
// recorded while it existed.
var cgroupIDs = map[string]uint64{}

func targetState(t *testing.T, a *Attachment, dir string) bool {
	t.Helper()
	id, ok := cgroupIDs[dir]
	if !ok {
		var err error
		if id, err = CgroupID(dir); err != nil {
			t.Fatalf("cgroup id: %v", err)
		}
		cgroupIDs[dir] = id
	}
	var slot uint32
	err := a.load.maps.targets.Lookup(targetKey{Kind: kindCgroup, Id: id}, &slot)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		t.Fatalf("look up target %s: %v", dir, err)
	}
	if err == nil && slot != a.slot {
		t.Fatalf("target %s counts in slot %d, the attachment's is %d", dir, slot, a.slot)
	}
	return err == nil
}

func expectTarget(t *testing.T, a *Attachment, dir string, want bool) {
	t.Helper()
	if got := targetState(t, a, dir); got != want {
		t.Errorf("cgroup %s a target: %v, want %v", dir, got, want)
	}
}

// waitTarget waits up to 5 s for dir's target state to become want and
// returns how long it took.
func waitTarget(t *testing.T, a *Attachment, dir string, want bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !time.Now().After(start.Add(5 * time.Second)) {
		if targetState(t, a, dir) == want {
			return time.Since(start)
		}
		time.Sleep(100 * time.Microsecond)
	}
	t.Fatalf("cgroup %s a target: still %v after 5 s", dir, !want)
	return 0
}
