/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Corruption of length fields and payload bytes on an skb (tc programs only).
 *
 * Every write goes through bpf_skb_store_bytes and every checksum fix through
 * bpf_l3_csum_replace/bpf_l4_csum_replace, so packet pointers are never used
 * after a write. Without repair, stores carry BPF_F_RECOMPUTE_CSUM so that a
 * CHECKSUM_COMPLETE skb->csum follows the new bytes and the stack sees the
 * mismatch; with repair the header checksum absorbs the change instead.
 *
 * An skb whose checksum is still to be computed by the stack or the NIC
 * (CHECKSUM_PARTIAL, i.e. locally sent with checksum offload) gets its L4
 * checksum computed over the corrupted bytes, so payload and TCP data offset
 * corruption on such packets arrive with a valid checksum with or without
 * repair. Pseudo-header changes (UDP length) are tracked in both cases.
 */
#ifndef __TB_NETFAULT_CORRUPT_H
#define __TB_NETFAULT_CORRUPT_H

/* Size of the chunks in which bytes cut off by a shorter UDP length are
 * taken out of the UDP checksum, and the most chunks: 2 KiB in all. */
#define TB_TRIM_CHUNK 64
#define TB_TRIM_CHUNKS 32
_Static_assert((TB_TRIM_CHUNK & (TB_TRIM_CHUNK - 1)) == 0, "TB_TRIM_CHUNK is a mask + 1");

static __always_inline __u32 new_field_value(const struct net_cfg *cfg, __u32 old, __u32 max)
{
	if (cfg->mode == TB_MODE_SET)
		return (__u32)cfg->value & max;
	__s64 v = (__s64)old + cfg->value;
	if (v < 0)
		return 0;
	if (v > max)
		return max;
	return v;
}

static __always_inline __u64 store_flags(const struct net_cfg *cfg)
{
	return cfg->repair_csum ? 0 : BPF_F_RECOMPUTE_CSUM;
}

/* corrupt_ipv4_tot_len rewrites the IPv4 total length. */
static __always_inline int corrupt_ipv4_tot_len(struct __sk_buff *skb, const struct net_cfg *cfg,
						const struct pkt *p)
{
	__be16 old, new;

	if (p->family != 4)
		return 0;
	if (bpf_skb_load_bytes(skb, p->l3_off + 2, &old, sizeof(old)))
		return 0;
	new = bpf_htons(new_field_value(cfg, bpf_ntohs(old), 0xffff));
	if (bpf_skb_store_bytes(skb, p->l3_off + 2, &new, sizeof(new), store_flags(cfg)))
		return 0;
	if (cfg->repair_csum &&
	    bpf_l3_csum_replace(skb, p->l3_off + 10, old, new, sizeof(new)))
		return 0;
	return 1;
}

/* tb_udp_trim_diff returns the checksum difference of taking the bytes
 * [new_len, old_len) of the UDP datagram at l4_off out of its checksum, as
 * the receiver will after trimming the datagram to new_len. A global function
 * is verified once on its own, which keeps its loop from multiplying the
 * states of its caller. */
__noinline __s64 tb_udp_trim_diff(struct __sk_buff *skb, __u32 l4_off, __u64 new_len, __u64 old_len)
{
	__u8 buf[TB_TRIM_CHUNK];
	__s64 diff = 0;
	__u64 avail = skb->len > l4_off ? skb->len - l4_off : 0;

	if (l4_off > 0xffff || new_len > 0xffff)
		return -1;

	if (old_len > avail)
		old_len = avail;
	/* The checksum pairs bytes from the start of the UDP header; start on
	 * an even offset and put back the kept byte of an odd new length. */
	__u64 pos = new_len & ~1ULL;
	if (new_len & 1) {
		__u8 kept[4] = {};
		if (bpf_skb_load_bytes(skb, l4_off + pos, kept, 1))
			return -1;
		diff = bpf_csum_diff(0, 0, (__be32 *)kept, sizeof(kept), 0);
		if (diff < 0)
			return -1;
	}
	/* Whole chunks first, then the tail: the verifier sees every path
	 * but the last leave the loop, so it walks the loop only once. */
	for (int i = 0; i < TB_TRIM_CHUNKS; i++) {
		if (pos >= old_len)
			return diff;
		__u64 n = old_len - pos;
		__builtin_memset(buf, 0, sizeof(buf));
		if (n > TB_TRIM_CHUNK) {
			if (bpf_skb_load_bytes(skb, l4_off + pos, buf, TB_TRIM_CHUNK))
				return -1;
			diff = bpf_csum_diff((__be32 *)buf, sizeof(buf), 0, 0, (__wsum)diff);
			if (diff < 0)
				return -1;
			pos += TB_TRIM_CHUNK;
			continue;
		}
		if (n == 0 || n > TB_TRIM_CHUNK)
			return -1;
		/* bpf_skb_load_bytes wants a length the verifier proves to be
		 * in [1, TB_TRIM_CHUNK]. Before 6.8 it learns nothing from the
		 * fall-through of "n == 0" (n stays [0, 64]: "invalid zero-sized
		 * read" on 6.1), so pass (n - 1) masked, plus 1: [1, 64] on every
		 * verifier. barrier_var keeps clang, which knows n - 1 < 64
		 * here, from dropping the mask. */
		__u64 len = n - 1;
		barrier_var(len);
		len = (len & (TB_TRIM_CHUNK - 1)) + 1;
		if (bpf_skb_load_bytes(skb, l4_off + pos, buf, len))
			return -1;
		return bpf_csum_diff((__be32 *)buf, sizeof(buf), 0, 0, (__wsum)diff);
	}
	return -1; /* longer than we are willing to walk */
}

/* corrupt_udp_len rewrites the UDP length, which the checksum covers twice:
 * in the header and in the pseudo-header. */
static __always_inline int corrupt_udp_len(struct __sk_buff *skb, const struct net_cfg *cfg,
					   const struct pkt *p)
{
	__be16 old, new, check;
	__u32 csum_off = p->l4_off + 6;

	if (!p->has_l4 || p->l4proto != IPPROTO_UDP)
		return 0;
	if (bpf_skb_load_bytes(skb, p->l4_off + 4, &old, sizeof(old)) ||
	    bpf_skb_load_bytes(skb, csum_off, &check, sizeof(check)))
		return 0;
	__u32 old_len = bpf_ntohs(old);
	__u32 new_len = new_field_value(cfg, old_len, 0xffff);
	new = bpf_htons(new_len);

	__s64 trim = 0;
	int fix = cfg->repair_csum && !(p->family == 4 && check == 0);
	if (fix && new_len < old_len) {
		trim = tb_udp_trim_diff(skb, p->l4_off, new_len, old_len);
		if (trim < 0)
			return 0;
	}
	if (bpf_skb_store_bytes(skb, p->l4_off + 4, &new, sizeof(new), store_flags(cfg)))
		return 0;
	if (!fix)
		return 1;
	if (bpf_l4_csum_replace(skb, csum_off, old, new, BPF_F_MARK_MANGLED_0 | sizeof(new)) ||
	    bpf_l4_csum_replace(skb, csum_off, old, new,
				BPF_F_MARK_MANGLED_0 | BPF_F_PSEUDO_HDR | sizeof(new)))
		return 0;
	/* Bytes past the new length leave the checksum; they are not written,
	 * so skb->csum must follow like for a pseudo-header change. */
	if (trim && bpf_l4_csum_replace(skb, csum_off, 0, (__u32)trim,
					BPF_F_MARK_MANGLED_0 | BPF_F_PSEUDO_HDR))
		return 0;
	return 1;
}

/* corrupt_tcp_doff rewrites the 4-bit TCP data offset. */
static __always_inline int corrupt_tcp_doff(struct __sk_buff *skb, const struct net_cfg *cfg,
					    const struct pkt *p)
{
	__u8 old[2], new[2];

	if (!p->has_l4 || p->l4proto != IPPROTO_TCP)
		return 0;
	if (bpf_skb_load_bytes(skb, p->l4_off + 12, old, sizeof(old)))
		return 0;
	new[0] = (new_field_value(cfg, old[0] >> 4, 0xf) << 4) | (old[0] & 0xf);
	new[1] = old[1];
	if (bpf_skb_store_bytes(skb, p->l4_off + 12, new, 1, store_flags(cfg)))
		return 0;
	if (cfg->repair_csum &&
	    bpf_l4_csum_replace(skb, p->l4_off + 16, *(__be16 *)old, *(__be16 *)new, 2))
		return 0;
	return 1;
}

/* payload_bounds finds the payload of a TCP, UDP or ICMP packet and where its
 * checksum lives. */
static __always_inline int payload_bounds(struct __sk_buff *skb, const struct pkt *p, __u32 *off,
					  __u32 *csum_off, __u64 *csum_flags)
{
	__u8 b;

	if (!p->has_l4)
		return -1;
	*csum_flags = 0;
	switch (p->l4proto) {
	case IPPROTO_TCP:
		if (bpf_skb_load_bytes(skb, p->l4_off + 12, &b, 1))
			return -1;
		*off = p->l4_off + (b >> 4) * 4;
		*csum_off = p->l4_off + 16;
		return 0;
	case IPPROTO_UDP:
		*off = p->l4_off + 8;
		*csum_off = p->l4_off + 6;
		*csum_flags = BPF_F_MARK_MANGLED_0;
		return 0;
	case IPPROTO_ICMP:
		if (p->family != 4)
			return -1;
		*off = p->l4_off + 8;
		*csum_off = p->l4_off + 2;
		return 0;
	case IPPROTO_ICMPV6:
		if (p->family != 6)
			return -1;
		*off = p->l4_off + 8;
		*csum_off = p->l4_off + 2;
		return 0;
	}
	return -1;
}

/* corrupt_payload flips one random bit in each of cfg->payload_bytes payload
 * bytes. The payload is cut into that many equal slots and one byte is picked
 * at random in each, so the bytes are distinct. */
static __always_inline int corrupt_payload(struct __sk_buff *skb, const struct net_cfg *cfg,
					   const struct pkt *p)
{
	__u32 off, csum_off, end = p->l3_end;
	__u64 csum_flags;
	__be16 check;

	if (payload_bounds(skb, p, &off, &csum_off, &csum_flags))
		return 0;
	if (end > skb->len)
		end = skb->len;
	if (off >= end)
		return 0;
	__u32 len = end - off;
	__u32 n = cfg->payload_bytes;
	if (n > TB_MAX_FLIPS)
		n = TB_MAX_FLIPS;
	if (n > len)
		n = len;
	if (n == 0)
		return 0;
	__u32 slot = len / n;

	int fix = cfg->repair_csum;
	if (fix && p->l4proto == IPPROTO_UDP && p->family == 4) {
		if (bpf_skb_load_bytes(skb, csum_off, &check, sizeof(check)))
			return 0;
		if (check == 0)
			fix = 0; /* no checksum to keep */
	}

	int done = 0;
	for (__u32 i = 0; i < TB_MAX_FLIPS; i++) {
		if (i >= n)
			break;
		__u32 r = bpf_get_prandom_u32();
		__u32 at = off + i * slot + (r >> 3) % slot;
		/* The 16-bit checksum word holding the byte, counted from the
		 * L4 header; the last odd byte pairs with an implicit zero. */
		__u32 word = at - ((at - p->l4_off) & 1);
		__u8 w[2] = {}, nw[2];
		__u32 wlen = word + 1 < end ? 2 : 1;
		if (bpf_skb_load_bytes(skb, word, w, wlen & 3))
			break;
		__u8 bit = 1 << (r & 7), flipped;
		nw[0] = w[0];
		nw[1] = w[1];
		if (at == word) {
			nw[0] ^= bit;
			flipped = nw[0];
		} else {
			nw[1] ^= bit;
			flipped = nw[1];
		}
		if (bpf_skb_store_bytes(skb, at, &flipped, 1, fix ? 0 : BPF_F_RECOMPUTE_CSUM))
			break;
		if (fix && bpf_l4_csum_replace(skb, csum_off, *(__be16 *)w, *(__be16 *)nw,
					       csum_flags | 2))
			break;
		done++;
	}
	return done > 0;
}

/* tb_corrupt applies cfg's corruption to the packet and returns 1 if it
 * changed it. Global, so that the verifier checks it once for any packet
 * rather than once per parse and match path. */
__noinline int tb_corrupt(struct __sk_buff *skb, const struct net_cfg *cfg, const struct pkt *p)
{
	if (!skb || !cfg || !p)
		return 0;
	switch (cfg->field) {
	case TB_FIELD_IPV4_TOT_LEN:
		return corrupt_ipv4_tot_len(skb, cfg, p);
	case TB_FIELD_UDP_LEN:
		return corrupt_udp_len(skb, cfg, p);
	case TB_FIELD_TCP_DOFF:
		return corrupt_tcp_doff(skb, cfg, p);
	case TB_FIELD_PAYLOAD:
		return corrupt_payload(skb, cfg, p);
	default:
		return 0;
	}
}

#endif /* __TB_NETFAULT_CORRUPT_H */
