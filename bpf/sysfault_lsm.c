//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Syscall faults through BPF LSM hooks (CONFIG_BPF_LSM and "bpf" in the
 * active LSM list). A hook is not a syscall: each program fails every
 * operation that reaches its hook, so one hook can stand for several
 * syscalls and also catches kernel paths that are not those syscalls. The
 * table in injector/syscall/names.go says which syscalls map to which hook;
 * what each hook also catches is noted beside each program below.
 *
 * An earlier LSM's denial (ret != 0) always wins. tb_sf_file_open,
 * tb_sf_file_perm and tb_sf_ftrunc honour a path prefix: file_open resolves
 * the opened file with bpf_d_path, which the kernel allows on file_open (a
 * sleepable-capable hook); file_permission and file_truncate are not on
 * that list (the verifier refuses bpf_d_path there on 6.1 and 6.12), so
 * they walk the file's path with include/sysfault_path.h, bounded (a path
 * deeper than the walk does not match). The inode_* hooks honour none.
 */
#include "sysfault.h"
#include "sysfault_path.h"
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * tb_sf_lsm_clamp bounds an LSM program's return value to [-4095, 0]: since
 * 6.11 the verifier rejects an LSM program that may return anything else.
 *
 * The programs return long (BPF_PROG takes the type written before it), not
 * int: with an int return, clang may leave a negative value zero-extended in
 * R0 (0x00000000ffffffff for -1), which is in range for a verifier that
 * checks the 32-bit bounds but not for one that checks the 64-bit bounds.
 * A long keeps R0 sign-extended and in range either way; the trampoline
 * still hands the hook's int caller the low 32 bits.
 */
static __always_inline long tb_sf_lsm_clamp(long v)
{
	/* 64-bit, with barriers: clang must not test a sign-extended copy, the
	 * value before a negation (the 6.12 verifier loses bounds across
	 * BPF_NEG), or both bounds at once as an unsigned range on a copy. */
	barrier_var(v);
	if (v < -4095)
		return -1; /* -EPERM */
	barrier_var(v);
	if (v > 0)
		return -1;
	return v;
}

/*
 * tb_sf_lsm_verdict_sa is tb_sf_lsm_verdict for the socket hooks: when
 * has_sa, sa is the kernel's copy of the call's struct sockaddr (NULL when
 * the call has none, as a send on a connected socket), which the socket
 * filters compare; salen is the length the task passed: the kernel's copy
 * holds only that many bytes, so a shorter address than its family's never
 * matches (the kernel fails the call with EINVAL anyway). Hooks without an address fail nothing under a filter.
 */
static __always_inline long tb_sf_lsm_verdict_sa(struct path *path, bool has_sa, const void *sa, long salen)
{
	struct tb_sf_config *cfg = tb_sf_get_config();
	__u32 slot;
	struct tb_sf_addr a = {};
	char *buf;

	if (!cfg)
		return 0;
	slot = tb_sf_task_slot(cfg);
	if (slot == TB_SF_NO_SLOT)
		return 0;
	if (cfg->sock_filter) {
		if (!has_sa || !tb_sf_read_sockaddr(&a, sa, false) || !tb_sf_sockaddr_len_ok(&a, salen) ||
		    !tb_sf_addr_matches(cfg, &a))
			return 0;
	}
	if (path && cfg->path_len) {
		buf = tb_sf_scratch_buf();
		if (!buf || bpf_d_path(path, buf, TB_SF_PATH_MAX) < 0)
			return 0;
		if (!tb_sf_path_matches(cfg, buf))
			return 0;
	}
	return tb_sf_lsm_clamp(-(long)tb_sf_roll(cfg, slot));
}

/*
 * tb_sf_lsm_verdict_file is the verdict of the hooks that get an open file:
 * the path prefix is compared with the file's path as the task sees it,
 * walked only for targeted tasks.
 */
static __always_inline long tb_sf_lsm_verdict_file(struct file *file)
{
	struct tb_sf_config *cfg = tb_sf_get_config();
	__u32 slot;

	if (!cfg)
		return 0;
	slot = tb_sf_task_slot(cfg);
	if (slot == TB_SF_NO_SLOT)
		return 0;
	if (cfg->sock_filter)
		return 0;
	if (cfg->path_len && !tb_sf_file_path_matches(cfg, file))
		return 0;
	return tb_sf_lsm_clamp(-(long)tb_sf_roll(cfg, slot));
}

/*
 * tb_sf_lsm_verdict returns 0 to allow, or -errno. path, when not NULL, is
 * resolved with bpf_d_path and compared with the configured prefix.
 */
static __always_inline long tb_sf_lsm_verdict(struct path *path)
{
	return tb_sf_lsm_verdict_sa(path, false, NULL, 0);
}

/* open, openat, creat; also openat2, open_by_handle_at, and the opens done
 * by execve and by the kernel on the task's behalf. */
SEC("lsm/file_open")
long BPF_PROG(tb_sf_file_open, struct file *file, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict((struct path *)&file->f_path);
}

/* read, write, pread64, pwrite64, readv, writev (by MAY_READ/MAY_WRITE);
 * also preadv2/pwritev2, splice, sendfile, copy_file_range. */
SEC("lsm/file_permission")
long BPF_PROG(tb_sf_file_perm, struct file *file, int mask, int ret)
{
	struct tb_sf_config *cfg;

	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	cfg = tb_sf_get_config();
	if (!cfg || !(mask & cfg->file_mask))
		return 0;
	return tb_sf_lsm_verdict_file(file);
}

/* connect, any address family including AF_UNIX (never matched by a socket
 * filter, which compares AF_INET and AF_INET6 addresses only). */
SEC("lsm/socket_connect")
long BPF_PROG(tb_sf_sock_conn, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict_sa(NULL, true, address, addrlen);
}

/* bind, any address family; the socket filters compare the local address
 * being bound. */
SEC("lsm/socket_bind")
long BPF_PROG(tb_sf_sock_bind, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict_sa(NULL, true, address, addrlen);
}

/* accept, accept4. */
SEC("lsm/socket_accept")
long BPF_PROG(tb_sf_sock_acc, struct socket *sock, struct socket *newsock, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* listen. */
SEC("lsm/socket_listen")
long BPF_PROG(tb_sf_sock_lstn, struct socket *sock, int backlog, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* sendto, sendmsg; also send, sendmmsg, and write(2) on a socket. */
SEC("lsm/socket_sendmsg")
long BPF_PROG(tb_sf_sock_send, struct socket *sock, struct msghdr *msg, int size, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	/* msg_name: the kernel's copy of the destination, NULL when none. */
	return tb_sf_lsm_verdict_sa(NULL, true, BPF_CORE_READ(msg, msg_name), BPF_CORE_READ(msg, msg_namelen));
}

/* recvfrom, recvmsg; also recv, recvmmsg, and read(2) on a socket. */
SEC("lsm/socket_recvmsg")
long BPF_PROG(tb_sf_sock_recv, struct socket *sock, struct msghdr *msg, int size, int flags, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* socket, socketpair; kernel-internal sockets (kern != 0) are left alone. */
SEC("lsm/socket_create")
long BPF_PROG(tb_sf_sock_crt, int family, int type, int protocol, int kern, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	if (kern)
		return 0;
	return tb_sf_lsm_verdict(NULL);
}

/* setsockopt. */
SEC("lsm/socket_setsockopt")
long BPF_PROG(tb_sf_sock_sopt, struct socket *sock, int level, int optname, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* getsockopt. */
SEC("lsm/socket_getsockopt")
long BPF_PROG(tb_sf_sock_gopt, struct socket *sock, int level, int optname, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* execve, execveat (after the binary is opened, before it replaces the
 * task: the call fails and the old image keeps running). */
SEC("lsm/bprm_check_security")
long BPF_PROG(tb_sf_bprm, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* clone, clone3, fork, vfork; also kernel threads created on the task's
 * behalf (io_uring workers) and pthread_create. */
SEC("lsm/task_alloc")
long BPF_PROG(tb_sf_task_alc, struct task_struct *task, u64 clone_flags, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* mkdir, mkdirat. */
SEC("lsm/inode_mkdir")
long BPF_PROG(tb_sf_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* unlink, unlinkat without AT_REMOVEDIR (rmdir goes to inode_rmdir). */
SEC("lsm/inode_unlink")
long BPF_PROG(tb_sf_unlink, struct inode *dir, struct dentry *dentry, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* rename, renameat, renameat2. */
SEC("lsm/inode_rename")
long BPF_PROG(tb_sf_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* truncate (CONFIG_SECURITY_PATH); also open with O_TRUNC. */
SEC("lsm/path_truncate")
long BPF_PROG(tb_sf_ptrunc, const struct path *path, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}

/* ftruncate (kernel >= 6.2). */
SEC("lsm/file_truncate")
long BPF_PROG(tb_sf_ftrunc, struct file *file, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict_file(file);
}

/* mmap, file-backed and anonymous alike; also shmat and remap paths. */
SEC("lsm/mmap_file")
long BPF_PROG(tb_sf_mmap, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (ret)
		return tb_sf_lsm_clamp((long)ret);
	return tb_sf_lsm_verdict(NULL);
}
