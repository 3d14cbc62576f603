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
 * The path compared is the string the task passed, not a resolved path:
 * relative paths and symlinks are not followed.
 */
#include "sysfault.h"
#include <bpf/bpf_tracing.h>

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * tb_sf_syscall_verdict returns 0 to let the syscall run or -errno to fail
 * it. upath is the user-space path argument or NULL when there is none.
 */
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
	return tb_sf_kprobe_apply(ctx, tb_sf_syscall_verdict(NULL));
}

SEC("kprobe")
int tb_sf_kp_path1(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	const char *upath = (const char *)PT_REGS_PARM1_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_syscall_verdict(upath));
}

SEC("kprobe")
int tb_sf_kp_path2(struct pt_regs *ctx)
{
	struct pt_regs *regs = tb_sf_user_regs(ctx);
	const char *upath = (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs);

	return tb_sf_kprobe_apply(ctx, tb_sf_syscall_verdict(upath));
}
