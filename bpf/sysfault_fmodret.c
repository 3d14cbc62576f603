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
 * syscall. Variants and path semantics are those of sysfault_kprobe.c.
 */
#include "sysfault.h"
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual BSD/GPL";

static __always_inline long tb_sf_syscall_verdict(const char *upath)
{
	struct tb_sf_config *cfg = tb_sf_get_config();
	char *buf;

	if (!cfg || !tb_sf_task_targeted(cfg))
		return 0;
	if (upath && cfg->path_len) {
		buf = tb_sf_scratch_buf();
		if (!buf || bpf_probe_read_user_str(buf, TB_SF_PATH_MAX, upath) < 0)
			return 0;
		if (!tb_sf_path_matches(cfg, buf))
			return 0;
	}
	return -(long)tb_sf_roll(cfg);
}

/*
 * ctx[0] is the wrapper's argument (the saved user registers), ctx[1] the
 * return value chosen by an earlier fmod_ret program, which wins.
 */
SEC("fmod_ret")
long tb_sf_fmr(unsigned long long *ctx)
{
	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_syscall_verdict(NULL);
}

SEC("fmod_ret")
long tb_sf_fmr_path1(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_syscall_verdict((const char *)PT_REGS_PARM1_CORE_SYSCALL(regs));
}

SEC("fmod_ret")
long tb_sf_fmr_path2(unsigned long long *ctx)
{
	const struct pt_regs *regs = (const struct pt_regs *)ctx[0];

	if (ctx[1])
		return (long)ctx[1];
	return tb_sf_syscall_verdict((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs));
}
