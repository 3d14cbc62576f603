/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet parsing shared by the tc and XDP programs. It reads Ethernet frames
 * without VLAN tags carrying IPv4 or IPv6; IPv6 extension headers are not
 * walked, so a packet with one is seen with that header as its protocol.
 */
#ifndef __TB_NETFAULT_PARSE_H
#define __TB_NETFAULT_PARSE_H

/* Offsets are from the start of the Ethernet header. */
struct pkt {
	__u32 l3_off;
	__u32 l4_off;
	__u32 l3_end; /* end of the IP datagram as its header says */
	__u16 sport;  /* host byte order; valid if has_ports */
	__u16 dport;
	__u8 family;  /* 4 or 6 */
	__u8 l4proto; /* IPPROTO_* */
	__u8 has_l4;  /* first fragment: the L4 header is in this packet */
	__u8 has_ports;
	__u8 saddr[16]; /* IPv4 uses the first 4 bytes */
	__u8 daddr[16];
};

/* parse_pkt fills p from the frame in [data, data_end) and returns 0, or -1
 * for frames it does not understand (those always pass). */
static __always_inline int parse_pkt(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;

	p->l3_off = sizeof(*eth);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > data_end)
			return -1;
		if (ip->version != 4 || ip->ihl < 5)
			return -1;
		p->family = 4;
		p->l4proto = ip->protocol;
		__builtin_memcpy(p->saddr, &ip->saddr, 4);
		__builtin_memcpy(p->daddr, &ip->daddr, 4);
		p->l4_off = p->l3_off + ip->ihl * 4;
		p->l3_end = p->l3_off + bpf_ntohs(ip->tot_len);
		p->has_l4 = (ip->frag_off & bpf_htons(IP_OFFSET)) == 0;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > data_end)
			return -1;
		if (ip6->version != 6)
			return -1;
		p->family = 6;
		p->l4proto = ip6->nexthdr;
		__builtin_memcpy(p->saddr, ip6->saddr, 16);
		__builtin_memcpy(p->daddr, ip6->daddr, 16);
		p->l4_off = p->l3_off + sizeof(*ip6);
		p->l3_end = p->l4_off + bpf_ntohs(ip6->payload_len);
		p->has_l4 = 1;
	} else {
		return -1;
	}

	if (p->has_l4 && (p->l4proto == IPPROTO_TCP || p->l4proto == IPPROTO_UDP)) {
		/* l4_off is at most 14 + 60: a bounded variable offset. */
		__be16 *ports = data + (p->l4_off & 0x7f);
		if ((void *)(ports + 2) <= data_end) {
			p->sport = bpf_ntohs(ports[0]);
			p->dport = bpf_ntohs(ports[1]);
			p->has_ports = 1;
		}
	}
	return 0;
}

#endif /* __TB_NETFAULT_PARSE_H */
