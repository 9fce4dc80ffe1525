/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The model's part for the packet path of traced pods (podscope run
 * --trace-pod): per-hop latency histograms (hopstats.h) and the last
 * assembled flows as JSON. A header of its own so that model.h users do not
 * see the packet tracer's types.
 */
#ifndef PODSCOPE_MODEL_PACKETS_H
#define PODSCOPE_MODEL_PACKETS_H

#include <jansson.h>
#include <stdint.h>

struct model;
struct flow;
struct hop_stats;

/*
 * model__enable_packets makes the model keep per-hop latency histograms
 * (hopstats.h) and the last @max_flows flows as JSON; model__on_flow counts
 * the hops of one assembled flow for pod @pod (0, or -ENOMEM); model__add_flow_json
 * keeps @flow (a podscope.trace/v1 flow object; the model takes the
 * reference), dropping the oldest beyond @max_flows.
 */
int model__enable_packets(struct model *m, int max_flows);
int model__on_flow(struct model *m, const struct flow *f, const char *pod, uint32_t pod_netns,
		   uint32_t node_netns);
void model__add_flow_json(struct model *m, json_t *flow);
/* Counts of the last assembly interval and totals: events, lost ones, flows. */
struct model_packet_stats {
	uint64_t events, flows, intervals;
	uint64_t lost_ringbuf, lost_over_cap; /* ring buffer full; event/flow/packet/hop caps */
};
void model__set_packet_stats(struct model *m, const struct model_packet_stats *st);
/* NULL when packet tracing is off. */
const struct model_packet_stats *model__packet_stats(const struct model *m);
/* NULL when packet tracing is off. */
const struct hop_stats *model__packet_hops(const struct model *m);
/* {"schema": "podscope.flows/v1", "flows": [oldest .. newest], ...}; NULL when off. */
json_t *model__flows_json(const struct model *m);

#endif /* PODSCOPE_MODEL_PACKETS_H */
