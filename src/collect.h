/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The collector: the one place that reads the kernel side (edge-side
 * aggregates, drop reasons, loss counters, on-CPU time) into the model.
 * Views read the model only.
 */
#ifndef PODSCOPE_COLLECT_H
#define PODSCOPE_COLLECT_H

#include "conn.h"
#include "model.h"
#include "reqs.h"
#include "watchset.h"

/* Refresh @m from the BPF maps of @ws's tracker and @ct; rebuild edges. 0 or -errno. */
int collect__refresh(struct model *m, struct watchset *ws, struct conn_tracer *ct);

/* Requests waiting longer than this without a response count as unanswered. */
#define COLLECT_REQUEST_MAX_AGE_NS 30000000000ULL

/* Expire stale requests of @rt (NULL: nothing to do) and put its counters in @m. */
void collect__requests(struct model *m, struct req_tracker *rt);

#endif /* PODSCOPE_COLLECT_H */
