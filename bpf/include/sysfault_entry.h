/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The verdict of the syscall entry backends (sysfault_kprobe.c,
 * sysfault_fmodret.c), shared: both see the syscall's saved user registers
 * and differ only in how they hand the verdict back (bpf_override_return,
 * or the fmod_ret return value). Each program is one variant, a constant at
 * its call site, so the compiler keeps only that variant's code.
 */
#ifndef __TB_SYSFAULT_ENTRY_H
#define __TB_SYSFAULT_ENTRY_H

#include "sysfault.h"
#include "sysfault_path.h"
#include <bpf/bpf_tracing.h>

/* Variants of an entry program: which argument the filters read. */
#define TB_SF_ENTRY_PLAIN 0 /* none: no path filter, or not a path syscall */
#define TB_SF_ENTRY_PATH1 1 /* path prefix against argument 1 */
#define TB_SF_ENTRY_PATH2 2 /* path prefix against argument 2 (the *at calls) */
#define TB_SF_ENTRY_FD1 3   /* path prefix against the open file of fd argument 1 */
#define TB_SF_ENTRY_SA2 4   /* socket filters against the sockaddr in argument 2 */
#define TB_SF_ENTRY_SA5 5   /* the same in argument 5, its length in 6 (sendto) */
#define TB_SF_ENTRY_MSG2 6  /* msg_name of the user msghdr in argument 2 (sendmsg) */

/*
 * tb_sf_entry_variant returns 0 to let the syscall whose user registers are
 * regs run, or -errno to fail it, reading the arguments variant names.
 */
static __always_inline long tb_sf_entry_variant(const struct pt_regs *regs, int variant)
{
	switch (variant) {
	case TB_SF_ENTRY_PATH1:
		return tb_sf_entry_verdict((const char *)PT_REGS_PARM1_CORE_SYSCALL(regs), TB_SF_SA_NONE, NULL);
	case TB_SF_ENTRY_PATH2:
		return tb_sf_entry_verdict((const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), TB_SF_SA_NONE, NULL);
	case TB_SF_ENTRY_FD1:
		return tb_sf_entry_fd_verdict((long)(int)PT_REGS_PARM1_CORE_SYSCALL(regs));
	case TB_SF_ENTRY_SA2:
		return tb_sf_entry_verdict_sa(NULL, TB_SF_SA_ARG, (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs),
					      (int)PT_REGS_PARM3_CORE_SYSCALL(regs));
	case TB_SF_ENTRY_SA5:
		return tb_sf_entry_verdict_sa(NULL, TB_SF_SA_ARG, (const void *)PT_REGS_PARM5_CORE_SYSCALL(regs),
					      (int)TB_SF_PARM6_CORE_SYSCALL(regs));
	case TB_SF_ENTRY_MSG2:
		return tb_sf_entry_verdict_sa(NULL, TB_SF_SA_MSG, (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs), 0);
	}
	return tb_sf_entry_verdict(NULL, TB_SF_SA_NONE, NULL);
}

#endif /* __TB_SYSFAULT_ENTRY_H */
