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
 * those of sysfault_kprobe.c; the verdict is sysfault_entry.h's, shared
 * with it.
 */
#include "sysfault_entry.h"

char __license[] SEC("license") = "Dual BSD/GPL";

/*
 * ctx[0] is the wrapper's argument (the saved user registers), ctx[1] the
 * return value chosen by an earlier fmod_ret program, which wins.
 */
#define TB_SF_FMOD_RET(name, variant)                                                  \
	SEC("fmod_ret")                                                                 \
	long name(unsigned long long *ctx)                                              \
	{                                                                               \
		if (ctx[1])                                                             \
			return (long)ctx[1];                                            \
		return tb_sf_entry_variant((const struct pt_regs *)ctx[0], variant);    \
	}

TB_SF_FMOD_RET(tb_sf_fmr, TB_SF_ENTRY_PLAIN)
TB_SF_FMOD_RET(tb_sf_fmr_path1, TB_SF_ENTRY_PATH1)
TB_SF_FMOD_RET(tb_sf_fmr_path2, TB_SF_ENTRY_PATH2)
TB_SF_FMOD_RET(tb_sf_fmr_fd1, TB_SF_ENTRY_FD1)
TB_SF_FMOD_RET(tb_sf_fmr_sa2, TB_SF_ENTRY_SA2)
TB_SF_FMOD_RET(tb_sf_fmr_sa5, TB_SF_ENTRY_SA5)
TB_SF_FMOD_RET(tb_sf_fmr_msg2, TB_SF_ENTRY_MSG2)
