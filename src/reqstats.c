// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Request aggregates per pod and direction (see reqstats.h). Groups are few
 * (pods x 2 directions), so they live in a small array searched linearly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reqstats.h"

#define MAX_GROUPS 256

struct req_stats {
	struct req_group *groups;
	int ngroups;
};

static const char *const part_names[REQ_PART__COUNT] = {
	[REQ_PART_TOTAL] = "total",
	[REQ_PART_SIDECAR] = "sidecar",
	[REQ_PART_SIDECAR_INBOUND] = "sidecar_inbound",
	[REQ_PART_APP] = "app",
	[REQ_PART_SIDECAR_OUTBOUND] = "sidecar_outbound",
	[REQ_PART_UPSTREAM_CONNECT] = "upstream_connect",
};

const char *req_part_name(enum req_part p)
{
	return p < REQ_PART__COUNT ? part_names[p] : "?";
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x2545f4914f6cdd1dULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

void lat_summary__add(struct lat_summary *s, uint64_t ns)
{
	int slot = ns ? 63 - __builtin_clzll(ns) : 0;

	if (slot >= LAT_HIST_SLOTS)
		slot = LAT_HIST_SLOTS - 1;
	s->hist[slot]++;
	if (!s->reservoir) {
		s->reservoir = malloc(LAT_RESERVOIR * sizeof(*s->reservoir));
		if (!s->reservoir)
			return; /* histogram only */
	}
	if (s->count < LAT_RESERVOIR) {
		s->reservoir[s->count] = ns;
	} else {
		/* Algorithm R: keep each of the count+1 values with equal probability */
		uint64_t j = xorshift(&s->rng) % (s->count + 1);

		if (j < LAT_RESERVOIR)
			s->reservoir[j] = ns;
	}
	s->count++;
	s->sum_ns += ns;
	if (ns > s->max_ns)
		s->max_ns = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t lat_summary__quantile(const struct lat_summary *s, double q)
{
	size_t n = s->count < LAT_RESERVOIR ? s->count : LAT_RESERVOIR, rank;
	uint64_t *v, r;

	if (!n || !s->reservoir)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return 0;
	memcpy(v, s->reservoir, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_u64);
	rank = (size_t)(q * (double)n + 0.999999); /* nearest rank, 1-based */
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	r = v[rank - 1];
	free(v);
	return r;
}

json_t *lat_summary__json(const struct lat_summary *s)
{
	json_t *h = json_array();
	int i, last = -1;

	for (i = 0; i < LAT_HIST_SLOTS; i++)
		if (s->hist[i])
			last = i;
	for (i = 0; i <= last; i++)
		json_array_append_new(h, json_integer((json_int_t)s->hist[i]));
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "count", (json_int_t)s->count,
			 "sum_ns", (json_int_t)s->sum_ns, "max_ns", (json_int_t)s->max_ns, "p50_ns",
			 (json_int_t)lat_summary__quantile(s, 0.50), "p90_ns",
			 (json_int_t)lat_summary__quantile(s, 0.90), "p99_ns",
			 (json_int_t)lat_summary__quantile(s, 0.99), "hist", h);
}

void lat_summary__free(struct lat_summary *s)
{
	free(s->reservoir);
	s->reservoir = NULL;
}

struct req_stats *req_stats__new(void)
{
	return calloc(1, sizeof(struct req_stats));
}

static struct req_group *group_get(struct req_stats *s, const char *pod, enum req_direction d)
{
	struct req_group *g;
	int i;

	for (i = 0; i < s->ngroups; i++)
		if (s->groups[i].direction == d && !strcmp(s->groups[i].pod, pod))
			return &s->groups[i];
	if (s->ngroups >= MAX_GROUPS)
		return NULL;
	if (!s->groups) {
		s->groups = calloc(MAX_GROUPS, sizeof(*s->groups));
		if (!s->groups)
			return NULL;
	}
	g = &s->groups[s->ngroups++];
	snprintf(g->pod, sizeof(g->pod), "%s", pod);
	g->direction = d;
	for (i = 0; i < REQ_PART__COUNT; i++)
		g->lat[i].rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(s->ngroups * 8 + i + 1);
	return g;
}

int req_stats__add(struct req_stats *s, const char *pod, const struct req_record *r)
{
	struct req_group *g = group_get(s, pod, r->direction);
	int cls = r->status / 100;

	if (!g)
		return s->groups ? -ENOSPC : -ENOMEM;
	g->count++;
	g->status[cls >= 1 && cls <= 5 ? cls : 0]++;
	lat_summary__add(&g->lat[REQ_PART_TOTAL], r->t_out - r->t_in);
	if (!r->upstream) {
		g->sidecar_answered++;
		return 0;
	}
	lat_summary__add(&g->lat[REQ_PART_SIDECAR],
			 (r->t_up_out - r->t_in) + (r->t_out - r->t_up_in));
	lat_summary__add(&g->lat[REQ_PART_SIDECAR_INBOUND], r->t_up_out - r->t_in);
	lat_summary__add(&g->lat[REQ_PART_APP], r->t_up_in - r->t_up_out);
	lat_summary__add(&g->lat[REQ_PART_SIDECAR_OUTBOUND], r->t_out - r->t_up_in);
	if (r->new_upstream_conn) {
		g->new_upstream_conns++;
		if (r->upstream_connect_ns)
			lat_summary__add(&g->lat[REQ_PART_UPSTREAM_CONNECT],
					 r->upstream_connect_ns);
	}
	return 0;
}

int req_stats__ngroups(const struct req_stats *s)
{
	return s ? s->ngroups : 0;
}

const struct req_group *req_stats__group(const struct req_stats *s, int i)
{
	return s && i >= 0 && i < s->ngroups ? &s->groups[i] : NULL;
}

json_t *req_stats__json(const struct req_stats *s)
{
	json_t *arr = json_array();
	int i, p;

	for (i = 0; s && i < s->ngroups; i++) {
		const struct req_group *g = &s->groups[i];
		json_t *o = json_pack(
			"{s:s, s:s, s:s, s:I, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:I, s:I}", "pod",
			g->pod, "direction", req_direction_name(g->direction), "protocol", "HTTP",
			"count", (json_int_t)g->count, "status", "1xx", (json_int_t)g->status[1],
			"2xx", (json_int_t)g->status[2], "3xx", (json_int_t)g->status[3], "4xx",
			(json_int_t)g->status[4], "5xx", (json_int_t)g->status[5], "other",
			(json_int_t)g->status[0], "sidecar_answered",
			(json_int_t)g->sidecar_answered, "new_upstream_connections",
			(json_int_t)g->new_upstream_conns);

		for (p = 0; p < REQ_PART__COUNT; p++)
			json_object_set_new(o, part_names[p], lat_summary__json(&g->lat[p]));
		json_array_append_new(arr, o);
	}
	return arr;
}

static void us_text(uint64_t ns, char *buf, size_t n)
{
	if (ns >= 10000000)
		snprintf(buf, n, "%.0fms", (double)ns / 1e6);
	else if (ns >= 1000000)
		snprintf(buf, n, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, n, "%.0fus", (double)ns / 1e3);
}

void req_stats__print(const struct req_stats *s, FILE *out)
{
	int i;

	if (!s || !s->ngroups)
		return;
	fprintf(out, "\n%-28s %-9s %8s %6s  %-17s %-17s %-17s\n", "REQUESTS (HTTP) POD",
		"DIRECTION", "COUNT", "ERR%", "SIDECAR p50/p99", "APP p50/p99", "TOTAL p50/p99");
	for (i = 0; i < s->ngroups; i++) {
		const struct req_group *g = &s->groups[i];
		char sc[2][16], app[2][16], tot[2][16], col[3][40];
		double err = g->count ? 100.0 * (double)(g->status[5]) / (double)g->count : 0;

		us_text(lat_summary__quantile(&g->lat[REQ_PART_SIDECAR], 0.5), sc[0], 16);
		us_text(lat_summary__quantile(&g->lat[REQ_PART_SIDECAR], 0.99), sc[1], 16);
		us_text(lat_summary__quantile(&g->lat[REQ_PART_APP], 0.5), app[0], 16);
		us_text(lat_summary__quantile(&g->lat[REQ_PART_APP], 0.99), app[1], 16);
		us_text(lat_summary__quantile(&g->lat[REQ_PART_TOTAL], 0.5), tot[0], 16);
		us_text(lat_summary__quantile(&g->lat[REQ_PART_TOTAL], 0.99), tot[1], 16);
		snprintf(col[0], sizeof(col[0]), "%s/%s", sc[0], sc[1]);
		snprintf(col[1], sizeof(col[1]), "%s/%s", app[0], app[1]);
		snprintf(col[2], sizeof(col[2]), "%s/%s", tot[0], tot[1]);
		fprintf(out, "%-28.28s %-9s %8llu %5.1f%%  %-17s %-17s %-17s\n", g->pod,
			req_direction_name(g->direction), (unsigned long long)g->count, err,
			g->lat[REQ_PART_SIDECAR].count ? col[0] : "-",
			g->lat[REQ_PART_APP].count ? col[1] : "-", col[2]);
	}
}

void req_stats__free(struct req_stats *s)
{
	int i, p;

	if (!s)
		return;
	for (i = 0; i < s->ngroups; i++)
		for (p = 0; p < REQ_PART__COUNT; p++)
			lat_summary__free(&s->groups[i].lat[p]);
	free(s->groups);
	free(s);
}
