// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading the kernel-side aggregates into the model (see collect.h). Called
 * once per refresh interval by `watch` and by the agent.
 */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"
#include "collect.h"

static void collect_side(void *ctx, const struct side_key *k, const struct side_metrics *m)
{
	model__add_side(ctx, k, m);
}

static void collect_drop(void *ctx, const struct side_key *k, uint32_t reason, uint64_t n)
{
	model__add_drop(ctx, k, reason, n);
}

int collect__refresh(struct model *m, struct watchset *ws, struct conn_tracer *ct)
{
	struct model_lost lost = {0};
	struct tracker *t = watchset__tracker(ws);
	int n = watchset__ncontainers(ws), rc;
	uint64_t *oncpu;

	model__begin_sides(m);
	rc = conn_tracer__for_each_side(ct, collect_side, m);
	if (rc < 0)
		return rc;
	conn_tracer__for_each_drop(ct, collect_drop, m);
	tracker__stats(t, lost.target);
	conn_tracer__stats(ct, lost.conn);
	model__set_lost(m, &lost);
	oncpu = calloc((size_t)n + 1, sizeof(*oncpu));
	if (oncpu && !tracker__oncpu(t, oncpu, n))
		model__set_oncpu(m, oncpu, n);
	free(oncpu);
	rc = model__build_edges(m);
	return rc < 0 ? rc : 0;
}

void collect__requests(struct model *m, struct req_tracker *rt)
{
	struct req_tracker_stats st;

	if (!rt)
		return;
	req_tracker__expire(rt, cli_now_ns(), COLLECT_REQUEST_MAX_AGE_NS);
	req_tracker__stats(rt, &st);
	model__set_request_lost(m, &st);
}
