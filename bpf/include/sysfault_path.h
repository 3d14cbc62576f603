/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The path of an open file as the current task sees it, for the path
 * prefix of the programs that get a struct file (LSM file_permission and
 * file_truncate) or a file descriptor (the entry programs of read, write,
 * fsync, ftruncate, ...).
 *
 * bpf_d_path would do, but the kernel allows it in LSM programs only on its
 * sleepable-hook list (file_open is on it, file_permission and file_truncate
 * are not: the verifier says "helper call is not allowed in probe") and in
 * tracing programs only on a short allowlist. So the path is walked here,
 * the way fs/d_path.c's prepend_path (and Tetragon's bpf/process/bpf_d_path
 * copy of it) does: d_parent up to the task's fs->root; at a mount's root,
 * hop to the mountpoint in the parent mount. The result is relative to the
 * task's root and crosses mounts, so a container's /var/lib/index/x reads as
 * that, not as the overlay's path on the host; a bind mount reads as where
 * it is mounted.
 *
 * Limits, all of which make the file not match (the fault fails nothing for
 * it, never everything):
 *   - more than TB_SF_WALK_MAX path components (deeper than the walk);
 *   - more than TB_SF_MNT_HOPS mount crossings;
 *   - a file the task cannot reach from its root (an internal mount: pipes,
 *     sockets, anonymous inodes; a mount outside a chroot; a disconnected
 *     dentry).
 * The walk reads without the kernel's rename and mount locks: a concurrent
 * rename can make one call see the old or the new path.
 *
 * Only the components needed to compare the prefix are copied: the walk
 * collects dentries leaf-first, then copies names root-first until the
 * prefix length is reached.
 */
#ifndef __TB_SYSFAULT_PATH_H
#define __TB_SYSFAULT_PATH_H

#include "sysfault.h"

/* Most path components walked; mirrored as MaxPathDepth in
 * injector/syscall/config.go. A power of two (indexes are masked). */
#define TB_SF_WALK_MAX 32
/* Most mounts crossed on the way up. */
#define TB_SF_MNT_HOPS 8

/* Per-CPU walk state: too large for the stack. out has room for a prefix's
 * worth of path plus one more component (masked offsets stay inside). */
struct tb_sf_walk {
	__u32 n; /* dentries collected */
	__u32 pad;
	__u64 dentries[TB_SF_WALK_MAX];
	char out[2 * TB_SF_PATH_MAX];
};

/*
 * The count of collected dentries lives in the map value and is read and
 * written through volatile accesses: a register counter would be a known
 * constant on each verifier path, and every (iteration, count) pair would
 * then be a distinct state to explore (the 1M-instruction limit is hit).
 * Read back from memory it is an unknown scalar, and the loops' states
 * prune.
 */
static __always_inline __u32 tb_sf_walk_n(struct tb_sf_walk *w)
{
	return *(volatile __u32 *)&w->n;
}

static __always_inline void tb_sf_walk_set_n(struct tb_sf_walk *w, __u32 n)
{
	*(volatile __u32 *)&w->n = n;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tb_sf_walk);
} tb_sf_walk SEC(".maps");

/*
 * tb_sf_dentry_path_matches reports whether the path of (dentry, vfsmnt),
 * as the current task sees it, starts with the configured prefix. See the
 * limits above: a path the walk cannot finish does not match.
 */
static __always_inline bool tb_sf_dentry_path_matches(const struct tb_sf_config *cfg, struct dentry *dentry,
						      struct vfsmount *vfsmnt)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct dentry *root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	struct vfsmount *root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	__u64 mnt_off = bpf_core_field_offset(struct mount, mnt);
	struct mount *mnt = (struct mount *)((void *)vfsmnt - mnt_off);
	struct tb_sf_walk *w;
	__u32 zero = 0, n, pos = 0, i;

	w = bpf_map_lookup_elem(&tb_sf_walk, &zero);
	if (!w || !dentry || !vfsmnt)
		return false;
	tb_sf_walk_set_n(w, 0);

	/* Up: collect the components, leaf first. */
	for (i = 0; i < TB_SF_WALK_MAX + TB_SF_MNT_HOPS + 1; i++) {
		struct dentry *mnt_root, *parent;
		struct mount *up;

		if (dentry == root_dentry && vfsmnt == root_mnt)
			goto walked;
		mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
		parent = BPF_CORE_READ(dentry, d_parent);
		if (dentry == mnt_root) {
			up = BPF_CORE_READ(mnt, mnt_parent);
			if (!up || up == mnt)
				return false; /* a mount the task's root does not reach */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = up;
			vfsmnt = (struct vfsmount *)((void *)mnt + mnt_off);
			continue;
		}
		if (dentry == parent || !parent)
			return false; /* disconnected */
		n = tb_sf_walk_n(w);
		if (n >= TB_SF_WALK_MAX)
			return false; /* deeper than the walk: no match */
		w->dentries[n & (TB_SF_WALK_MAX - 1)] = (__u64)dentry;
		tb_sf_walk_set_n(w, n + 1);
		dentry = parent;
	}
	return false; /* more mount hops than the walk allows */

walked:
	/* Down: copy "/name" per component, root first, until the prefix is
	 * covered, then a NUL (no prefix byte is NUL: a path shorter than the
	 * prefix does not match). pos < TB_SF_PATH_MAX at each copy. */
	n = tb_sf_walk_n(w);
	if (n == 0) {
		w->out[0] = '/';
		pos = 1;
	}
	for (i = 0; i < TB_SF_WALK_MAX; i++) {
		struct dentry *d;
		const unsigned char *name;
		__u32 len, p;

		if (i >= n || pos >= cfg->path_len || pos >= TB_SF_PATH_MAX)
			break;
		d = (struct dentry *)w->dentries[(n - 1 - i) & (TB_SF_WALK_MAX - 1)];
		len = BPF_CORE_READ(d, d_name.len);
		name = BPF_CORE_READ(d, d_name.name);
		barrier_var(pos); /* mask the copy the verifier sees */
		p = pos & (TB_SF_PATH_MAX - 1);
		barrier_var(p);
		w->out[p] = '/';
		if (len > TB_SF_PATH_MAX - 1)
			len = TB_SF_PATH_MAX - 1;
		barrier_var(len);
		len &= TB_SF_PATH_MAX - 1;
		if (bpf_probe_read_kernel(&w->out[p + 1], len, name))
			return false;
		pos = p + 1 + len;
	}
	w->out[pos & (2 * TB_SF_PATH_MAX - 1)] = 0;

	for (i = 0; i < TB_SF_PATH_MAX; i++) {
		if (i >= cfg->path_len)
			return true;
		if (w->out[i] != cfg->path[i])
			return false;
	}
	return true;
}

/* tb_sf_file_path_matches is tb_sf_dentry_path_matches for an open file. */
static __always_inline bool tb_sf_file_path_matches(const struct tb_sf_config *cfg, struct file *file)
{
	if (!file)
		return false;
	return tb_sf_dentry_path_matches(cfg, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt));
}

/*
 * tb_sf_fd_path_matches resolves the current task's file descriptor fd
 * (task->files->fdt->fd[fd]) and compares its path. A closed or
 * out-of-range descriptor does not match (the syscall fails with EBADF on
 * its own).
 */
static __always_inline bool tb_sf_fd_path_matches(const struct tb_sf_config *cfg, long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;
	unsigned int max;

	if (!fdt || fd < 0)
		return false;
	max = BPF_CORE_READ(fdt, max_fds);
	if (fd >= max)
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (!fds || bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return false;
	return tb_sf_file_path_matches(cfg, file);
}

/*
 * tb_sf_entry_fd_verdict is tb_sf_entry_verdict for the syscalls whose
 * argument is a file descriptor: the path prefix is compared with the open
 * file's path, only for targeted tasks. 0 lets the call run, -errno fails it.
 */
static __always_inline long tb_sf_entry_fd_verdict(long fd)
{
	struct tb_sf_config *cfg = tb_sf_get_config();
	__u32 slot;

	if (!cfg)
		return 0;
	slot = tb_sf_task_slot(cfg);
	if (slot == TB_SF_NO_SLOT)
		return 0;
	if (cfg->sock_filter)
		return 0; /* no address: a socket filter only narrows */
	if (cfg->path_len && !tb_sf_fd_path_matches(cfg, fd))
		return 0;
	return -(long)tb_sf_roll(cfg, slot);
}

#endif /* __TB_SYSFAULT_PATH_H */
