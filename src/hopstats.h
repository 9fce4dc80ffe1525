/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Per-hop packet latency aggregates for the agent: assembled flows
 * (flow.h) in, one log2 histogram per (pod, inside/outside the pod,
 * direction, from hop -> to hop) out. A hop is a point of the hook table
 * and where it ran relative to the pod (the pod's network namespace, the
 * node's, or another), so the number of series is bounded by the fixed
 * point table, never by connections. Part of the model: views read it
 * through model.h, never from the tracer.
 */
#ifndef PODSCOPE_HOPSTATS_H
#define PODSCOPE_HOPSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct flow; /* flow.h */

#define HOP_HIST_SLOTS 40 /* slot i: [2^i, 2^(i+1)) ns; slot 0 also holds 0 */

/* Where a hop ran, seen from the pod whose series it feeds. */
enum hop_where {
	HOP_WHERE_POD = 0, /* the pod's network namespace */
	HOP_WHERE_NODE,	   /* the node's (host end of the veth, bridge) */
	HOP_WHERE_OTHER,   /* another namespace (the peer pod), or no device and no socket */
	HOP_WHERE__COUNT,
};

struct hop_series {
	char pod[256]; /* "ns/name" */
	bool inside_pod;
	uint8_t from_server; /* 0: client -> server */
	uint16_t from_point, to_point;
	uint8_t from_where, to_where;
	uint64_t count, sum_ns;
	uint64_t hist[HOP_HIST_SLOTS];
};

struct hop_stats;

/* @max_series: 0 means 4096. NULL when out of memory. */
struct hop_stats *hop_stats__new(int max_series);

/*
 * hop_stats__add_flow - count every hop interval (dt_ns between consecutive
 * hops of one packet) of @f for pod @pod, whose network namespace is
 * @pod_netns; @node_netns is the node's. Returns the number of intervals
 * counted; intervals of series over the limit are counted in
 * hop_stats__over_cap() instead.
 */
int hop_stats__add_flow(struct hop_stats *hs, const struct flow *f, const char *pod,
			uint32_t pod_netns, uint32_t node_netns);

int hop_stats__nseries(const struct hop_stats *hs); /* NULL-safe: 0 */
const struct hop_series *hop_stats__series(const struct hop_stats *hs, int i);
uint64_t hop_stats__over_cap(const struct hop_stats *hs);

/* "tc_egress@node": the point's name and where it ran, into @buf. */
const char *hop_name(uint16_t point, uint8_t where, char *buf, size_t len);
const char *hop_where_name(enum hop_where w);

void hop_stats__free(struct hop_stats *hs); /* NULL-safe */

#endif /* PODSCOPE_HOPSTATS_H */
