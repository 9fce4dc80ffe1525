// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The packet path of target pods (M8): every point of TRACE_POINTS
 * (include/trace_events.h) reports each TCP packet of a watched pod with its
 * parsed headers, one event per packet and point, to user space, where
 * src/flow.c assembles hops into packets and packets into connections.
 *
 * Filter: a packet is the pod's when its device (or socket) is in a watched
 * network namespace (one hash lookup) or, outside those, when one of its
 * addresses is a watched pod IP (two more lookups after reading the IP
 * header). Everything else leaves there. Sampling keeps 1 in sample_every
 * connections, decided by a hash of the connection both directions share.
 *
 * Programs are generated from the table by one macro per mechanism; each
 * tracepoint exists as tp_btf and raw_tp (the loader keeps one set), each
 * function as fentry (loaded only where fentry works). All kernel memory is
 * read with CO-RE probe reads, so one body serves all of them.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "skb.bpf.h"
#include "trace_events.h"

#define TCX_NEXT (-1)

/* Salt for the opaque ids handed to user space (set by the loader). */
const volatile __u64 id_salt = 0;
/* Keep 1 in sample_every connections (0 or 1: all). */
const volatile __u32 sample_every = 1;

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACE_MAX_NETNS);
	__type(key, __u32); /* netns inode */
	__type(value, __u8);
} watched_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TRACE_MAX_ADDRS);
	__type(key, struct trace_addr_key);
	__type(value, __u8);
} watched_addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} trace_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PSTAT__COUNT);
	__type(key, __u32);
	__type(value, __u64);
} trace_stats SEC(".maps");

/* The event under construction (too big for the stack with the parsers). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pkt_event);
} scratch SEC(".maps");

static __always_inline void stat_inc(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&trace_stats, &which);

	if (v)
		*v += 1;
}

static __always_inline bool addr_watched(const __u8 *addr)
{
	struct trace_addr_key k;

	__builtin_memcpy(k.addr, addr, 16);
	return bpf_map_lookup_elem(&watched_addrs, &k) != NULL;
}

/* Sample, stamp and send @e. */
static __always_inline void send(struct pkt_event *e, __u16 point)
{
	if (sample_every > 1 && skb_conn_hash(e) % sample_every) {
		stat_inc(PSTAT_SAMPLED_OUT);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->point = point;
	if (bpf_ringbuf_output(&trace_events, e, sizeof(*e), 0))
		stat_inc(PSTAT_RINGBUF_DROPS);
	else
		stat_inc(PSTAT_EVENTS);
}

/*
 * on_skb - one packet at one point. @skb: the packet (NULL: nothing to do);
 * @sk: the socket the hook names, NULL to use skb->sk; @reason: drop reason.
 */
static __always_inline int on_skb(const struct sk_buff *skb, const struct sock *sk, __u16 point,
				  __u32 reason)
{
	__u32 zero = 0, netns, ifindex;
	struct pkt_event *e;
	bool in_ns;

	if (!skb)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	if (!sk)
		sk = BPF_CORE_READ(skb, sk);
	netns = skb_netns(skb, sk, &ifindex);
	in_ns = netns && bpf_map_lookup_elem(&watched_netns, &netns);
	e->flags = 0;
	if (skb_parse_l3(skb, e))
		return 0; /* not TCP over IP (or unreadable): not ours to show */
	if (!in_ns && !addr_watched(e->pkt_saddr) && !addr_watched(e->pkt_daddr))
		return 0;
	skb_parse_ct(skb, e);
	if (e->ct_id)
		e->ct_id ^= id_salt;
	e->netns = netns;
	e->ifindex = ifindex;
	e->reason = reason;
	e->skb_id = skb_ptr_id(skb) ^ id_salt;
	e->sock_id = sk ? skb_ptr_id(sk) ^ id_salt : 0;
	send(e, point);
	return 0;
}

/*
 * on_sock_skb - a point whose skb has no built headers (a write-queue skb):
 * tuple from @sk, seq and flags from the TCP control block.
 */
static __always_inline int on_sock_skb(const struct sk_buff *skb, const struct sock *sk,
				       __u16 point)
{
	struct tcp_skb_cb cb;
	__u32 zero = 0, ifindex, netns;
	struct pkt_event *e;
	__u16 family;
	bool in_ns;

	if (!skb || !sk)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	ifindex = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	__builtin_memset(e->pkt_saddr, 0, 16);
	__builtin_memset(e->pkt_daddr, 0, 16);
	if (family == SKB_AF_INET) {
		__u32 s = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 d = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(e->pkt_saddr, &s, 4);
		__builtin_memcpy(e->pkt_daddr, &d, 4);
	} else if (family == SKB_AF_INET6) {
		struct in6_addr s = BPF_CORE_READ(sk, __sk_common.skc_v6_rcv_saddr);
		struct in6_addr d = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);

		__builtin_memcpy(e->pkt_saddr, &s, 16);
		__builtin_memcpy(e->pkt_daddr, &d, 16);
	} else {
		return 0;
	}
	in_ns = netns && bpf_map_lookup_elem(&watched_netns, &netns);
	if (!in_ns && !addr_watched(e->pkt_saddr) && !addr_watched(e->pkt_daddr))
		return 0;
	if (bpf_probe_read_kernel(&cb, sizeof(cb), &skb->cb)) {
		stat_inc(PSTAT_PARSE_FAIL);
		return 0;
	}
	e->family = family;
	e->flags = TRACE_EV_NO_SKB;
	e->pkt_sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->pkt_dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->seq = cb.seq;
	e->ack = 0;
	e->tcp_flags = (__u8)cb.tcp_flags;
	e->len = cb.end_seq - cb.seq;
	if (e->len && (cb.tcp_flags & TRACE_TCP_SYN))
		e->len--;
	if (e->len && (cb.tcp_flags & TRACE_TCP_FIN))
		e->len--;
	__builtin_memcpy(e->conn_saddr, e->pkt_saddr, 16);
	__builtin_memcpy(e->conn_daddr, e->pkt_daddr, 16);
	e->conn_sport = e->pkt_sport;
	e->conn_dport = e->pkt_dport;
	e->netns = netns;
	e->ifindex = ifindex;
	e->reason = 0;
	e->ct_id = 0;
	e->skb_id = skb_ptr_id(skb) ^ id_salt;
	e->sock_id = skb_ptr_id(sk) ^ id_salt;
	send(e, point);
	return 0;
}

/* Read argument @i of a tracing program's context (-1: none). */
#define CTX_ARG(ctx, i) ((i) >= 0 ? (void *)(ctx)[(i) >= 0 ? (i) : 0] : NULL)

static __always_inline int on_point(__u64 *ctx, __u16 point, int skb_arg, int sk_arg)
{
	const struct sk_buff *skb = CTX_ARG(ctx, skb_arg);
	const struct sock *sk = CTX_ARG(ctx, sk_arg);
	__u32 reason = 0;

	if (point == TPT_kfree_skb)
		reason = (__u32)ctx[2];
	if (point == TPT_tcp_retransmit_skb)
		return on_sock_skb(skb, sk, point);
	return on_skb(skb, sk, point, reason);
}

#define PROG_TP(name, skb_arg, sk_arg)                             \
	SEC("tp_btf/" #name)                                       \
	int ps_##name##_btf(__u64 *ctx)                            \
	{                                                          \
		return on_point(ctx, TPT_##name, skb_arg, sk_arg); \
	}                                                          \
	SEC("raw_tp/" #name)                                       \
	int ps_##name##_raw(__u64 *ctx)                            \
	{                                                          \
		return on_point(ctx, TPT_##name, skb_arg, sk_arg); \
	}
#define PROG_FENTRY(name, skb_arg, sk_arg)                         \
	SEC("fentry/" #name)                                       \
	int ps_##name##_fe(__u64 *ctx)                             \
	{                                                          \
		return on_point(ctx, TPT_##name, skb_arg, sk_arg); \
	}
#define PROG_TC(name, skb_arg, sk_arg)                                  \
	SEC("tc")                                                       \
	int ps_##name(struct __sk_buff *ctx)                            \
	{                                                               \
		on_skb(bpf_cast_to_kern_ctx(ctx), NULL, TPT_##name, 0); \
		return TCX_NEXT;                                        \
	}
#define PROG_SPECIAL(name, skb_arg, sk_arg)	      /* written out below */
#define PROG(name, mech, skb_arg, sk_arg, layer, dir) PROG_##mech(name, skb_arg, sk_arg)

TRACE_POINTS(PROG)

/*
 * fib_table_lookup has no skb: the flow key of the lookup, addresses only
 * (receive-side lookups carry no ports), attached to a packet by user space.
 */
static __always_inline int on_fib(const struct flowi4 *flp, int err)
{
	__u32 zero = 0;
	struct pkt_event *e;
	__u8 proto;

	if (!flp)
		return 0;
	proto = BPF_CORE_READ(flp, __fl_common.flowic_proto);
	if (proto && proto != IPPROTO_TCP)
		return 0;
	e = bpf_map_lookup_elem(&scratch, &zero);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	{
		__u32 s = BPF_CORE_READ(flp, saddr), d = BPF_CORE_READ(flp, daddr);

		__builtin_memcpy(e->pkt_saddr, &s, 4);
		__builtin_memcpy(e->pkt_daddr, &d, 4);
	}
	if (!addr_watched(e->pkt_saddr) && !addr_watched(e->pkt_daddr))
		return 0;
	e->family = SKB_AF_INET;
	e->flags = TRACE_EV_NO_SKB;
	e->pkt_sport = bpf_ntohs(BPF_CORE_READ(flp, uli.ports.sport));
	e->pkt_dport = bpf_ntohs(BPF_CORE_READ(flp, uli.ports.dport));
	__builtin_memcpy(e->conn_saddr, e->pkt_saddr, 16);
	__builtin_memcpy(e->conn_daddr, e->pkt_daddr, 16);
	e->conn_sport = e->pkt_sport;
	e->conn_dport = e->pkt_dport;
	e->ifindex = BPF_CORE_READ(flp, __fl_common.flowic_oif);
	if (!e->ifindex)
		e->ifindex = BPF_CORE_READ(flp, __fl_common.flowic_iif);
	e->reason = (__u32)err;
	send(e, TPT_fib_table_lookup);
	return 0;
}

SEC("tp_btf/fib_table_lookup")
int ps_fib_table_lookup_btf(__u64 *ctx)
{
	return on_fib((const struct flowi4 *)ctx[1], (int)ctx[3]);
}

SEC("raw_tp/fib_table_lookup")
int ps_fib_table_lookup_raw(__u64 *ctx)
{
	return on_fib((const struct flowi4 *)ctx[1], (int)ctx[3]);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
