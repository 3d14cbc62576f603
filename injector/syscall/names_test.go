package syscall

import (
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestNames(t *testing.T) {
	required := strings.Fields(`openat open creat read write pread64 pwrite64 readv writev fsync fdatasync
		connect bind listen accept accept4 sendto sendmsg recvfrom recvmsg socket setsockopt getsockopt
		execve clone clone3 fork vfork mkdir mkdirat unlink unlinkat rename renameat renameat2 truncate
		ftruncate mmap`)
	names := SyscallNames()
	if !sort.StringsAreSorted(names) {
		t.Errorf("SyscallNames not sorted: %v", names)
	}
	for _, r := range required {
		if _, ok := Lookup(r); !ok {
			t.Errorf("syscall %s missing", r)
		}
	}
	if len(names) != len(required) {
		t.Errorf("%d syscall names, want %d", len(names), len(required))
	}

	errnos := ErrnoNames()
	if !sort.StringsAreSorted(errnos) {
		t.Errorf("ErrnoNames not sorted")
	}
	for _, n := range errnos {
		e, ok := Errno(n)
		if !ok || unix.ErrnoName(e) != n && !(n == "EDEADLK" || n == "EAGAIN" || n == "ENOTSUP") {
			t.Errorf("errno %s maps to %d (%s)", n, e, unix.ErrnoName(e))
		}
	}
	if e, ok := Errno("ENOSPC"); !ok || e != unix.ENOSPC {
		t.Errorf("ENOSPC = %d %v", e, ok)
	}
	if _, ok := Errno("EWHATEVER"); ok {
		t.Error("unknown errno accepted")
	}
}

// TestHookTable pins the documented syscall → hook table.
func TestHookTable(t *testing.T) {
	want := map[string]struct {
		lsm    string
		mask   uint32
		cgroup string
		path   int
	}{
		"openat": {"file_open", 0, "", 2}, "open": {"file_open", 0, "", 1}, "creat": {"file_open", 0, "", 1},
		"read": {"file_permission", mayRead, "", 0}, "pread64": {"file_permission", mayRead, "", 0},
		"readv": {"file_permission", mayRead, "", 0}, "write": {"file_permission", mayWrite, "", 0},
		"pwrite64": {"file_permission", mayWrite, "", 0}, "writev": {"file_permission", mayWrite, "", 0},
		"fsync": {"", 0, "", 0}, "fdatasync": {"", 0, "", 0},
		"connect": {"socket_connect", 0, "cgroup/connect4,cgroup/connect6", 0},
		"bind":    {"socket_bind", 0, "cgroup/bind4,cgroup/bind6", 0},
		"listen":  {"socket_listen", 0, "", 0},
		"accept":  {"socket_accept", 0, "", 0}, "accept4": {"socket_accept", 0, "", 0},
		"sendto":   {"socket_sendmsg", 0, "cgroup/sendmsg4,cgroup/sendmsg6", 0},
		"sendmsg":  {"socket_sendmsg", 0, "cgroup/sendmsg4,cgroup/sendmsg6", 0},
		"recvfrom": {"socket_recvmsg", 0, "", 0}, "recvmsg": {"socket_recvmsg", 0, "", 0},
		"socket":     {"socket_create", 0, "cgroup/sock_create", 0},
		"setsockopt": {"socket_setsockopt", 0, "cgroup/setsockopt", 0},
		"getsockopt": {"socket_getsockopt", 0, "cgroup/getsockopt", 0},
		"execve":     {"bprm_check_security", 0, "", 1},
		"clone":      {"task_alloc", 0, "", 0}, "clone3": {"task_alloc", 0, "", 0},
		"fork": {"task_alloc", 0, "", 0}, "vfork": {"task_alloc", 0, "", 0},
		"mkdir": {"inode_mkdir", 0, "", 1}, "mkdirat": {"inode_mkdir", 0, "", 2},
		"unlink": {"inode_unlink", 0, "", 1}, "unlinkat": {"inode_unlink", 0, "", 2},
		"rename": {"inode_rename", 0, "", 1}, "renameat": {"inode_rename", 0, "", 2}, "renameat2": {"inode_rename", 0, "", 2},
		"truncate": {"path_truncate", 0, "", 1}, "ftruncate": {"file_truncate", 0, "", 0},
		"mmap": {"mmap_file", 0, "", 0},
	}
	for name, w := range want {
		s, ok := Lookup(name)
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if s.LSMHook != w.lsm || s.LSMMask != w.mask || strings.Join(s.CgroupHooks, ",") != w.cgroup || s.PathArg != w.path {
			t.Errorf("%s: lsm %q mask %d cgroup %v path arg %d, want %+v", name, s.LSMHook, s.LSMMask, s.CgroupHooks, s.PathArg, w)
		}
		if s.LSMHook != "" && s.LSMAlsoCatches == "" {
			t.Errorf("%s: LSM hook %s without a note of what else it catches", name, s.LSMHook)
		}
		if s.LSMHook != "" {
			if _, ok := lsmPrograms[s.LSMHook]; !ok {
				t.Errorf("%s: no program for LSM hook %s", name, s.LSMHook)
			}
		}
		for _, h := range s.CgroupHooks {
			if _, ok := cgroupPrograms[h]; !ok {
				t.Errorf("%s: no program for cgroup hook %s", name, h)
			}
		}
	}
	if len(want) != len(SyscallNames()) {
		t.Errorf("table has %d syscalls, test pins %d", len(SyscallNames()), len(want))
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Syscalls: []string{"connect"}, Errno: "EPERM", ProbabilityBasisPoints: 10000}
	if err := good.validate(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]Config{
		"no syscall":  {Errno: "EPERM"},
		"unknown":     {Syscalls: []string{"ioctl"}, Errno: "EPERM"},
		"dup":         {Syscalls: []string{"read", "read"}, Errno: "EPERM"},
		"errno":       {Syscalls: []string{"read"}, Errno: "EBOGUS"},
		"probability": {Syscalls: []string{"read"}, Errno: "EIO", ProbabilityBasisPoints: 10001},
		"prefix":      {Syscalls: []string{"read"}, Errno: "EIO", PathPrefix: strings.Repeat("x", MaxPathPrefix+1)},
		"backend":     {Syscalls: []string{"read"}, Errno: "EIO", Backend: "ptrace"},
	} {
		if err := c.validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, c)
		}
	}
}
