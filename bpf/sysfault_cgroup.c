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
 */
#include "sysfault.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * tb_sf_cgroup_verdict returns the hook's verdict: 1 lets the call proceed,
 * 0 rejects it with the errno set through bpf_set_retval.
 */
static __always_inline int tb_sf_cgroup_verdict(void)
{
	struct tb_sf_config *cfg = tb_sf_get_config();
	__u32 err;

	if (!cfg || !tb_sf_task_targeted(cfg))
		return 1;
	err = tb_sf_roll(cfg);
	if (!err)
		return 1;
	bpf_set_retval(-(int)err);
	return 0;
}

SEC("cgroup/connect4")
int tb_sf_connect4(struct bpf_sock_addr *ctx)
{
	return tb_sf_cgroup_verdict();
}

SEC("cgroup/connect6")
int tb_sf_connect6(struct bpf_sock_addr *ctx)
{
	return tb_sf_cgroup_verdict();
}

SEC("cgroup/sendmsg4")
int tb_sf_sendmsg4(struct bpf_sock_addr *ctx)
{
	return tb_sf_cgroup_verdict();
}

SEC("cgroup/sendmsg6")
int tb_sf_sendmsg6(struct bpf_sock_addr *ctx)
{
	return tb_sf_cgroup_verdict();
}

SEC("cgroup/bind4")
int tb_sf_bind4(struct bpf_sock_addr *ctx)
{
	return tb_sf_cgroup_verdict();
}

SEC("cgroup/bind6")
int tb_sf_bind6(struct bpf_sock_addr *ctx)
{
	return tb_sf_cgroup_verdict();
}

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
