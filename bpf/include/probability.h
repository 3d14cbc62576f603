/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Probability of a fault, shared by netfault and sysfault: one unit, basis
 * points (1/10000), and one dice roll. Go's bpf.ProbabilityOne is the same
 * number (bpf/probability_test.go embeds this header and checks).
 *
 * Include after the __u32 type (uapi.h or vmlinux.h) and
 * <bpf/bpf_helpers.h>.
 */
#ifndef __TB_PROBABILITY_H
#define __TB_PROBABILITY_H

/* 100%: every matching packet or call. */
#define TB_PROB_ONE 10000

/*
 * tb_roll returns 1 with the chance probability / TB_PROB_ONE: always at
 * TB_PROB_ONE and above, never at 0, and no random number in either case.
 */
static __always_inline int tb_roll(__u32 probability)
{
	if (probability >= TB_PROB_ONE)
		return 1;
	if (probability == 0)
		return 0;
	return bpf_get_prandom_u32() % TB_PROB_ONE < probability;
}

#endif /* __TB_PROBABILITY_H */
