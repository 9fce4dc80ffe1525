/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Request aggregates per pod and direction, from stitched requests (reqs.h):
 * counts, status classes and latency summaries of the total and of the
 * sidecar's and the app's parts. Part of the model: views read it through
 * model.h, never from the stitcher.
 */
#ifndef PODSCOPE_REQSTATS_H
#define PODSCOPE_REQSTATS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "reqs.h"

#define LAT_HIST_SLOTS 40
#define LAT_RESERVOIR  8192

/*
 * A latency summary: exact percentiles while at most LAT_RESERVOIR values
 * were added, from a uniform reservoir sample of that size after; plus a
 * log2 histogram (slot i: [2^i, 2^(i+1)) ns) of every value.
 */
struct lat_summary {
	uint64_t count, sum_ns, max_ns;
	uint64_t hist[LAT_HIST_SLOTS];
	uint64_t *reservoir; /* LAT_RESERVOIR values, allocated on first add */
	uint64_t rng;
};

void lat_summary__add(struct lat_summary *s, uint64_t ns);
/* The @q-quantile (0 < q < 1) in ns, nearest rank; 0 when empty. */
uint64_t lat_summary__quantile(const struct lat_summary *s, double q);
/* {count, sum_ns, max_ns, p50_ns, p90_ns, p99_ns, hist:[...]} */
json_t *lat_summary__json(const struct lat_summary *s);
void lat_summary__free(struct lat_summary *s);

enum req_part {
	REQ_PART_TOTAL = 0,
	REQ_PART_SIDECAR, /* inbound + outbound: what the sidecar adds */
	REQ_PART_SIDECAR_INBOUND,
	REQ_PART_APP,
	REQ_PART_SIDECAR_OUTBOUND,
	REQ_PART_UPSTREAM_CONNECT, /* handshake of upstream connections opened for a request */
	REQ_PART__COUNT,
};

struct req_group {
	char pod[256];
	enum req_direction direction;
	uint64_t count;
	uint64_t status[6];	   /* [0] other, [1] 1xx ... [5] 5xx */
	uint64_t sidecar_answered; /* no upstream call: the sidecar answered itself */
	uint64_t new_upstream_conns;
	struct lat_summary lat[REQ_PART__COUNT];
};

struct req_stats;

struct req_stats *req_stats__new(void);
/* Add @r of pod @pod ("ns/name"); -ENOMEM / -ENOSPC (over 256 groups) when not counted. */
int req_stats__add(struct req_stats *s, const char *pod, const struct req_record *r);
int req_stats__ngroups(const struct req_stats *s);
const struct req_group *req_stats__group(const struct req_stats *s, int i);
/* The "requests" array of the snapshot document. */
json_t *req_stats__json(const struct req_stats *s);
/* One line per pod and direction: count, status, sidecar-added and app p50/p99. */
void req_stats__print(const struct req_stats *s, FILE *out);
void req_stats__free(struct req_stats *s); /* NULL-safe */

const char *req_part_name(enum req_part p);

#endif /* PODSCOPE_REQSTATS_H */
