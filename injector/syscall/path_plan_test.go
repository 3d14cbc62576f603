package syscall

import (
	"slices"
	"strings"
	"testing"
)

// fdSyscalls are the syscalls whose argument 1 is a file descriptor that
// the entry backends resolve to a path.
var fdSyscalls = []string{"read", "pread64", "readv", "write", "pwrite64", "writev", "fsync", "fdatasync", "ftruncate"}

// TestPlanPathPrefixOnFD checks that a path prefix no longer rules out the
// entry backends for the fd syscalls, nor LSM for the hooks that resolve
// the file's path. It plans against a kernel where every backend runs (the
// decision of eligible alone; the hooks and entry points are looked up in
// this host's BTF).
func TestPlanPathPrefixOnFD(t *testing.T) {
	caps := &Capabilities{Backends: map[Backend]Support{
		KprobeOverride: {State: StateSupported}, FmodRet: {State: StateSupported},
		LSM: {State: StateSupported}, Cgroup: {State: StateSupported},
	}}
	cfg := Config{Errno: "EIO", PathPrefix: "/var/lib/index/"}
	for _, name := range fdSyscalls {
		s := syscallTable[name]
		for _, b := range []Backend{KprobeOverride, FmodRet} {
			if _, _, err := eligible(b, s, cfg, caps); err != nil && !strings.Contains(err.Error(), "not in this kernel") && !strings.Contains(err.Error(), "ambiguous") {
				t.Errorf("%s on %s with a path prefix: %v", b, name, err)
			}
		}
		if s.LSMHook == "" {
			continue
		}
		_, note, err := eligible(LSM, s, cfg, caps)
		if err != nil && !strings.Contains(err.Error(), "not in this kernel") {
			t.Errorf("LSM on %s with a path prefix: %v", name, err)
		}
		if err == nil && !strings.Contains(note, "walk") {
			t.Errorf("LSM on %s: note %q does not say that paths deeper than the walk limit do not match", name, note)
		}
	}
	// Nothing can see a path for mmap: a prefix there stays ignored, never
	// a reason to fail every call (it is not path-filtered at all).
	if slices.Contains(PathFilterableSyscalls(), "mmap") || slices.Contains(PathFilterableSyscalls(), "connect") {
		t.Errorf("PathFilterableSyscalls %v lists a syscall without a path", PathFilterableSyscalls())
	}
}

// TestPathFilterableSyscalls checks the list against the table: every
// syscall with a path argument, an fd argument or a path-resolving LSM hook,
// and no other.
func TestPathFilterableSyscalls(t *testing.T) {
	want := []string{"creat", "execve", "fdatasync", "fsync", "ftruncate", "mkdir", "mkdirat", "open", "openat",
		"pread64", "pwrite64", "read", "readv", "rename", "renameat", "renameat2", "truncate", "unlink", "unlinkat",
		"write", "writev"}
	if got := PathFilterableSyscalls(); !slices.Equal(got, want) {
		t.Errorf("PathFilterableSyscalls() = %v\nwant %v", got, want)
	}
}
