/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The packet path (M8), shared by bpf/trace.bpf.c and the user side: the hook
 * table, the per-hop event and the kernel-side filter keys. Fixed-width
 * types, explicit padding, no pointers.
 *
 * TRACE_POINTS is the one place that lists where a packet is observed. Each
 * line is X(name, mech, skb_arg, sk_arg, layer, dir):
 *   name    the tracepoint or kernel function (or tc_ingress/tc_egress);
 *   mech    TP: tracepoint, tp_btf first, raw_tp as the fallback;
 *           FENTRY: a kernel function, used only when a load-time probe says
 *           fentry works (there is no kprobe fallback: the kernel this was
 *           built on has no kprobes);
 *           TC: a tcx link (kernel >= 6.6) on the pod's devices;
 *           SPECIAL: a hand-written program (arguments without an skb);
 *   skb_arg index of the struct sk_buff * argument (-1: none);
 *   sk_arg  index of the struct sock * argument (-1: none; skb->sk is used);
 *   layer   where in the stack the point is (DEV < TC < IP < TCP < SOCK), so
 *           that the order of hops can be checked: non-decreasing on receive,
 *           non-increasing on send;
 *   dir     RX, TX, or END (completion, free, drop: outside that order).
 * Adding a point is one line here (SPECIAL needs its program in trace.bpf.c).
 */
#ifndef PODSCOPE_TRACE_EVENTS_H
#define PODSCOPE_TRACE_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TRACE_POINTS(X)                                   \
	X(netif_rx, TP, 0, -1, DEV, RX)                   \
	X(napi_gro_receive_entry, TP, 0, -1, DEV, RX)     \
	X(netif_receive_skb, TP, 0, -1, DEV, RX)          \
	X(br_handle_frame_finish, FENTRY, 2, -1, DEV, RX) \
	X(tc_ingress, TC, -1, -1, TC, RX)                 \
	X(ip_rcv, FENTRY, 0, -1, IP, RX)                  \
	X(nf_hook_slow, FENTRY, 0, -1, IP, RX)            \
	X(ip_rcv_finish, FENTRY, 2, -1, IP, RX)           \
	X(fib_table_lookup, SPECIAL, -1, -1, IP, RX)      \
	X(tcp_probe, TP, 1, 0, TCP, RX)                   \
	X(sock_rcvqueue_full, TP, 1, 0, SOCK, RX)         \
	X(skb_copy_datagram_iovec, TP, 0, -1, SOCK, RX)   \
	X(tcp_retransmit_skb, TP, 1, 0, TCP, TX)          \
	X(ip_output, FENTRY, 2, -1, IP, TX)               \
	X(ip_finish_output, FENTRY, 2, -1, IP, TX)        \
	X(br_forward, FENTRY, 1, -1, DEV, TX)             \
	X(tc_egress, TC, -1, -1, TC, TX)                  \
	X(net_dev_queue, TP, 0, -1, DEV, TX)              \
	X(net_dev_start_xmit, TP, 0, -1, DEV, TX)         \
	X(net_dev_xmit, TP, 0, -1, DEV, END)              \
	X(kfree_skb, TP, 0, -1, END, END)                 \
	X(consume_skb, TP, 0, -1, END, END)

#define TRACE_POINT_ENUM(name, mech, skb_arg, sk_arg, layer, dir) TPT_##name,
enum trace_point { TRACE_POINTS(TRACE_POINT_ENUM) TPT__COUNT };
#undef TRACE_POINT_ENUM

enum trace_mech { TMECH_TP = 1, TMECH_FENTRY, TMECH_TC, TMECH_SPECIAL };
enum trace_layer { TLAYER_DEV = 1, TLAYER_TC, TLAYER_IP, TLAYER_TCP, TLAYER_SOCK, TLAYER_END };
enum trace_dir { TDIR_RX = 1, TDIR_TX, TDIR_END };

#define TRACE_MAX_NETNS 64
#define TRACE_MAX_ADDRS 256

/* TCP flags as in the header's 13th byte. */
#define TRACE_TCP_FIN 0x01
#define TRACE_TCP_SYN 0x02
#define TRACE_TCP_RST 0x04
#define TRACE_TCP_PSH 0x08
#define TRACE_TCP_ACK 0x10

/* struct pkt_event.flags */
#define TRACE_EV_CT	  0x01 /* the skb had a conntrack entry: conn_* is its original tuple */
#define TRACE_EV_CT_REPLY 0x02 /* ... and the packet goes in the reply direction */
#define TRACE_EV_NO_SKB	  0x04 /* a route lookup: tuple only, no seq/ack/len */

/*
 * One packet at one point. Addresses: 16 bytes, IPv4 in the first 4 (network
 * order); ports in host order. pkt_* is what the header says at this point
 * (after any NAT so far); conn_* is the same packet as seen before NAT (from
 * the conntrack entry's original tuple, oriented in the packet's direction),
 * which is what groups packets into connections across a REDIRECT.
 */
struct pkt_event {
	__u64 ts_ns;   /* CLOCK_MONOTONIC */
	__u64 skb_id;  /* skb address ^ salt: the same object along one host's path */
	__u64 sock_id; /* socket address ^ salt, 0: the skb had no socket */
	__u64 ct_id;   /* conntrack entry address ^ salt, 0: none */
	__u32 netns;   /* inode of the device's (or socket's) network namespace */
	__u32 ifindex; /* 0: no device */
	__u32 seq, ack;
	__u32 len;    /* TCP payload bytes */
	__u32 reason; /* kfree_skb: enum skb_drop_reason; fib_table_lookup: error */
	__u8 pkt_saddr[16];
	__u8 pkt_daddr[16];
	__u8 conn_saddr[16];
	__u8 conn_daddr[16];
	__u16 pkt_sport, pkt_dport;
	__u16 conn_sport, conn_dport;
	__u16 point; /* enum trace_point */
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 tcp_flags;
	__u8 flags; /* TRACE_EV_* */
	__u8 pad[7];
};

/* Watched address (pod IP). */
struct trace_addr_key {
	__u8 addr[16];
};

enum trace_stat {
	PSTAT_RINGBUF_DROPS = 0, /* events lost: ring buffer full */
	PSTAT_EVENTS,		 /* events sent */
	PSTAT_SAMPLED_OUT,	 /* target packets skipped by --packet-sample */
	PSTAT_PARSE_FAIL,	 /* target write-queue skbs whose control block could not be read */
	PSTAT__COUNT,
};

#endif /* PODSCOPE_TRACE_EVENTS_H */
