package syscall

import (
	"sort"

	"golang.org/x/sys/unix"
)

// Class groups syscalls by what they act on.
type Class string

// Syscall classes. PathPrefix in [Config] applies to the syscalls of
// [PathFilterableSyscalls] only.
const (
	ClassFile    Class = "file"
	ClassNetwork Class = "network"
	ClassProcess Class = "process"
	ClassMemory  Class = "memory"
)

// Access masks of security_file_permission, as in include/linux/fs.h.
const (
	mayWrite uint32 = 0x2
	mayRead  uint32 = 0x4
)

// sockAddr says where the syscall entry backends (kprobe, fmod_ret) find the
// socket address of a syscall, for the socket filters.
type sockAddr int

const (
	sockAddrNone sockAddr = iota // no address argument
	sockAddrArg2                 // a struct sockaddr * in argument 2 (connect, bind)
	sockAddrArg5                 // a struct sockaddr * in argument 5 (sendto)
	sockAddrMsg2                 // msg_name of the struct msghdr * in argument 2 (sendmsg)
)

// Syscall describes how each backend can fail one syscall.
type Syscall struct {
	// Name is the syscall's name as in syscalls(2).
	Name string
	// Class says what the syscall acts on.
	Class Class
	// PathArg is the 1-based index of the argument holding a user path, which
	// the kprobe and fmod_ret backends compare with the path prefix; 0 when
	// the syscall takes no path (those backends then cannot filter by path).
	PathArg int
	// FDArg is the 1-based index of the argument holding a file descriptor,
	// whose open file's path (as the task sees it, walked in BPF) the kprobe
	// and fmod_ret backends compare with the path prefix; 0 when none.
	FDArg int
	// LSMHook is the BPF LSM hook the syscall reaches ("" when none does).
	LSMHook string
	// LSMMask, for the file_permission hook, is the MAY_READ or MAY_WRITE
	// access that tells this syscall's calls apart from the others.
	LSMMask uint32
	// LSMPath is true when the LSM hook resolves the file's path, so the path
	// prefix can be honoured there.
	LSMPath bool
	// LSMAlsoCatches lists what else the LSM hook fails besides this syscall.
	LSMAlsoCatches string
	// CgroupHooks are the cgroup v2 attach points (libbpf section names) that
	// fail the syscall; empty when no cgroup hook can.
	CgroupHooks []string
	// CgroupLimits says which calls of the syscall the cgroup hooks miss.
	CgroupLimits string
	// SockAddr says where the entry backends read the socket address that
	// ports and peer CIDRs are compared with; sockAddrNone for syscalls
	// that carry none (the socket filters then do not apply).
	SockAddr sockAddr
	// LSMAddr is true when the LSM hook's program reads the socket address.
	LSMAddr bool
	// CgroupAddr is true when the cgroup hooks' programs read the socket
	// address (the sock_addr context).
	CgroupAddr bool
}

var syscallTable = func() map[string]Syscall {
	const (
		fileOpenAlso = "openat2, open_by_handle_at, the opens done by execve and by the kernel for the task"
		readAlso     = "preadv, preadv2, splice, sendfile, copy_file_range (MAY_READ side)"
		writeAlso    = "pwritev, pwritev2, splice, sendfile, copy_file_range (MAY_WRITE side)"
		sendAlso     = "send, sendto, sendmsg, sendmmsg and write(2) on sockets"
		recvAlso     = "recv, recvfrom, recvmsg, recvmmsg and read(2) on sockets"
		forkAlso     = "clone, clone3, fork, vfork, pthread_create and io_uring worker threads"
		udpOnly      = "only unconnected UDP sends with a destination address (no TCP, no connected UDP)"
	)
	list := []Syscall{
		{Name: "open", Class: ClassFile, PathArg: 1, LSMHook: "file_open", LSMPath: true, LSMAlsoCatches: fileOpenAlso},
		{Name: "openat", Class: ClassFile, PathArg: 2, LSMHook: "file_open", LSMPath: true, LSMAlsoCatches: fileOpenAlso},
		{Name: "creat", Class: ClassFile, PathArg: 1, LSMHook: "file_open", LSMPath: true, LSMAlsoCatches: fileOpenAlso},
		{Name: "read", Class: ClassFile, FDArg: 1, LSMHook: "file_permission", LSMMask: mayRead, LSMPath: true, LSMAlsoCatches: readAlso},
		{Name: "pread64", Class: ClassFile, FDArg: 1, LSMHook: "file_permission", LSMMask: mayRead, LSMPath: true, LSMAlsoCatches: readAlso},
		{Name: "readv", Class: ClassFile, FDArg: 1, LSMHook: "file_permission", LSMMask: mayRead, LSMPath: true, LSMAlsoCatches: readAlso},
		{Name: "write", Class: ClassFile, FDArg: 1, LSMHook: "file_permission", LSMMask: mayWrite, LSMPath: true, LSMAlsoCatches: writeAlso},
		{Name: "pwrite64", Class: ClassFile, FDArg: 1, LSMHook: "file_permission", LSMMask: mayWrite, LSMPath: true, LSMAlsoCatches: writeAlso},
		{Name: "writev", Class: ClassFile, FDArg: 1, LSMHook: "file_permission", LSMMask: mayWrite, LSMPath: true, LSMAlsoCatches: writeAlso},
		{Name: "fsync", Class: ClassFile, FDArg: 1},
		{Name: "fdatasync", Class: ClassFile, FDArg: 1},
		{Name: "truncate", Class: ClassFile, PathArg: 1, LSMHook: "path_truncate", LSMAlsoCatches: "open with O_TRUNC (needs CONFIG_SECURITY_PATH)"},
		{Name: "ftruncate", Class: ClassFile, FDArg: 1, LSMHook: "file_truncate", LSMPath: true, LSMAlsoCatches: "nothing else (hook exists since Linux 6.2)"},
		{Name: "mkdir", Class: ClassFile, PathArg: 1, LSMHook: "inode_mkdir", LSMAlsoCatches: "mkdirat"},
		{Name: "mkdirat", Class: ClassFile, PathArg: 2, LSMHook: "inode_mkdir", LSMAlsoCatches: "mkdir"},
		{Name: "unlink", Class: ClassFile, PathArg: 1, LSMHook: "inode_unlink", LSMAlsoCatches: "unlinkat without AT_REMOVEDIR (rmdir is inode_rmdir, not failed)"},
		{Name: "unlinkat", Class: ClassFile, PathArg: 2, LSMHook: "inode_unlink", LSMAlsoCatches: "unlink; not unlinkat(AT_REMOVEDIR), which reaches inode_rmdir"},
		{Name: "rename", Class: ClassFile, PathArg: 1, LSMHook: "inode_rename", LSMAlsoCatches: "renameat, renameat2"},
		{Name: "renameat", Class: ClassFile, PathArg: 2, LSMHook: "inode_rename", LSMAlsoCatches: "rename, renameat2"},
		{Name: "renameat2", Class: ClassFile, PathArg: 2, LSMHook: "inode_rename", LSMAlsoCatches: "rename, renameat"},
		{Name: "mmap", Class: ClassMemory, LSMHook: "mmap_file", LSMAlsoCatches: "anonymous and file mmap alike, shmat, remap_file_pages"},
		{Name: "connect", Class: ClassNetwork, LSMHook: "socket_connect", LSMAlsoCatches: "nothing else; every address family",
			CgroupHooks: []string{"cgroup/connect4", "cgroup/connect6"}, CgroupLimits: "only AF_INET and AF_INET6 sockets",
			SockAddr: sockAddrArg2, LSMAddr: true, CgroupAddr: true},
		{Name: "bind", Class: ClassNetwork, LSMHook: "socket_bind", LSMAlsoCatches: "nothing else; every address family",
			CgroupHooks: []string{"cgroup/bind4", "cgroup/bind6"}, CgroupLimits: "only AF_INET and AF_INET6 sockets",
			SockAddr: sockAddrArg2, LSMAddr: true, CgroupAddr: true},
		{Name: "listen", Class: ClassNetwork, LSMHook: "socket_listen", LSMAlsoCatches: "nothing else"},
		{Name: "accept", Class: ClassNetwork, LSMHook: "socket_accept", LSMAlsoCatches: "accept4"},
		{Name: "accept4", Class: ClassNetwork, LSMHook: "socket_accept", LSMAlsoCatches: "accept"},
		{Name: "sendto", Class: ClassNetwork, LSMHook: "socket_sendmsg", LSMAlsoCatches: sendAlso,
			CgroupHooks: []string{"cgroup/sendmsg4", "cgroup/sendmsg6"}, CgroupLimits: udpOnly,
			SockAddr: sockAddrArg5, LSMAddr: true, CgroupAddr: true},
		{Name: "sendmsg", Class: ClassNetwork, LSMHook: "socket_sendmsg", LSMAlsoCatches: sendAlso,
			CgroupHooks: []string{"cgroup/sendmsg4", "cgroup/sendmsg6"}, CgroupLimits: udpOnly,
			SockAddr: sockAddrMsg2, LSMAddr: true, CgroupAddr: true},
		{Name: "recvfrom", Class: ClassNetwork, LSMHook: "socket_recvmsg", LSMAlsoCatches: recvAlso},
		{Name: "recvmsg", Class: ClassNetwork, LSMHook: "socket_recvmsg", LSMAlsoCatches: recvAlso},
		{Name: "socket", Class: ClassNetwork, LSMHook: "socket_create", LSMAlsoCatches: "socketpair; never kernel sockets",
			CgroupHooks: []string{"cgroup/sock_create"}, CgroupLimits: "only AF_INET and AF_INET6 sockets"},
		{Name: "setsockopt", Class: ClassNetwork, LSMHook: "socket_setsockopt", LSMAlsoCatches: "nothing else",
			CgroupHooks: []string{"cgroup/setsockopt"}},
		{Name: "getsockopt", Class: ClassNetwork, LSMHook: "socket_getsockopt", LSMAlsoCatches: "nothing else",
			CgroupHooks: []string{"cgroup/getsockopt"}, CgroupLimits: "runs after the kernel answered; the answer is discarded"},
		{Name: "execve", Class: ClassProcess, PathArg: 1, LSMHook: "bprm_check_security", LSMAlsoCatches: "execveat"},
		{Name: "clone", Class: ClassProcess, LSMHook: "task_alloc", LSMAlsoCatches: forkAlso},
		{Name: "clone3", Class: ClassProcess, LSMHook: "task_alloc", LSMAlsoCatches: forkAlso},
		{Name: "fork", Class: ClassProcess, LSMHook: "task_alloc", LSMAlsoCatches: forkAlso},
		{Name: "vfork", Class: ClassProcess, LSMHook: "task_alloc", LSMAlsoCatches: forkAlso},
	}
	m := make(map[string]Syscall, len(list))
	for _, s := range list {
		m[s.Name] = s
	}
	return m
}()

var errnoTable = map[string]unix.Errno{
	"EPERM": unix.EPERM, "ENOENT": unix.ENOENT, "EINTR": unix.EINTR, "EIO": unix.EIO,
	"ENXIO": unix.ENXIO, "EBADF": unix.EBADF, "EAGAIN": unix.EAGAIN, "ENOMEM": unix.ENOMEM,
	"EACCES": unix.EACCES, "EFAULT": unix.EFAULT, "EBUSY": unix.EBUSY, "EEXIST": unix.EEXIST,
	"ENODEV": unix.ENODEV, "ENOTDIR": unix.ENOTDIR, "EISDIR": unix.EISDIR, "EINVAL": unix.EINVAL,
	"ENFILE": unix.ENFILE, "EMFILE": unix.EMFILE, "ETXTBSY": unix.ETXTBSY, "EFBIG": unix.EFBIG,
	"ENOSPC": unix.ENOSPC, "ESPIPE": unix.ESPIPE, "EROFS": unix.EROFS, "EMLINK": unix.EMLINK,
	"EPIPE": unix.EPIPE, "ENAMETOOLONG": unix.ENAMETOOLONG, "ENOSYS": unix.ENOSYS,
	"ENOTEMPTY": unix.ENOTEMPTY, "ELOOP": unix.ELOOP, "EDQUOT": unix.EDQUOT,
	"ETIMEDOUT": unix.ETIMEDOUT, "ECONNREFUSED": unix.ECONNREFUSED, "ECONNRESET": unix.ECONNRESET,
	"ECONNABORTED": unix.ECONNABORTED, "EHOSTUNREACH": unix.EHOSTUNREACH,
	"ENETUNREACH": unix.ENETUNREACH, "ENETDOWN": unix.ENETDOWN, "EADDRINUSE": unix.EADDRINUSE,
	"EADDRNOTAVAIL": unix.EADDRNOTAVAIL, "ENOBUFS": unix.ENOBUFS, "EMSGSIZE": unix.EMSGSIZE,
	"EPROTO": unix.EPROTO, "ENOTCONN": unix.ENOTCONN, "EALREADY": unix.EALREADY,
	"EINPROGRESS": unix.EINPROGRESS, "EDEADLK": unix.EDEADLK, "ENOLCK": unix.ENOLCK,
	"ESTALE": unix.ESTALE, "ECANCELED": unix.ECANCELED, "EOVERFLOW": unix.EOVERFLOW,
	"EXDEV": unix.EXDEV,
}

// Lookup returns how each backend can fail the named syscall.
func Lookup(name string) (Syscall, bool) {
	s, ok := syscallTable[name]
	if ok {
		s.CgroupHooks = append([]string(nil), s.CgroupHooks...)
	}
	return s, ok
}

// SyscallNames returns the names of the syscalls Temblor can fail, sorted.
// hack/gennames writes the API's enum of syscall names from it.
func SyscallNames() []string {
	names := make([]string, 0, len(syscallTable))
	for n := range syscallTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrnoNames returns the errno names a fault may inject, sorted. The API's
// enum of errno names is generated from it (hack/gennames).
func ErrnoNames() []string {
	names := make([]string, 0, len(errnoTable))
	for n := range errnoTable {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Errno returns the number of the named errno, and whether it is one a fault
// may inject.
func Errno(name string) (unix.Errno, bool) {
	e, ok := errnoTable[name]
	return e, ok
}

// PathFilterableSyscalls returns, sorted, the syscalls that some backend can
// restrict to a path prefix. The CRD's rule on pathPrefix lists exactly these
// (TestCRDClosedLists).
func PathFilterableSyscalls() []string {
	var names []string
	for n, s := range syscallTable {
		if s.pathCapable() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// AddressFilterableSyscalls returns, sorted, the syscalls that carry a socket
// address the socket filters (ports, peer CIDRs) compare. The CRD's rule on
// ports and peerCIDRs lists exactly these (TestCRDClosedLists).
func AddressFilterableSyscalls() []string {
	var names []string
	for n, s := range syscallTable {
		if s.SockAddr != sockAddrNone {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// pathCapable reports whether some backend can compare s's path with a
// prefix: the entry backends through a path or file descriptor argument, or
// the LSM hook through the file it gets.
func (s Syscall) pathCapable() bool { return s.PathArg != 0 || s.FDArg != 0 || s.LSMPath }
