//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Syscall faults through cgroup v2 socket hooks: the backend that needs no
 * tracing at all. Each program runs inside the syscall it is named after,
 * before the kernel acts, for tasks of the cgroup it is attached to (and its
 * descendants). Returning 0 rejects the call with EPERM; bpf_set_retval
 * (kernel >= 5.18) turns that into the configured errno.
 *
 * What each hook catches:
 *   connect4/6     connect(2) on AF_INET/AF_INET6 sockets (TCP and UDP)
 *   sendmsg4/6     sendto(2)/sendmsg(2) on *unconnected* UDP sockets with a
 *                  destination address; TCP and connected UDP sends are not seen
 *   bind4/6        bind(2) on AF_INET/AF_INET6 sockets
 *   sock_create    socket(2) for AF_INET/AF_INET6 (not kernel sockets)
 *   setsockopt     setsockopt(2), any level
 *   getsockopt     getsockopt(2), any level, after the kernel answered
 *
 * Socket filters (ports, peer CIDRs) are compared with the sock_addr
 * context (user_port, user_ip4, user_ip6), read only for targeted tasks.
 */
#include "sysfault.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * tb_sf_cgroup_decide returns the hook's verdict for a targeted task, counted
 * in its slot: 1 lets
 * the call proceed, 0 rejects it with the errno set through bpf_set_retval.
 * a is the address the socket filters compare, or NULL for hooks that see
 * none.
 */
static __always_inline int tb_sf_cgroup_decide(const struct tb_sf_config *cfg, __u32 slot, const struct tb_sf_addr *a)
{
	__u32 err;

	if (!tb_sf_sock_filter_ok(cfg, a))
		return 1;
	err = tb_sf_roll(cfg, slot);
	if (!err)
		return 1;
	bpf_set_retval(-(int)err);
	return 0;
}

/* tb_sf_cgroup_verdict is the verdict of a hook that sees no address. */
static __always_inline int tb_sf_cgroup_verdict(void)
{
	struct tb_sf_config *cfg = tb_sf_get_config();
	__u32 slot;

	if (!cfg)
		return 1;
	slot = tb_sf_task_slot(cfg);
	if (slot == TB_SF_NO_SLOT)
		return 1;
	return tb_sf_cgroup_decide(cfg, slot, NULL);
}

/*
 * tb_sf_sock_addr_verdict is the verdict of a sock_addr hook. The address is
 * read only for targeted tasks and only when a socket filter is configured:
 * the destination of connect and sendmsg, the local address being bound for
 * bind.
 */
static __always_inline int tb_sf_sock_addr_verdict(struct bpf_sock_addr *ctx, bool v6)
{
	struct tb_sf_config *cfg = tb_sf_get_config();
	__u32 slot;
	struct tb_sf_addr a = {};

	if (!cfg)
		return 1;
	slot = tb_sf_task_slot(cfg);
	if (slot == TB_SF_NO_SLOT)
		return 1;
	if (!cfg->sock_filter)
		return tb_sf_cgroup_decide(cfg, slot, NULL);
	a.port = bpf_ntohs((__u16)ctx->user_port);
	if (v6) {
		__u32 ip6[4];

		a.family = TB_SF_AF_INET6;
		ip6[0] = ctx->user_ip6[0];
		ip6[1] = ctx->user_ip6[1];
		ip6[2] = ctx->user_ip6[2];
		ip6[3] = ctx->user_ip6[3];
		__builtin_memcpy(a.addr, ip6, 16);
	} else {
		__u32 ip4 = ctx->user_ip4;

		a.family = TB_SF_AF_INET;
		__builtin_memcpy(a.addr, &ip4, 4);
	}
	return tb_sf_cgroup_decide(cfg, slot, &a);
}

SEC("cgroup/connect4")
int tb_sf_connect4(struct bpf_sock_addr *ctx)
{
	return tb_sf_sock_addr_verdict(ctx, false);
}

SEC("cgroup/connect6")
int tb_sf_connect6(struct bpf_sock_addr *ctx)
{
	return tb_sf_sock_addr_verdict(ctx, true);
}

SEC("cgroup/sendmsg4")
int tb_sf_sendmsg4(struct bpf_sock_addr *ctx)
{
	return tb_sf_sock_addr_verdict(ctx, false);
}

SEC("cgroup/sendmsg6")
int tb_sf_sendmsg6(struct bpf_sock_addr *ctx)
{
	return tb_sf_sock_addr_verdict(ctx, true);
}

SEC("cgroup/bind4")
int tb_sf_bind4(struct bpf_sock_addr *ctx)
{
	return tb_sf_sock_addr_verdict(ctx, false);
}

SEC("cgroup/bind6")
int tb_sf_bind6(struct bpf_sock_addr *ctx)
{
	return tb_sf_sock_addr_verdict(ctx, true);
}

/* The hooks below see no address: with a socket filter they fail nothing. */

SEC("cgroup/sock_create")
int tb_sf_sock_new(struct bpf_sock *ctx)
{
	return tb_sf_cgroup_verdict();
}

SEC("cgroup/setsockopt")
int tb_sf_setsopt(struct bpf_sockopt *ctx)
{
	/* Leave optval to the kernel: optlen 0 would mean "bypass". */
	return tb_sf_cgroup_verdict();
}

SEC("cgroup/getsockopt")
int tb_sf_getsopt(struct bpf_sockopt *ctx)
{
	/* 1 passes the kernel's answer through unchanged. */
	return tb_sf_cgroup_verdict();
}
