/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared state and decision logic of Temblor's syscall fault programs
 * (sysfault_kprobe.c, sysfault_fmodret.c, sysfault_lsm.c, sysfault_cgroup.c).
 *
 * Every backend answers the same question the same way: is the current task a
 * target (tb_sf_targets, keyed by netns inode, cgroup v2 id or mntns inode),
 * does the optional path prefix match, and does the dice roll in basis points
 * say "fail"? The maps are declared identically in every object so the Go
 * side creates them once and shares them between all programs of one
 * attachment (MapReplacements): counters add up across backends.
 *
 * Object names start with "tb_" and stay within 15 characters, so that
 * operators and tests recognise Temblor's programs and maps.
 */
#ifndef __TB_SYSFAULT_H
#define __TB_SYSFAULT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#if defined(__TARGET_ARCH_arm64)
/*
 * vmlinux.h is generated on x86, which lacks arm64's register layout; the
 * libbpf register macros read it through CO-RE, so a declaration of the
 * fields used is enough.
 */
struct user_pt_regs {
	__u64 regs[31];
	__u64 sp;
	__u64 pc;
	__u64 pstate;
} __attribute__((preserve_access_index));
#endif

/* Kinds of key in tb_sf_targets. Mirrored in injector/syscall/maps.go. */
#define TB_SF_KIND_NETNS 1
#define TB_SF_KIND_CGROUP 2
#define TB_SF_KIND_MNTNS 3

/* Bits of tb_sf_config.scope: which key kinds to look up. */
#define TB_SF_SCOPE_NETNS (1U << 0)
#define TB_SF_SCOPE_CGROUP (1U << 1)
#define TB_SF_SCOPE_MNTNS (1U << 2)
/* Every task reaching the program is a target: the attach point (a target
 * cgroup v2 directory) already scopes it. */
#define TB_SF_SCOPE_ALL (1U << 3)

/* Longest path prefix, a power of two so the verifier can bound indexes. */
#define TB_SF_PATH_MAX 256

/* Access masks of security_file_permission (include/linux/fs.h). */
#define TB_SF_MAY_WRITE 0x2
#define TB_SF_MAY_READ 0x4

/* Indexes in tb_sf_stats. Mirrored in injector/syscall/maps.go. */
#define TB_SF_STAT_MATCHED 0
#define TB_SF_STAT_FAILED 1
#define TB_SF_STAT_MAX 2

/* One target: a namespace inode or a cgroup id. */
struct tb_sf_key {
	__u32 kind;
	__u32 pad;
	__u64 id;
};

/* The fault, written once by Go before any program is attached. */
struct tb_sf_config {
	__u32 err;      /* positive errno to inject */
	__u32 prob_bp;  /* probability in basis points, 0..10000 */
	__u32 scope;    /* TB_SF_SCOPE_* */
	__u32 file_mask; /* TB_SF_MAY_* accesses that file_permission fails */
	__u32 path_len; /* 0: no path filter */
	__u32 pad;
	char path[TB_SF_PATH_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tb_sf_key);
	__type(value, __u8);
} tb_sf_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tb_sf_config);
} tb_sf_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TB_SF_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tb_sf_stats SEC(".maps");

/* Scratch space for a path, too large for the 512-byte stack beside the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[TB_SF_PATH_MAX]);
} tb_sf_scratch SEC(".maps");

static __always_inline struct tb_sf_config *tb_sf_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tb_sf_config, &zero);
}

static __always_inline void tb_sf_count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&tb_sf_stats, &stat);

	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline bool tb_sf_is_target(__u32 kind, __u64 id)
{
	struct tb_sf_key key = { .kind = kind, .id = id };

	return bpf_map_lookup_elem(&tb_sf_targets, &key) != NULL;
}

/*
 * tb_sf_task_targeted reports whether the current task is in scope. An
 * untargeted task pays one hash lookup per configured key kind (one in the
 * usual case of a single kind).
 */
static __always_inline bool tb_sf_task_targeted(const struct tb_sf_config *cfg)
{
	struct task_struct *task;

	if (cfg->scope & TB_SF_SCOPE_ALL)
		return true;
	if ((cfg->scope & TB_SF_SCOPE_CGROUP) &&
	    tb_sf_is_target(TB_SF_KIND_CGROUP, bpf_get_current_cgroup_id()))
		return true;
	if (!(cfg->scope & (TB_SF_SCOPE_NETNS | TB_SF_SCOPE_MNTNS)))
		return false;

	task = (struct task_struct *)bpf_get_current_task();
	if ((cfg->scope & TB_SF_SCOPE_NETNS) &&
	    tb_sf_is_target(TB_SF_KIND_NETNS, BPF_CORE_READ(task, nsproxy, net_ns, ns.inum)))
		return true;
	if ((cfg->scope & TB_SF_SCOPE_MNTNS) &&
	    tb_sf_is_target(TB_SF_KIND_MNTNS, BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum)))
		return true;
	return false;
}

/* tb_sf_path_matches compares a NUL-terminated path with the prefix. */
static __always_inline bool tb_sf_path_matches(const struct tb_sf_config *cfg, const char *path)
{
	for (__u32 i = 0; i < TB_SF_PATH_MAX; i++) {
		if (i >= cfg->path_len)
			return true;
		if (path[i] != cfg->path[i])
			return false;
	}
	return true;
}

/* tb_sf_scratch_buf returns the per-CPU path buffer, or NULL. */
static __always_inline char *tb_sf_scratch_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tb_sf_scratch, &zero);
}

/*
 * tb_sf_roll counts a matched call and decides whether to fail it: it returns
 * the positive errno to inject, or 0 to let the call through.
 */
static __always_inline __u32 tb_sf_roll(const struct tb_sf_config *cfg)
{
	tb_sf_count(TB_SF_STAT_MATCHED);
	if (cfg->prob_bp == 0)
		return 0;
	if (cfg->prob_bp < 10000 && bpf_get_prandom_u32() % 10000 >= cfg->prob_bp)
		return 0;
	tb_sf_count(TB_SF_STAT_FAILED);
	return cfg->err;
}

#endif /* __TB_SYSFAULT_H */
