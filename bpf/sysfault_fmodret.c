//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Syscall faults through fmod_ret on the syscall entry point
 * (__x64_sys_<name>, __arm64_sys_<name>), which needs
 * CONFIG_FUNCTION_ERROR_INJECTION. A non-zero return skips the syscall body
 * and becomes the syscall's return value.
 *
 * The programs return long on purpose: the entry points return long, and an
 * int return (as BPF_PROG declares it) is zero-extended, so -ENOSPC would
 * reach the task as 4294967268, a "successful" syscall.
 *
 * The attach target is set from Go (ProgramSpec.AttachTo), one load per
 * syscall. Variants (path and socket filter) and their semantics are
 * those of sysfault_kprobe.c.
 */
#include "sysfault.h"
#include "sysfault_path.h"
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * ctx[0] is the wrapper's argument (the saved user registers), ctx[1] the
 * return value chosen by an earlier fmod_ret program, which wins.
 */
SEC("fmod_ret")
long tb_sf_fmr(unsigned long long *ctx)
{
	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_entry_verdict(NULL, TB_SF_SA_NONE, NULL);
}

SEC("fmod_ret")
long tb_sf_fmr_path1(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_entry_verdict((const char *)PT_REGS_PARM1_CORE_SYSCALL(regs), TB_SF_SA_NONE, NULL);
}

SEC("fmod_ret")
long tb_sf_fmr_path2(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_entry_verdict((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), TB_SF_SA_NONE, NULL);
}

/* read, write, fsync, ftruncate, ...: the file descriptor is argument 1. */
SEC("fmod_ret")
long tb_sf_fmr_fd1(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_entry_fd_verdict((long)(int)PT_REGS_PARM1_CORE_SYSCALL(regs));
}

/* connect, bind: the user sockaddr is argument 2. */
SEC("fmod_ret")
long tb_sf_fmr_sa2(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_entry_verdict_sa(NULL, TB_SF_SA_ARG, (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs),
				      (int)PT_REGS_PARM3_CORE_SYSCALL(regs));
}

/* sendto: the user sockaddr is argument 5. */
SEC("fmod_ret")
long tb_sf_fmr_sa5(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_entry_verdict_sa(NULL, TB_SF_SA_ARG, (const void *)PT_REGS_PARM5_CORE_SYSCALL(regs),
				      (int)TB_SF_PARM6_CORE_SYSCALL(regs));
}

/* sendmsg: the user sockaddr is msg_name of the msghdr in argument 2. */
SEC("fmod_ret")
long tb_sf_fmr_msg2(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_entry_verdict_sa(NULL, TB_SF_SA_MSG, (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), 0);
}
