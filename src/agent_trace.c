// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Packet tracing in the agent (agent_trace.h). Events go into one flow
 * table per interval; a flush assembles it, gives each flow to the model
 * once per traced pod it touched (hop latencies seen from that pod) and
 * keeps it as JSON for /api/v1/flows, then frees the table: the next
 * interval starts empty. A connection that spans a flush shows up as two
 * partial flows; hop latencies are per packet and are not affected, except
 * for the rare packet in flight at the flush.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent_trace.h"
#include "flow.h"
#include "log.h"
#include "target.h"
#include "trace.h"

#define AGENT_TRACE_MAX_PODS 64

struct traced_pod {
	char label[POD_NAME_MAX * 2 + 2];
	uint32_t netns;
};

struct agent_tracer {
	struct pkt_tracer *tracer;
	struct flow_table *ft;
	size_t max_events;
	uint32_t node_netns;
	struct traced_pod pods[AGENT_TRACE_MAX_PODS];
	int npods;
	struct model_packet_stats st;
};

static void on_event(void *ctx, const struct pkt_event *e)
{
	struct agent_tracer *t = ctx;

	if (t->ft)
		flow_table__add(t->ft, e);
}

static struct flow_table *table_new(size_t max_events)
{
	/* smaller than `podscope trace`'s: this is paid every interval, for as long as it runs */
	return flow_table__new(&(struct flow_limits){
		.max_events = max_events, .max_flows = 512, .max_packets_per_flow = 256});
}

struct agent_tracer *agent_tracer__new(struct target_set *set, const char *const *pods, int npods,
				       size_t max_events, uint32_t sample_every, char *err,
				       size_t errlen)
{
	struct agent_tracer *t = calloc(1, sizeof(*t));
	struct pkt_tracer_opts topts = {.sample_every = sample_every};
	bool *keep = calloc((size_t)set->npods + 1, sizeof(*keep));
	struct stat sb;
	int i;

	if (!t || !keep) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (npods > AGENT_TRACE_MAX_PODS) {
		snprintf(err, errlen, "too many --trace-pod (max %d)", AGENT_TRACE_MAX_PODS);
		goto fail;
	}
	t->max_events = max_events;
	if (!stat("/proc/self/ns/net", &sb))
		t->node_netns = (uint32_t)sb.st_ino;
	for (i = 0; i < npods; i++) {
		struct target_pod *pod = target_set__find_pod(set, pods[i]);

		if (!pod) {
			snprintf(err, errlen,
				 "--trace-pod: unknown pod '%s': not found on this node", pods[i]);
			goto fail;
		}
		if (!pod->netns_ino || !target_pod__netns_pid(pod)) {
			snprintf(err, errlen,
				 "--trace-pod: pod '%s' has no running process on this node",
				 pods[i]);
			goto fail;
		}
		if (keep[pod - set->pods])
			continue;
		keep[pod - set->pods] = true;
		snprintf(t->pods[t->npods].label, sizeof(t->pods[0].label), "%s/%s",
			 pod->meta.namespace_, pod->meta.name);
		t->pods[t->npods++].netns = (uint32_t)pod->netns_ino;
	}
	t->ft = table_new(max_events);
	if (!t->ft) {
		snprintf(err, errlen, "out of memory for %zu packet events", max_events);
		goto fail;
	}
	t->tracer = pkt_tracer__new(&topts, on_event, t);
	if (!t->tracer) {
		snprintf(err, errlen, "cannot load the packet tracer: %s (see 'podscope doctor')",
			 strerror(errno));
		goto fail;
	}
	for (i = 0; i < set->npods; i++) {
		struct target_pod *pod = &set->pods[i];
		pid_t pid = target_pod__netns_pid(pod);
		char label[POD_NAME_MAX * 2 + 2];
		int rc;

		if (!pid)
			continue;
		snprintf(label, sizeof(label), "%s/%s", pod->meta.namespace_, pod->meta.name);
		rc = pkt_tracer__add_netns(t->tracer, pid, label, keep[i]);
		if (rc && keep[i]) {
			snprintf(err, errlen, "--trace-pod: cannot trace '%s': %s", label,
				 strerror(-rc));
			goto fail;
		}
	}
	free(keep);
	return t;
fail:
	free(keep);
	agent_tracer__free(t);
	return NULL;
}

int agent_tracer__poll(struct agent_tracer *t)
{
	return pkt_tracer__poll(t->tracer, 0);
}

int agent_tracer__tcx_links(const struct agent_tracer *t)
{
	return pkt_tracer__point(t->tracer, TPT_tc_ingress)->links +
	       pkt_tracer__point(t->tracer, TPT_tc_egress)->links;
}

static bool flow_touches(const struct flow *f, uint32_t netns)
{
	for (int p = 0; p < f->npackets; p++)
		for (int h = 0; h < f->packets[p].nhops; h++)
			if (f->packets[p].hops[h].netns == netns)
				return true;
	return false;
}

void agent_tracer__flush(struct agent_tracer *t, struct model *m)
{
	struct flow_namer nm;
	uint64_t kstats[PSTAT__COUNT] = {0};
	struct flow_stats fs;
	int i, n;

	if (!t || !t->ft)
		return;
	pkt_tracer__namer(t->tracer, &nm);
	pkt_tracer__poll(t->tracer, 0);
	flow_table__assemble(t->ft);
	flow_table__stats(t->ft, &fs);
	n = flow_table__nflows(t->ft);
	for (i = 0; i < n; i++) {
		const struct flow *f = flow_table__flow(t->ft, i);

		for (int p = 0; p < t->npods; p++)
			if (flow_touches(f, t->pods[p].netns))
				model__on_flow(m, f, t->pods[p].label, t->pods[p].netns,
					       t->node_netns);
		if (i >= n - AGENT_TRACE_FLOWS) {
			/* the flow's first packets only: the kept JSON stays small */
			struct flow c = *f;
			json_t *j;

			if (c.npackets > AGENT_TRACE_FLOW_PACKETS)
				c.npackets = AGENT_TRACE_FLOW_PACKETS;
			j = flow__json(&c, &nm);
			json_object_set_new(j, "packets_total", json_integer(f->npackets));
			model__add_flow_json(m, j);
		}
	}
	pkt_tracer__stats(t->tracer, kstats);
	t->st.intervals++;
	t->st.events += fs.events;
	t->st.flows += (uint64_t)n;
	t->st.lost_ringbuf = kstats[PSTAT_RINGBUF_DROPS];
	t->st.lost_over_cap +=
		fs.events_over_cap + fs.flows_over_cap + fs.packets_over_cap + fs.hops_over_cap;
	model__set_packet_stats(m, &t->st);
	/* the next interval starts empty: memory stays bounded */
	flow_table__free(t->ft);
	t->ft = table_new(t->max_events);
	if (!t->ft)
		pr_warn("packet tracing: out of memory for the next interval's events");
}

void agent_tracer__free(struct agent_tracer *t)
{
	if (!t)
		return;
	pkt_tracer__free(t->tracer);
	flow_table__free(t->ft);
	free(t);
}
