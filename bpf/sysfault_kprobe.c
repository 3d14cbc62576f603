//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Syscall faults through a kprobe on the syscall entry point
 * (__x64_sys_<name>, __arm64_sys_<name>) and bpf_override_return, which needs
 * CONFIG_BPF_KPROBE_OVERRIDE and an entry point on the error-injection list
 * (every SYSCALL_DEFINE is). The syscall body never runs for a failed call.
 *
 * The verdict is sysfault_entry.h's, shared with sysfault_fmodret.c. The Go
 * side attaches one of these programs to each chosen syscall:
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
#include "sysfault_entry.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/* The kprobe is on the syscall wrapper, whose one argument is the saved
 * user registers. */
static __always_inline struct pt_regs *tb_sf_user_regs(struct pt_regs *ctx)
{
	return (struct pt_regs *)PT_REGS_PARM1(ctx);
}

/* tb_sf_kprobe_run fails the syscall with the variant's verdict, if any. */
static __always_inline int tb_sf_kprobe_run(struct pt_regs *ctx, int variant)
{
	long ret = tb_sf_entry_variant(tb_sf_user_regs(ctx), variant);

	if (ret)
		bpf_override_return(ctx, ret);
	return 0;
}

#define TB_SF_KPROBE(name, variant)                    \
	SEC("kprobe")                                   \
	int name(struct pt_regs *ctx)                   \
	{                                               \
		return tb_sf_kprobe_run(ctx, variant);  \
	}

TB_SF_KPROBE(tb_sf_kp, TB_SF_ENTRY_PLAIN)
TB_SF_KPROBE(tb_sf_kp_path1, TB_SF_ENTRY_PATH1)
TB_SF_KPROBE(tb_sf_kp_path2, TB_SF_ENTRY_PATH2)
TB_SF_KPROBE(tb_sf_kp_fd1, TB_SF_ENTRY_FD1)
TB_SF_KPROBE(tb_sf_kp_sa2, TB_SF_ENTRY_SA2)
TB_SF_KPROBE(tb_sf_kp_sa5, TB_SF_ENTRY_SA5)
TB_SF_KPROBE(tb_sf_kp_msg2, TB_SF_ENTRY_MSG2)
