/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The packet tracer inside the agent (`podscope run --trace-pod NS/NAME`):
 * the same tracer and flow assembly as `podscope trace` (trace.h, flow.h),
 * but assembled every interval instead of once at the end: each flush
 * assembles the events kept since the last one, hands every flow to the
 * model (per-hop histograms, the last flows as JSON) and starts an empty
 * event buffer, so memory stays bounded however long the agent runs.
 */
#ifndef PODSCOPE_AGENT_TRACE_H
#define PODSCOPE_AGENT_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "model_packets.h"

struct target_set;

/* Flows kept for /api/v1/flows, and packets kept per flow there. */
#define AGENT_TRACE_FLOWS	 20
#define AGENT_TRACE_FLOW_PACKETS 24

struct agent_tracer;

/*
 * agent_tracer__new - load the packet tracer and point it at pods @pods
 * ("ns/name", each must be in @set with a live process); every other pod of
 * @set only lends its name to its network namespace. @max_events bounds the
 * events kept per interval; @sample_every keeps 1 in N connections. NULL
 * with one line in @err.
 */
struct agent_tracer *agent_tracer__new(struct target_set *set, const char *const *pods, int npods,
				       size_t max_events, uint32_t sample_every, char *err,
				       size_t errlen);

/* Deliver queued events into the interval's buffer. >= 0 or -errno. */
int agent_tracer__poll(struct agent_tracer *t);

/* Assemble the interval's events into @m and start a new interval. */
void agent_tracer__flush(struct agent_tracer *t, struct model *m);

/* Links of tc ingress + egress (for the start-up line). */
int agent_tracer__tcx_links(const struct agent_tracer *t);

void agent_tracer__free(struct agent_tracer *t); /* NULL-safe; detaches everything */

#endif /* PODSCOPE_AGENT_TRACE_H */
