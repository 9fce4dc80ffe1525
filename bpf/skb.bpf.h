/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reading a struct sk_buff once, the same way at every hook: network
 * namespace and device, IPv4/IPv6 TCP 4-tuple, flags, seq/ack, payload
 * length, the socket, and the conntrack entry's original tuple (the packet as
 * it looked before NAT, which is what ties a REDIRECTed packet's hops
 * together). Only CO-RE probe reads: the same code serves tp_btf, raw_tp,
 * fentry and tc (through bpf_cast_to_kern_ctx).
 */
#ifndef PODSCOPE_SKB_BPF_H
#define PODSCOPE_SKB_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "trace_events.h"

#define SKB_AF_INET	 2
#define SKB_AF_INET6	 10
#define SKB_ETH_P_IP	 0x0800
#define SKB_ETH_P_IPV6	 0x86DD
#define SKB_CT_IS_REPLY	 3
#define SKB_CT_INFO_MASK 7UL

/*
 * skb_ptr_id - a kernel pointer as a number, for ids. Under tp_btf and tc the
 * pointer is typed and the verifier forbids arithmetic on it: read it back
 * through the stack first. @p: the pointer. Returns its value.
 */
static __always_inline __u64 skb_ptr_id(const void *p)
{
	__u64 id = 0;

	bpf_probe_read_kernel(&id, sizeof(id), &p);
	return id;
}

/* Network namespace inode of @skb's device, else of @sk; 0 when neither. */
static __always_inline __u32 skb_netns(const struct sk_buff *skb, const struct sock *sk,
				       __u32 *ifindex)
{
	const struct net_device *dev = BPF_CORE_READ(skb, dev);
	__u32 ns = 0;

	*ifindex = 0;
	if (dev) {
		*ifindex = BPF_CORE_READ(dev, ifindex);
		ns = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	}
	if (!ns && sk)
		ns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return ns;
}

/*
 * skb_parse_l3 - fill @e's family, pkt tuple, flags, seq/ack and payload
 * length from @skb's headers. The network header offset is used when set,
 * else skb->data (receive hooks before the stack resets it). Returns 0, or
 * -1 for anything that is not IPv4/IPv6 TCP or cannot be read.
 */
static __always_inline int skb_parse_l3(const struct sk_buff *skb, struct pkt_event *e)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	unsigned char *data = BPF_CORE_READ(skb, data);
	__u16 nh = BPF_CORE_READ(skb, network_header);
	__u16 proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	unsigned char *l3, *l4;
	__u8 first = 0, want;
	__u32 l3_len, l4_hdr;
	struct tcphdr th;

	if (proto == SKB_ETH_P_IP)
		want = 4;
	else if (proto == SKB_ETH_P_IPV6)
		want = 6;
	else
		return -1;
	l3 = (nh && nh != 0xffff) ? head + nh : data;
	if (bpf_probe_read_kernel(&first, 1, l3))
		return -1;
	if ((first >> 4) != want) {
		if (l3 == data)
			return -1;
		l3 = data;
		if (bpf_probe_read_kernel(&first, 1, l3) || (first >> 4) != want)
			return -1;
	}
	__builtin_memset(e->pkt_saddr, 0, 16);
	__builtin_memset(e->pkt_daddr, 0, 16);
	if (want == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), l3) || ip.protocol != IPPROTO_TCP)
			return -1;
		e->family = SKB_AF_INET;
		__builtin_memcpy(e->pkt_saddr, &ip.saddr, 4);
		__builtin_memcpy(e->pkt_daddr, &ip.daddr, 4);
		l3_len = (__u32)(first & 0xf) * 4;
		l4 = l3 + l3_len;
		l3_len = bpf_ntohs(ip.tot_len) - l3_len; /* what follows the IP header */
	} else {
		struct ipv6hdr ip6;

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), l3) || ip6.nexthdr != IPPROTO_TCP)
			return -1;
		e->family = SKB_AF_INET6;
		__builtin_memcpy(e->pkt_saddr, &ip6.saddr, 16);
		__builtin_memcpy(e->pkt_daddr, &ip6.daddr, 16);
		l4 = l3 + sizeof(ip6);
		l3_len = bpf_ntohs(ip6.payload_len);
	}
	if (bpf_probe_read_kernel(&th, sizeof(th), l4))
		return -1;
	e->pkt_sport = bpf_ntohs(th.source);
	e->pkt_dport = bpf_ntohs(th.dest);
	e->seq = bpf_ntohl(th.seq);
	e->ack = bpf_ntohl(th.ack_seq);
	e->tcp_flags = ((__u8 *)&th)[13];
	l4_hdr = (__u32)th.doff * 4;
	e->len = l3_len > l4_hdr ? l3_len - l4_hdr : 0;
	return 0;
}

/*
 * skb_parse_ct - the connection view of the packet: the conntrack entry's
 * original tuple oriented in the packet's direction when @skb has one, else
 * the packet's own tuple. Sets TRACE_EV_CT(_REPLY) and ct_id (unsalted).
 */
static __always_inline void skb_parse_ct(const struct sk_buff *skb, struct pkt_event *e)
{
	unsigned long nfct = BPF_CORE_READ(skb, _nfct);
	unsigned long info = nfct & SKB_CT_INFO_MASK;
	struct nf_conn *ct = (struct nf_conn *)(nfct & ~SKB_CT_INFO_MASK);
	struct nf_conntrack_tuple t;

	__builtin_memcpy(e->conn_saddr, e->pkt_saddr, 16);
	__builtin_memcpy(e->conn_daddr, e->pkt_daddr, 16);
	e->conn_sport = e->pkt_sport;
	e->conn_dport = e->pkt_dport;
	e->ct_id = 0;
	if (!ct || info == 7 /* IP_CT_UNTRACKED */)
		return;
	if (bpf_probe_read_kernel(&t, sizeof(t), &ct->tuplehash[0].tuple) ||
	    t.dst.protonum != IPPROTO_TCP)
		return;
	e->ct_id = (__u64)nfct & ~SKB_CT_INFO_MASK;
	e->flags |= TRACE_EV_CT;
	if (info >= SKB_CT_IS_REPLY) {
		e->flags |= TRACE_EV_CT_REPLY;
		__builtin_memcpy(e->conn_saddr, &t.dst.u3, 16);
		__builtin_memcpy(e->conn_daddr, &t.src.u3, 16);
		e->conn_sport = bpf_ntohs(t.dst.u.all);
		e->conn_dport = bpf_ntohs(t.src.u.all);
	} else {
		__builtin_memcpy(e->conn_saddr, &t.src.u3, 16);
		__builtin_memcpy(e->conn_daddr, &t.dst.u3, 16);
		e->conn_sport = bpf_ntohs(t.src.u.all);
		e->conn_dport = bpf_ntohs(t.dst.u.all);
	}
	if (e->family == SKB_AF_INET) {
		/* union nf_inet_addr holds IPv4 in its first word; the rest is not ours */
		__builtin_memset(e->conn_saddr + 4, 0, 12);
		__builtin_memset(e->conn_daddr + 4, 0, 12);
	}
}

/* A hash of the connection that is the same in both directions (for sampling). */
static __always_inline __u32 skb_conn_hash(const struct pkt_event *e)
{
	const __u32 *s = (const __u32 *)e->conn_saddr, *d = (const __u32 *)e->conn_daddr;
	__u32 hs = (s[0] ^ s[1] ^ s[2] ^ s[3] ^ e->conn_sport) * 0x9e3779b1u;
	__u32 hd = (d[0] ^ d[1] ^ d[2] ^ d[3] ^ e->conn_dport) * 0x9e3779b1u;

	hs ^= hs >> 15;
	hd ^= hd >> 15;
	return (hs + hd) * 0x85ebca6bu;
}

#endif /* PODSCOPE_SKB_BPF_H */
