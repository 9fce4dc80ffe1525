// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Per-hop packet latency histograms (hopstats.h): a flat array of series,
 * found by linear search — a pod has a few dozen hop pairs, and the agent
 * adds flows once per interval, not per packet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "hopstats.h"
#include "trace_points.h"

struct hop_stats {
	struct hop_series *series;
	int nseries, cap, max_series;
	uint64_t over_cap;
};

struct hop_stats *hop_stats__new(int max_series)
{
	struct hop_stats *hs = calloc(1, sizeof(*hs));

	if (hs)
		hs->max_series = max_series > 0 ? max_series : 4096;
	return hs;
}

static int slot_of(uint64_t ns)
{
	int s = 0;

	while (ns > 1 && s < HOP_HIST_SLOTS - 1) {
		ns >>= 1;
		s++;
	}
	return s;
}

static uint8_t where_of(uint32_t netns, uint32_t pod_netns, uint32_t node_netns)
{
	if (netns && netns == pod_netns)
		return HOP_WHERE_POD;
	if (netns && netns == node_netns)
		return HOP_WHERE_NODE;
	return HOP_WHERE_OTHER;
}

static struct hop_series *series_get(struct hop_stats *hs, const struct hop_series *k)
{
	struct hop_series *s;
	int i;

	for (i = 0; i < hs->nseries; i++) {
		s = &hs->series[i];
		if (s->from_point == k->from_point && s->to_point == k->to_point &&
		    s->from_where == k->from_where && s->to_where == k->to_where &&
		    s->inside_pod == k->inside_pod && s->from_server == k->from_server &&
		    !strcmp(s->pod, k->pod))
			return s;
	}
	if (hs->nseries >= hs->max_series)
		return NULL;
	if (hs->nseries == hs->cap) {
		int ncap = hs->cap ? hs->cap * 2 : 64;

		s = realloc(hs->series, (size_t)ncap * sizeof(*s));
		if (!s)
			return NULL;
		hs->series = s;
		hs->cap = ncap;
	}
	s = &hs->series[hs->nseries++];
	*s = *k;
	return s;
}

int hop_stats__add_flow(struct hop_stats *hs, const struct flow *f, const char *pod,
			uint32_t pod_netns, uint32_t node_netns)
{
	struct hop_series k = {0};
	int n = 0;

	if (!hs || !f)
		return 0;
	snprintf(k.pod, sizeof(k.pod), "%s", pod);
	k.inside_pod = f->inside_pod;
	for (int p = 0; p < f->npackets; p++) {
		const struct flow_packet *pk = &f->packets[p];

		k.from_server = pk->from_server;
		for (int h = 1; h < pk->nhops; h++) {
			const struct flow_hop *a = &pk->hops[h - 1], *b = &pk->hops[h];
			uint64_t dt = b->ts_ns >= a->ts_ns ? b->ts_ns - a->ts_ns : 0;
			struct hop_series *s;

			k.from_point = a->point;
			k.to_point = b->point;
			k.from_where = where_of(a->netns, pod_netns, node_netns);
			k.to_where = where_of(b->netns, pod_netns, node_netns);
			s = series_get(hs, &k);
			if (!s) {
				hs->over_cap++;
				continue;
			}
			s->count++;
			s->sum_ns += dt;
			s->hist[slot_of(dt)]++;
			n++;
		}
	}
	return n;
}

int hop_stats__nseries(const struct hop_stats *hs)
{
	return hs ? hs->nseries : 0;
}

const struct hop_series *hop_stats__series(const struct hop_stats *hs, int i)
{
	return hs && i >= 0 && i < hs->nseries ? &hs->series[i] : NULL;
}

uint64_t hop_stats__over_cap(const struct hop_stats *hs)
{
	return hs ? hs->over_cap : 0;
}

const char *hop_where_name(enum hop_where w)
{
	static const char *const names[HOP_WHERE__COUNT] = {"pod", "node", "other"};

	return w < HOP_WHERE__COUNT ? names[w] : "?";
}

const char *hop_name(uint16_t point, uint8_t where, char *buf, size_t len)
{
	const struct trace_point_info *pi = trace_point_info(point);

	snprintf(buf, len, "%s@%s", pi ? pi->name : "?", hop_where_name(where));
	return buf;
}

void hop_stats__free(struct hop_stats *hs)
{
	if (!hs)
		return;
	free(hs->series);
	free(hs);
}
