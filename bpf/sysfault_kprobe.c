//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Syscall faults through a kprobe on the syscall entry point
 * (__x64_sys_<name>, __arm64_sys_<name>) and bpf_override_return, which needs
 * CONFIG_BPF_KPROBE_OVERRIDE and an entry point on the error-injection list
 * (every SYSCALL_DEFINE is). The syscall body never runs for a failed call.
 *
 * The Go side attaches one of these programs to each chosen syscall:
 *   tb_sf_kp        no path filter (or not a path syscall)
 *   tb_sf_kp_path1  path prefix checked against syscall argument 1
 *   tb_sf_kp_path2  path prefix checked against syscall argument 2 (the *at
 *                   calls)
 *   tb_sf_kp_fd1    path prefix checked against the path of the open file
 *                   whose descriptor is argument 1 (read, write, fsync,
 *                   ftruncate, ...), walked as in include/sysfault_path.h
 *   tb_sf_kp_sa2    socket filters checked against the user sockaddr in
 *                   argument 2 (connect, bind)
 *   tb_sf_kp_sa5    the same with argument 5 (sendto; NULL on a connected
 *                   socket, which then does not match)
 *   tb_sf_kp_msg2   the same with msg_name of the user msghdr in argument 2
 *                   (sendmsg)
 * For path1 and path2, the path compared is the string the task passed, not
 * a resolved path: relative paths and symlinks are not followed. For fd1 it
 * is the open file's path as the task sees it.
 */
#include "sysfault.h"
#include "sysfault_path.h"
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual BSD/GPL";

/* The syscall wrapper's only argument: the task's saved user registers. */
static __always_inline struct pt_regs *tb_sf_user_regs(struct pt_regs *ctx)
{
	return (struct pt_regs *)PT_REGS_PARM1(ctx);
}

static __always_inline int tb_sf_kprobe_apply(struct pt_regs *ctx, long ret)
{
	if (ret)
		bpf_override_return(ctx, ret);
	return 0;
}

SEC("kprobe")
int tb_sf_kp(struct pt_regs *ctx)
{
	return tb_sf_kprobe_apply(ctx, tb_sf_entry_verdict(NULL, TB_SF_SA_NONE, NULL));
}

SEC("kprobe")
int tb_sf_kp_path1(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	const char *upath = (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_entry_verdict(upath, TB_SF_SA_NONE, NULL));
}

SEC("kprobe")
int tb_sf_kp_path2(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	const char *upath = (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_entry_verdict(upath, TB_SF_SA_NONE, NULL));
}

SEC("kprobe")
int tb_sf_kp_fd1(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	long fd = (long)(int)PT_REGS_PARM1_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_entry_fd_verdict(fd));
}

/* connect(fd, addr, len), bind(fd, addr, len): the sockaddr is argument 2. */
SEC("kprobe")
int tb_sf_kp_sa2(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	const void *sa = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
	long salen = (int)PT_REGS_PARM3_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_entry_verdict_sa(NULL, TB_SF_SA_ARG, sa, salen));
}

/* sendto(fd, buf, len, flags, addr, addrlen): the sockaddr is argument 5. */
SEC("kprobe")
int tb_sf_kp_sa5(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	const void *sa = (const void *)PT_REGS_PARM5_CORE_SYSCALL(regs);
	long salen = (int)TB_SF_PARM6_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_entry_verdict_sa(NULL, TB_SF_SA_ARG, sa, salen));
}

/* sendmsg(fd, msg, flags): the sockaddr is msg->msg_name. */
SEC("kprobe")
int tb_sf_kp_msg2(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	const void *msg = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_entry_verdict_sa(NULL, TB_SF_SA_MSG, msg, 0));
}
