//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

/*
 * Network faults: drop or corrupt the packets of pods' interfaces that
 * match a filter. One object serves every configuration: the Go side writes
 * entry 0 of tb_net_cfg and the peer tries once per loaded copy, and every
 * target (pod network namespace) with that configuration shares the copy.
 *
 * A target is a slot: its counters are entry `slot` of tb_net_cnt (Go raises
 * max_entries to the copy's slot capacity before loading). What is attached
 * to a target's interfaces (tcx, cls_bpf direct-action or XDP) is a stub of
 * a few instructions built in Go (bpf/netfault_stub.go) that records the
 * slot and tail-calls tb_tc_ingress or tb_tc_egress through tb_tc_progs, or
 * tb_xdp_ingress through tb_xdp_progs:
 *
 *  - tc: the slot travels in skb->cb[0], the scratch space tc programs own
 *    for the duration of their run (a tail call keeps the skb).
 *  - XDP has no cb: the stub writes the slot into this CPU's entry of
 *    tb_net_slot. An XDP program runs to completion on one CPU, tail calls
 *    included, so nothing else can write that entry in between.
 *
 * Run directly (BPF_PROG_TEST_RUN, with cb and tb_net_slot zero), the
 * programs serve slot 0.
 */

#include "uapi.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_endian.h"
#include "probability.h"
#include "netfault.h"
#include "netfault_parse.h"
#include "netfault_corrupt.h"

char __license[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_cfg);
} tb_net_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct net_cnt);
} tb_net_cnt SEC(".maps");

/* XDP's slot hand-over from stub to main program; see the top of the file. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tb_net_slot SEC(".maps");

/* The stubs' tail-call targets, filled from Go at the indices the stubs use
 * (bpf/netfault_stub.go): tb_tc_ingress and tb_tc_egress in tb_tc_progs,
 * tb_xdp_ingress in tb_xdp_progs (a prog array holds one program type). No
 * program in this file uses them. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} tb_tc_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tb_xdp_progs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u8);
} tb_peer4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6_key);
	__type(value, __u8);
} tb_peer6 SEC(".maps");

static __always_inline int in_ranges(const struct port_range *r, __u8 n, __u16 port)
{
#pragma unroll
	for (int i = 0; i < TB_MAX_RANGES; i++) {
		if (i >= n)
			break;
		if (port >= r[i].from && port <= r[i].to)
			return 1;
	}
	return 0;
}

static __always_inline int match_proto(const struct net_cfg *cfg, const struct pkt *p)
{
	switch (cfg->proto) {
	case TB_PROTO_ANY:
		return 1;
	case TB_PROTO_TCP:
		return p->l4proto == IPPROTO_TCP;
	case TB_PROTO_UDP:
		return p->l4proto == IPPROTO_UDP;
	case TB_PROTO_ICMP:
		return p->family == 4 ? p->l4proto == IPPROTO_ICMP : p->l4proto == IPPROTO_ICMPV6;
	default:
		return 0;
	}
}

static __always_inline int match_ports(const struct net_cfg *cfg, const struct pkt *p)
{
	if (!cfg->n_sports && !cfg->n_dports && !cfg->n_ports)
		return 1;
	if (!p->has_ports)
		return 0;
	if (cfg->n_sports && !in_ranges(cfg->sports, cfg->n_sports, p->sport))
		return 0;
	if (cfg->n_dports && !in_ranges(cfg->dports, cfg->n_dports, p->dport))
		return 0;
	if (cfg->n_ports && !in_ranges(cfg->ports, cfg->n_ports, p->sport) &&
	    !in_ranges(cfg->ports, cfg->n_ports, p->dport))
		return 0;
	return 1;
}

/* match_peer looks the peer up in the CIDR tries: the destination of an
 * egress packet, the source of an ingress one. */
static __always_inline int match_peer(const struct net_cfg *cfg, const struct pkt *p, int egress)
{
	const __u8 *addr = egress ? p->daddr : p->saddr;

	if (!cfg->peer_filter)
		return 1;
	if (p->family == 4) {
		struct lpm_v4_key k = {.prefixlen = 32};
		__builtin_memcpy(k.addr, addr, 4);
		return bpf_map_lookup_elem(&tb_peer4, &k) != 0;
	}
	struct lpm_v6_key k = {.prefixlen = 128};
	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&tb_peer6, &k) != 0;
}

static __always_inline int match(const struct net_cfg *cfg, const struct pkt *p, int egress)
{
	return match_proto(cfg, p) && match_ports(cfg, p) && match_peer(cfg, p, egress);
}


/* Headers the tc programs want in the linear part of the skb. */
#define TB_PULL_LEN (sizeof(struct ethhdr) + 60 + 20)

static __always_inline int tc_fault(struct __sk_buff *skb, int egress)
{
	__u32 zero = 0, slot = skb->cb[TB_CB_SLOT];
	struct net_cfg *cfg = bpf_map_lookup_elem(&tb_net_cfg, &zero);
	/* A slot outside the map finds no counters: the packet passes. */
	struct net_cnt *cnt = bpf_map_lookup_elem(&tb_net_cnt, &slot);
	struct pkt p = {};

	if (!cfg || !cnt)
		return TC_ACT_UNSPEC;
	cnt->seen++;

	if ((long)skb->data + TB_PULL_LEN > (long)skb->data_end &&
	    skb->len > skb->data_end - skb->data)
		bpf_skb_pull_data(skb, skb->len < TB_PULL_LEN ? skb->len : TB_PULL_LEN);
	if (parse_pkt((void *)(long)skb->data, (void *)(long)skb->data_end, &p))
		return TC_ACT_UNSPEC;
	if (!match(cfg, &p, egress))
		return TC_ACT_UNSPEC;
	cnt->matched++;
	if (!tb_roll(cfg->probability))
		return TC_ACT_UNSPEC;

	switch (cfg->action) {
	case TB_ACTION_DROP:
		cnt->dropped++;
		return TC_ACT_SHOT;
	case TB_ACTION_CORRUPT:
		if (tb_corrupt(skb, cfg, &p))
			cnt->corrupted++;
		break;
	default:
		break;
	}
	/* Unspecified (tcx: next) lets the programs after ours run. */
	return TC_ACT_UNSPEC;
}

SEC("tc")
int tb_tc_ingress(struct __sk_buff *skb)
{
	return tc_fault(skb, 0);
}

SEC("tc")
int tb_tc_egress(struct __sk_buff *skb)
{
	return tc_fault(skb, 1);
}

/* tb_xdp_ingress drops matching packets before an skb exists. It only ever
 * drops: corruption needs the skb checksum helpers and runs at tc. */
SEC("xdp")
int tb_xdp_ingress(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u32 *slot = bpf_map_lookup_elem(&tb_net_slot, &zero);
	struct net_cfg *cfg = bpf_map_lookup_elem(&tb_net_cfg, &zero);
	struct net_cnt *cnt;
	struct pkt p = {};

	if (!slot || !cfg)
		return XDP_PASS;
	cnt = bpf_map_lookup_elem(&tb_net_cnt, slot);
	if (!cnt)
		return XDP_PASS;
	cnt->seen++;
	if (parse_pkt((void *)(long)ctx->data, (void *)(long)ctx->data_end, &p))
		return XDP_PASS;
	if (!match(cfg, &p, 0))
		return XDP_PASS;
	cnt->matched++;
	if (cfg->action != TB_ACTION_DROP || !tb_roll(cfg->probability))
		return XDP_PASS;
	cnt->dropped++;
	return XDP_DROP;
}
