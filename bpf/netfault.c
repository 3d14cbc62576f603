//go:build ignore
// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)

/*
 * Network faults: drop or corrupt the packets of one pod's interfaces that
 * match a filter. One object serves every configuration: the Go side writes
 * entry 0 of tb_net_cfg and the peer tries, then attaches tb_tc_ingress and
 * tb_tc_egress (tcx or cls_bpf direct-action) and, for ingress drops,
 * tb_xdp_ingress.
 */

#include "uapi.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_endian.h"
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

/* roll returns true with the configured probability. */
static __always_inline int roll(const struct net_cfg *cfg)
{
	if (cfg->probability >= TB_PROB_ONE)
		return 1;
	if (cfg->probability == 0)
		return 0;
	return bpf_get_prandom_u32() % TB_PROB_ONE < cfg->probability;
}

/* Headers the tc programs want in the linear part of the skb. */
#define TB_PULL_LEN (sizeof(struct ethhdr) + 60 + 20)

static __always_inline int tc_fault(struct __sk_buff *skb, int egress)
{
	__u32 zero = 0;
	struct net_cfg *cfg = bpf_map_lookup_elem(&tb_net_cfg, &zero);
	struct net_cnt *cnt = bpf_map_lookup_elem(&tb_net_cnt, &zero);
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
	if (!roll(cfg))
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
	struct net_cfg *cfg = bpf_map_lookup_elem(&tb_net_cfg, &zero);
	struct net_cnt *cnt = bpf_map_lookup_elem(&tb_net_cnt, &zero);
	struct pkt p = {};

	if (!cfg || !cnt)
		return XDP_PASS;
	cnt->seen++;
	if (parse_pkt((void *)(long)ctx->data, (void *)(long)ctx->data_end, &p))
		return XDP_PASS;
	if (!match(cfg, &p, 0))
		return XDP_PASS;
	cnt->matched++;
	if (cfg->action != TB_ACTION_DROP || !roll(cfg))
		return XDP_PASS;
	cnt->dropped++;
	return XDP_DROP;
}
