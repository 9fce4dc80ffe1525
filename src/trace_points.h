/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The packet hook table (TRACE_POINTS in include/trace_events.h) as data for
 * the user side: names, mechanisms, layer and direction of every point, for
 * the loader, the flow assembler's order checks, `doctor` and the docs.
 */
#ifndef PODSCOPE_TRACE_POINTS_H
#define PODSCOPE_TRACE_POINTS_H

#include <stdbool.h>

#include "trace_events.h"

struct trace_point_info {
	const char *name;
	enum trace_mech mech;
	enum trace_layer layer;
	enum trace_dir dir;
};

/* The row for @point, or NULL when out of range. */
const struct trace_point_info *trace_point_info(unsigned point);

/* "tracepoint (tp_btf, raw_tp)", "fentry", "tcx link", ... */
const char *trace_mech_name(enum trace_mech mech);
const char *trace_layer_name(enum trace_layer layer);
const char *trace_dir_name(enum trace_dir dir);

/* Index of the point called @name, or -1. */
int trace_point_by_name(const char *name);

#endif /* PODSCOPE_TRACE_POINTS_H */
