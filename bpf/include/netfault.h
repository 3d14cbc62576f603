/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Configuration and counters shared by netfault.c and its Go loader. The Go
 * side uses the bpf2go-generated mirrors of these types (netfault_bpfel.go),
 * so a layout change here needs `go generate ./bpf` and nothing else.
 */
#ifndef __TB_NETFAULT_H
#define __TB_NETFAULT_H

/* Maximum number of port ranges in each of sports, dports and ports. */
#define TB_MAX_RANGES 8
/* Maximum number of payload bytes a corrupt action flips a bit in. */
#define TB_MAX_FLIPS 16

/* Index of skb->cb[] that carries a target's slot from stub to tc program
 * (bpf/netfault_stub.go writes it at the same offset). */
#define TB_CB_SLOT 0

enum tb_action {
	TB_ACTION_NONE = 0, /* count only */
	TB_ACTION_DROP = 1,
	TB_ACTION_CORRUPT = 2,
};

enum tb_proto {
	TB_PROTO_ANY = 0,
	TB_PROTO_TCP = 1,
	TB_PROTO_UDP = 2,
	TB_PROTO_ICMP = 3, /* ICMP over IPv4, ICMPv6 over IPv6 */
};

enum tb_field {
	TB_FIELD_NONE = 0,
	TB_FIELD_IPV4_TOT_LEN = 1,
	TB_FIELD_UDP_LEN = 2,
	TB_FIELD_TCP_DOFF = 3,
	TB_FIELD_PAYLOAD = 4,
};

enum tb_mode {
	TB_MODE_DELTA = 0, /* add value (signed), saturating at the field bounds */
	TB_MODE_SET = 1,   /* set the field to value (masked to the field width) */
};

struct port_range {
	__u16 from; /* inclusive, host byte order */
	__u16 to;   /* inclusive, host byte order */
};

/* One attachment's whole configuration: entry 0 of tb_net_cfg. */
struct net_cfg {
	enum tb_action action;
	__u32 probability; /* basis points, 0..TB_PROB_ONE */
	enum tb_proto proto;
	enum tb_field field;
	enum tb_mode mode;
	__s32 value;
	__u32 payload_bytes; /* 1..TB_MAX_FLIPS for TB_FIELD_PAYLOAD */
	__u8 repair_csum;    /* repair IPv4/L4 checksums after corrupting */
	__u8 peer_filter;    /* only packets whose peer is in tb_peer4/tb_peer6 */
	__u8 n_sports;
	__u8 n_dports;
	__u8 n_ports; /* ranges matching either source or destination port */
	__u8 pad[3];
	struct port_range sports[TB_MAX_RANGES];
	struct port_range dports[TB_MAX_RANGES];
	struct port_range ports[TB_MAX_RANGES];
};

/* Per-CPU counters of one target: entry `slot` of tb_net_cnt. */
struct net_cnt {
	__u64 seen;
	__u64 matched;
	__u64 dropped;
	__u64 corrupted;
};

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

#endif /* __TB_NETFAULT_H */
