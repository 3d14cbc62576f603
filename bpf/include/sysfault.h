/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared state and decision logic of Temblor's syscall fault programs
 * (sysfault_kprobe.c, sysfault_fmodret.c, sysfault_lsm.c, sysfault_cgroup.c).
 *
 * Every backend answers the same question the same way: is the current task a
 * target (tb_sf_targets, keyed by netns inode, cgroup v2 id or mntns inode),
 * does the optional path prefix match, do the optional socket filters (port
 * ranges in tb_sf_config, peer CIDRs in the tb_sf_peers LPM trie) match the
 * call's address, and does the dice roll in basis points say "fail"? The
 * filters are read only after the target check: untargeted tasks do not pay
 * for them. The maps are declared identically in every object so the Go
 * side creates them once and shares them between all programs of one
 * shared load (MapReplacements): counters add up across backends, per
 * target slot (TB_SF_SLOTS).
 *
 * Object names start with "tb_" and stay within 15 characters, so that
 * operators and tests recognise Temblor's programs and maps.
 */
#ifndef __TB_SYSFAULT_H
#define __TB_SYSFAULT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "probability.h"

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

/* Socket filters (tb_sf_config.sock_filter bits). Mirrored in
 * injector/syscall/maps.go. */
#define TB_SF_FILTER_PORTS (1U << 0)
#define TB_SF_FILTER_PEERS (1U << 1)
#define TB_SF_PORTS_MAX 8
#define TB_SF_PEERS_MAX 64

/* Address families the socket filters understand (linux/socket.h). */
#define TB_SF_AF_INET 2
#define TB_SF_AF_INET6 10

/* Counters of one slot in tb_sf_stats, at slot * TB_SF_STAT_MAX + stat.
 * Mirrored in injector/syscall/maps.go. */
#define TB_SF_STAT_MATCHED 0
#define TB_SF_STAT_FAILED 1
#define TB_SF_STAT_MAX 2

/*
 * One loaded copy of the programs serves every attachment of an equal
 * fault: each attachment (target) owns a slot, the value of its keys in
 * tb_sf_targets, and counts into that slot of tb_sf_stats. Slot 0 counts the
 * calls of a task the attach point alone scoped (TB_SF_SCOPE_ALL) whose
 * cgroup no key names; the Go side hands out slots 1..TB_SF_SLOTS-1.
 */
#define TB_SF_SLOTS 256
/* Not a target: what tb_sf_task_slot returns for a task out of scope. */
#define TB_SF_NO_SLOT ((__u32)-1)
/* Deepest cgroup level the attach-point scope looks a slot up at. */
#define TB_SF_CGROUP_LEVELS 16

/* One target: a namespace inode or a cgroup id. */
struct tb_sf_key {
	__u32 kind;
	__u32 pad;
	__u64 id;
};

/* An inclusive port range, host byte order. */
struct tb_sf_port_range {
	__u16 from;
	__u16 to;
};

/* The fault, written once by Go before any program is attached. */
struct tb_sf_config {
	__u32 err;      /* positive errno to inject */
	__u32 probability; /* basis points, 0..TB_PROB_ONE */
	__u32 scope;    /* TB_SF_SCOPE_* */
	__u32 file_mask; /* TB_SF_MAY_* accesses that file_permission fails */
	__u32 path_len; /* 0: no path filter */
	__u32 sock_filter; /* TB_SF_FILTER_*; 0: no socket filter */
	__u32 nports;   /* ranges used in ports, 0..TB_SF_PORTS_MAX */
	__u32 pad;
	struct tb_sf_port_range ports[TB_SF_PORTS_MAX];
	char path[TB_SF_PATH_MAX];
};

/*
 * Key of tb_sf_peers, an LPM trie holding the peer CIDRs of both families:
 * the family is part of the matched data, so prefixlen is 32 + the CIDR's
 * bits and an IPv4 address never matches an IPv6 CIDR.
 */
struct tb_sf_peer_key {
	__u32 prefixlen;
	__u32 family;   /* TB_SF_AF_INET or TB_SF_AF_INET6 */
	__u8 addr[16];  /* network byte order; IPv4 in the first 4 bytes */
};

/* A socket address as the filters see it. */
struct tb_sf_addr {
	__u32 family;
	__u16 port;     /* host byte order */
	__u16 pad;
	__u8 addr[16];  /* network byte order; IPv4 in the first 4 bytes */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tb_sf_key);
	__type(value, __u32); /* the target's slot */
} tb_sf_targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tb_sf_config);
} tb_sf_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TB_SF_SLOTS * TB_SF_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tb_sf_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TB_SF_PEERS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tb_sf_peer_key);
	__type(value, __u8);
} tb_sf_peers SEC(".maps");

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

static __always_inline void tb_sf_count(__u32 slot, __u32 stat)
{
	__u32 idx = slot * TB_SF_STAT_MAX + stat;
	__u64 *v = bpf_map_lookup_elem(&tb_sf_stats, &idx);

	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

/* tb_sf_target_slot returns the slot of a key, or TB_SF_NO_SLOT. */
static __always_inline __u32 tb_sf_target_slot(__u32 kind, __u64 id)
{
	struct tb_sf_key key = { .kind = kind, .id = id };
	__u32 *slot = bpf_map_lookup_elem(&tb_sf_targets, &key);

	return slot ? *slot : TB_SF_NO_SLOT;
}

/*
 * tb_sf_ancestor_slot returns the slot of the outermost cgroup above the
 * current task's that is a target, or 0: a task the attach point scoped
 * whose own cgroup is not (yet) a key, as in a container cgroup created
 * since the last time the Go side followed the subtree.
 */
static __always_inline __u32 tb_sf_ancestor_slot(void)
{
	for (int level = 1; level < TB_SF_CGROUP_LEVELS; level++) {
		__u64 id = bpf_get_current_ancestor_cgroup_id(level);
		__u32 slot;

		if (!id)
			break;
		slot = tb_sf_target_slot(TB_SF_KIND_CGROUP, id);
		if (slot != TB_SF_NO_SLOT)
			return slot;
	}
	return 0;
}

/*
 * tb_sf_task_slot returns the current task's slot, or TB_SF_NO_SLOT when it
 * is not in scope. An untargeted task pays one hash lookup per configured
 * key kind (one in the usual case of a single kind).
 */
static __always_inline __u32 tb_sf_task_slot(const struct tb_sf_config *cfg)
{
	struct task_struct *task;
	__u32 slot;

	if (cfg->scope & TB_SF_SCOPE_CGROUP) {
		slot = tb_sf_target_slot(TB_SF_KIND_CGROUP, bpf_get_current_cgroup_id());
		if (slot != TB_SF_NO_SLOT)
			return slot;
	}
	if (cfg->scope & TB_SF_SCOPE_ALL)
		return tb_sf_ancestor_slot();
	if (!(cfg->scope & (TB_SF_SCOPE_NETNS | TB_SF_SCOPE_MNTNS)))
		return TB_SF_NO_SLOT;

	task = (struct task_struct *)bpf_get_current_task();
	if (cfg->scope & TB_SF_SCOPE_NETNS) {
		slot = tb_sf_target_slot(TB_SF_KIND_NETNS, BPF_CORE_READ(task, nsproxy, net_ns, ns.inum));
		if (slot != TB_SF_NO_SLOT)
			return slot;
	}
	if (cfg->scope & TB_SF_SCOPE_MNTNS)
		return tb_sf_target_slot(TB_SF_KIND_MNTNS, BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum));
	return TB_SF_NO_SLOT;
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
 * tb_sf_addr_matches reports whether a passes the port ranges and the peer
 * CIDRs that are configured. Only AF_INET and AF_INET6 addresses can match.
 */
static __always_inline bool tb_sf_addr_matches(const struct tb_sf_config *cfg, const struct tb_sf_addr *a)
{
	struct tb_sf_peer_key key = {};
	bool hit = false;

	if (a->family != TB_SF_AF_INET && a->family != TB_SF_AF_INET6)
		return false;
	if (cfg->sock_filter & TB_SF_FILTER_PORTS) {
		for (__u32 i = 0; i < TB_SF_PORTS_MAX; i++) {
			if (i >= cfg->nports)
				break;
			if (a->port >= cfg->ports[i].from && a->port <= cfg->ports[i].to) {
				hit = true;
				break;
			}
		}
		if (!hit)
			return false;
	}
	if (cfg->sock_filter & TB_SF_FILTER_PEERS) {
		key.prefixlen = 32 + (a->family == TB_SF_AF_INET ? 32 : 128);
		key.family = a->family;
		__builtin_memcpy(key.addr, a->addr, sizeof(key.addr));
		if (!bpf_map_lookup_elem(&tb_sf_peers, &key))
			return false;
	}
	return true;
}

/*
 * tb_sf_sock_filter_ok reports whether a call passes the socket filters: it
 * always does without a filter; with one, a call whose address the program
 * cannot see (a is NULL) never does, so that a filter only ever narrows.
 */
static __always_inline bool tb_sf_sock_filter_ok(const struct tb_sf_config *cfg, const struct tb_sf_addr *a)
{
	if (!cfg->sock_filter)
		return true;
	if (!a)
		return false;
	return tb_sf_addr_matches(cfg, a);
}

/*
 * tb_sf_read_sockaddr fills a from a struct sockaddr at sa, in user memory
 * when user is true, else in kernel memory. It reads the family first and
 * then only as many bytes as that family's address has, so that a short
 * sockaddr_in at the end of a page is not read past. It returns false when
 * sa is NULL or unreadable, or not AF_INET or AF_INET6.
 */
static __always_inline bool tb_sf_read_sockaddr(struct tb_sf_addr *a, const void *sa, bool user)
{
	struct sockaddr_in6 sin6 = {};
	struct sockaddr_in *sin = (struct sockaddr_in *)&sin6;
	long err;

	if (!sa)
		return false;
	err = user ? bpf_probe_read_user(&sin6, 4, sa) : bpf_probe_read_kernel(&sin6, 4, sa);
	if (err)
		return false;
	switch (sin6.sin6_family) {
	case TB_SF_AF_INET:
		err = user ? bpf_probe_read_user(sin, sizeof(*sin), sa) : bpf_probe_read_kernel(sin, sizeof(*sin), sa);
		if (err)
			return false;
		a->family = TB_SF_AF_INET;
		a->port = bpf_ntohs(sin->sin_port);
		__builtin_memcpy(a->addr, &sin->sin_addr, 4);
		return true;
	case TB_SF_AF_INET6:
		err = user ? bpf_probe_read_user(&sin6, sizeof(sin6), sa) : bpf_probe_read_kernel(&sin6, sizeof(sin6), sa);
		if (err)
			return false;
		a->family = TB_SF_AF_INET6;
		a->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(a->addr, &sin6.sin6_addr, 16);
		return true;
	}
	return false;
}

/*
 * The sixth syscall argument from the saved user registers (libbpf 1.1's
 * bpf_tracing.h stops at the fifth): sendto's addrlen.
 */
#if defined(__TARGET_ARCH_x86)
#define TB_SF_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((const struct pt_regs *)(x), r9)
#elif defined(__TARGET_ARCH_arm64)
#define TB_SF_PARM6_CORE_SYSCALL(x) BPF_CORE_READ((const struct user_pt_regs *)(x), regs[5])
#endif

/*
 * The shortest address each family's connect, bind and sendmsg take:
 * sizeof(struct sockaddr_in), and SIN6_LEN_RFC2133 (a sockaddr_in6 without
 * sin6_scope_id). The kernel fails a shorter one with EINVAL.
 */
#define TB_SF_SIN_MIN_LEN 16
#define TB_SF_SIN6_MIN_LEN 24

/*
 * tb_sf_sockaddr_len_ok says whether len, the address length the task
 * passed, covers the address a read by tb_sf_read_sockaddr (which reads a
 * fixed size). A shorter one is "no match": its bytes past len were never
 * the task's, and the kernel refuses the call anyway.
 */
static __always_inline bool tb_sf_sockaddr_len_ok(const struct tb_sf_addr *a, long len)
{
	if (a->family == TB_SF_AF_INET)
		return len >= TB_SF_SIN_MIN_LEN;
	return len >= TB_SF_SIN6_MIN_LEN;
}

/*
 * tb_sf_roll counts a matched call in slot and decides whether to fail it: it returns
 * the positive errno to inject, or 0 to let the call through.
 */
static __always_inline __u32 tb_sf_roll(const struct tb_sf_config *cfg, __u32 slot)
{
	tb_sf_count(slot, TB_SF_STAT_MATCHED);
	if (!tb_roll(cfg->probability))
		return 0;
	tb_sf_count(slot, TB_SF_STAT_FAILED);
	return cfg->err;
}

/* Where a syscall entry program finds the address of a socket syscall. */
#define TB_SF_SA_NONE 0 /* no address argument */
#define TB_SF_SA_ARG 1  /* a user struct sockaddr * (connect, bind, sendto) */
#define TB_SF_SA_MSG 2  /* a user struct user_msghdr * whose msg_name it is (sendmsg) */

/*
 * tb_sf_entry_verdict_sa is the decision of the syscall entry backends
 * (kprobe, fmod_ret): 0 to let the syscall run or -errno to fail it. upath
 * is the user-space path argument or NULL; sa_kind (a constant at each call
 * site) says what sa points to, and salen is the address length argument
 * for TB_SF_SA_ARG (for TB_SF_SA_MSG, msg_namelen is read instead). All are
 * read only for targeted tasks.
 */
static __always_inline long tb_sf_entry_verdict_sa(const char *upath, int sa_kind, const void *sa, long salen)
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
	if (upath && cfg->path_len) {
		buf = tb_sf_scratch_buf();
		if (!buf || bpf_probe_read_user_str(buf, TB_SF_PATH_MAX, upath) < 0)
			return 0;
		if (!tb_sf_path_matches(cfg, buf))
			return 0;
	}
	if (cfg->sock_filter) {
		if (sa_kind == TB_SF_SA_NONE)
			return 0; /* cannot see the address: a filter only narrows */
		if (sa_kind == TB_SF_SA_MSG) {
			const struct user_msghdr *msg = sa;
			int namelen = 0;

			sa = NULL;
			if (bpf_probe_read_user(&sa, sizeof(sa), &msg->msg_name) ||
			    bpf_probe_read_user(&namelen, sizeof(namelen), &msg->msg_namelen))
				return 0;
			salen = namelen;
		}
		if (!tb_sf_read_sockaddr(&a, sa, true) || !tb_sf_sockaddr_len_ok(&a, salen) ||
		    !tb_sf_addr_matches(cfg, &a))
			return 0;
	}
	return -(long)tb_sf_roll(cfg, slot);
}

/* The verdict of a call without a socket address (sa_kind TB_SF_SA_NONE). */
#define tb_sf_entry_verdict(upath, sa_kind, sa) tb_sf_entry_verdict_sa(upath, sa_kind, sa, 0)

#endif /* __TB_SYSFAULT_H */
