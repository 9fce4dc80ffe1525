/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Flow assembly for the packet path: per-hop events (struct pkt_event) in,
 * connections out. Events are kept (bounded) while tracing and assembled at
 * the end: sorted by time, joined into packets by identity (skb address,
 * seq, ack, flags, length: NAT changes addresses and ports, not these),
 * packets grouped into connections by their pre-NAT tuple, classified by
 * TCP phase, with per-hop and per-phase latencies. Pure user-space code, no
 * BPF: unit-tested on synthetic events.
 */
#ifndef PODSCOPE_FLOW_H
#define PODSCOPE_FLOW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "otlp.h"
#include "trace_events.h"

#define FLOW_MAX_HOPS 32

enum flow_phase {
	FLOW_PHASE_HANDSHAKE = 0, /* SYN, SYN-ACK, the client's first ACK */
	FLOW_PHASE_DATA,	  /* payload */
	FLOW_PHASE_ACK,		  /* pure ACK */
	FLOW_PHASE_TEARDOWN,	  /* FIN, RST, and pure ACKs after the first FIN */
	FLOW_PHASE__COUNT,
};

struct flow_hop {
	uint64_t ts_ns;
	uint32_t netns, ifindex;
	uint32_t reason; /* kfree_skb drop reason, fib_table_lookup error */
	uint16_t point;	 /* enum trace_point */
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16]; /* the header at this hop (NAT shows here) */
	uint64_t sock_id;
};

struct flow_packet {
	uint64_t skb_id;
	uint32_t seq, ack, len;
	uint8_t tcp_flags;
	uint8_t from_server; /* 0: client -> server */
	uint8_t phase;	     /* enum flow_phase */
	bool dropped;	     /* ended in kfree_skb */
	uint32_t drop_reason;
	uint64_t gap_ns; /* data after data the other way: time since that reached its socket */
	int nhops;
	struct flow_hop hops[FLOW_MAX_HOPS];
};

struct flow_phase_total {
	uint64_t packets, bytes;
	uint64_t path_ns; /* sum over packets of last hop - first hop */
};

/* Canonical connection key: endpoint a sorts before endpoint b. */
struct flow_key {
	uint8_t family;
	uint8_t a_addr[16], b_addr[16];
	uint16_t a_port, b_port;
};

struct flow {
	struct flow_key key;
	int client;	   /* 0: a is the client, 1: b */
	bool client_known; /* from a SYN; else guessed (higher port is the client) */
	bool inside_pod;   /* every hop on lo of one network namespace */
	uint32_t netns;	   /* that namespace when inside_pod */
	uint64_t retransmits;
	uint64_t packets_over_cap; /* packets not kept: FLOW_MAX_PACKETS reached */
	struct flow_phase_total phases[FLOW_PHASE__COUNT];
	int npackets, cap;
	struct flow_packet *packets; /* in order of their first hop */
};

struct flow_limits {
	size_t max_events;	  /* kept while tracing; 0: 131072 */
	int max_flows;		  /* 0: 1024 */
	int max_packets_per_flow; /* 0: 512 */
};

struct flow_stats {
	uint64_t events, events_over_cap;
	uint64_t flows_over_cap, packets_over_cap;
	uint64_t hops_over_cap;	   /* a packet had FLOW_MAX_HOPS already */
	uint64_t unmatched;	   /* route lookups / retransmit marks no packet took */
	uint64_t duplicate_copies; /* more reads of the same skb (partial reads) */
};

struct flow_table;

struct flow_table *flow_table__new(const struct flow_limits *limits);
/* Keep one event (copied). 0, or -ENOSPC when max_events are kept (counted). */
int flow_table__add(struct flow_table *ft, const struct pkt_event *e);
/* Assemble everything added so far into flows (idempotent; add after it is refused). */
void flow_table__assemble(struct flow_table *ft);
int flow_table__nflows(const struct flow_table *ft);
const struct flow *flow_table__flow(const struct flow_table *ft, int i);
void flow_table__stats(const struct flow_table *ft, struct flow_stats *out);
void flow_table__free(struct flow_table *ft);

const char *flow_phase_name(enum flow_phase p);
/* "SYN|ACK" etc. into @buf. */
const char *flow_flags_str(uint8_t flags, char *buf, size_t len);

/*
 * Hop order check: within each run of consecutive RX (or TX) hops in one
 * network namespace, layers must not decrease on receive and not increase on
 * send (END points are outside the order). Also timestamps non-decreasing.
 * Returns true when @p is physically ordered.
 */
bool flow_packet__ordered(const struct flow_packet *p);

/* Names for output; every callback may be NULL (numbers are printed). */
struct flow_namer {
	const char *(*netns)(void *ctx, uint32_t netns, char *buf, size_t len);
	const char *(*ifname)(void *ctx, uint32_t netns, uint32_t ifindex, char *buf, size_t len);
	const char *(*drop_reason)(void *ctx, uint32_t reason);
	void *ctx;
};

/* One flow as JSON (schema podscope.trace/v1, docs/trace.md). Caller owns it. */
json_t *flow__json(const struct flow *f, const struct flow_namer *nm);
/* Terminal text: the flow, its packets, and each hop with its latency. */
void flow__print(const struct flow *f, const struct flow_namer *nm, FILE *out, int max_packets);
/* CSV: one row per hop; flow__csv_header first. */
void flow__csv_header(FILE *out);
void flow__csv(const struct flow *f, int flow_idx, const struct flow_namer *nm, FILE *out);

/*
 * flow__to_trace - @f as one trace: a root span for the connection, one
 * child span per phase that occurs, and under each phase one span per hop
 * interval of its packets (as many as TRACE_MAX_SPANS allows; the rest are
 * counted in the root's "podscope.spans_dropped"). @mono_to_unix_ns converts
 * CLOCK_MONOTONIC to the Unix epoch. Ids come from getrandom(). Returns the
 * number of spans.
 */
int flow__to_trace(const struct flow *f, const struct flow_namer *nm, int64_t mono_to_unix_ns,
		   struct trace_rec *out);

#endif /* PODSCOPE_FLOW_H */
