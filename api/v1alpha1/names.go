package v1alpha1

// SyscallName is the Linux name of a system call a Fault can fail. The list
// is closed: injector/syscall maps each name to the kernel hooks that can
// serve it, and a test keeps the two lists equal.
// +kubebuilder:validation:Enum=accept;accept4;bind;clone;clone3;connect;creat;execve;fdatasync;fork;fsync;ftruncate;getsockopt;listen;mkdir;mkdirat;mmap;open;openat;pread64;pwrite64;read;readv;recvfrom;recvmsg;rename;renameat;renameat2;sendmsg;sendto;setsockopt;socket;truncate;unlink;unlinkat;vfork;write;writev
type SyscallName string

// ErrnoName is the symbolic name of an errno a failed system call returns.
// The list is closed; ErrnoNames gives it to Go code.
// +kubebuilder:validation:Enum=EACCES;EADDRINUSE;EADDRNOTAVAIL;EAGAIN;EALREADY;EBADF;EBUSY;ECANCELED;ECONNABORTED;ECONNREFUSED;ECONNRESET;EDEADLK;EDQUOT;EEXIST;EFAULT;EFBIG;EHOSTUNREACH;EINPROGRESS;EINTR;EINVAL;EIO;EISDIR;ELOOP;EMFILE;EMLINK;EMSGSIZE;ENAMETOOLONG;ENETDOWN;ENETUNREACH;ENFILE;ENOBUFS;ENODEV;ENOENT;ENOLCK;ENOMEM;ENOSPC;ENOSYS;ENOTCONN;ENOTDIR;ENOTEMPTY;ENXIO;EOVERFLOW;EPERM;EPIPE;EPROTO;EROFS;ESPIPE;ESTALE;ETIMEDOUT;ETXTBSY;EXDEV
type ErrnoName string

// SyscallNames lists every SyscallName the API accepts, sorted.
func SyscallNames() []SyscallName {
	return []SyscallName{
		"accept",
		"accept4",
		"bind",
		"clone",
		"clone3",
		"connect",
		"creat",
		"execve",
		"fdatasync",
		"fork",
		"fsync",
		"ftruncate",
		"getsockopt",
		"listen",
		"mkdir",
		"mkdirat",
		"mmap",
		"open",
		"openat",
		"pread64",
		"pwrite64",
		"read",
		"readv",
		"recvfrom",
		"recvmsg",
		"rename",
		"renameat",
		"renameat2",
		"sendmsg",
		"sendto",
		"setsockopt",
		"socket",
		"truncate",
		"unlink",
		"unlinkat",
		"vfork",
		"write",
		"writev",
	}
}

// ErrnoNames lists every ErrnoName the API accepts, sorted.
func ErrnoNames() []ErrnoName {
	return []ErrnoName{
		"EACCES",
		"EADDRINUSE",
		"EADDRNOTAVAIL",
		"EAGAIN",
		"EALREADY",
		"EBADF",
		"EBUSY",
		"ECANCELED",
		"ECONNABORTED",
		"ECONNREFUSED",
		"ECONNRESET",
		"EDEADLK",
		"EDQUOT",
		"EEXIST",
		"EFAULT",
		"EFBIG",
		"EHOSTUNREACH",
		"EINPROGRESS",
		"EINTR",
		"EINVAL",
		"EIO",
		"EISDIR",
		"ELOOP",
		"EMFILE",
		"EMLINK",
		"EMSGSIZE",
		"ENAMETOOLONG",
		"ENETDOWN",
		"ENETUNREACH",
		"ENFILE",
		"ENOBUFS",
		"ENODEV",
		"ENOENT",
		"ENOLCK",
		"ENOMEM",
		"ENOSPC",
		"ENOSYS",
		"ENOTCONN",
		"ENOTDIR",
		"ENOTEMPTY",
		"ENXIO",
		"EOVERFLOW",
		"EPERM",
		"EPIPE",
		"EPROTO",
		"EROFS",
		"ESPIPE",
		"ESTALE",
		"ETIMEDOUT",
		"ETXTBSY",
		"EXDEV",
	}
}
