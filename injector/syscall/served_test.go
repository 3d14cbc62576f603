package syscall

import (
	"strings"
	"testing"
)

// TestServedMethod: the one-line text names syscall, backend and hook and
// the first clause of the note, and never exceeds the status limit.
func TestServedMethod(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		s    Served
		want string
	}{
		{Served{Syscall: "connect", Backend: Cgroup, Hook: "connect4,connect6", Note: "only AF_INET and AF_INET6 sockets", CgroupDirs: []string{"/sys/fs/cgroup/x"}},
			"connect cgroup connect4,connect6 (only AF_INET and AF_INET6 sockets)"},
		{Served{Syscall: "openat", Backend: LSM, Hook: "file_open", Note: "also catches open, openat2, creat; with ports or peerCIDRs, only ..."},
			"openat lsm file_open (also catches open, openat2, creat)"},
		{Served{Syscall: "read", Backend: KprobeOverride, Hook: "__x64_sys_read"}, "read kprobe-override __x64_sys_read"},
		{Served{Syscall: "read", Backend: FmodRet, Hook: "__x64_sys_read", Note: "; path of the open file"}, "read fmod_ret __x64_sys_read"},
	} {
		if got := tc.s.Method(); got != tc.want {
			t.Errorf("Method() = %q, want %q", got, tc.want)
		}
	}
	got := Served{Syscall: "openat", Backend: LSM, Hook: "file_open", Note: long}.Method()
	if len(got) != MaxMethod || !strings.HasSuffix(got, "...") {
		t.Errorf("long note: %d bytes %q, want %d ending in ...", len(got), got, MaxMethod)
	}
}
