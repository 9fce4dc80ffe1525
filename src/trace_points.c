// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The packet hook table as data: generated from the same TRACE_POINTS list
 * that generates the BPF programs, so the two cannot disagree.
 */
#include <string.h>

#include "trace_points.h"

#define POINT_ROW(n, m, skb_arg, sk_arg, l, d) \
	[TPT_##n] = {.name = #n, .mech = TMECH_##m, .layer = TLAYER_##l, .dir = TDIR_##d},
static const struct trace_point_info points[TPT__COUNT] = {TRACE_POINTS(POINT_ROW)};
#undef POINT_ROW

const struct trace_point_info *trace_point_info(unsigned point)
{
	return point < TPT__COUNT ? &points[point] : NULL;
}

const char *trace_mech_name(enum trace_mech mech)
{
	switch (mech) {
	case TMECH_TP:
		return "tracepoint";
	case TMECH_FENTRY:
		return "fentry";
	case TMECH_TC:
		return "tcx";
	case TMECH_SPECIAL:
		return "tracepoint";
	}
	return "?";
}

const char *trace_layer_name(enum trace_layer layer)
{
	static const char *const names[] = {
		[TLAYER_DEV] = "dev", [TLAYER_TC] = "tc",     [TLAYER_IP] = "ip",
		[TLAYER_TCP] = "tcp", [TLAYER_SOCK] = "sock", [TLAYER_END] = "end"};

	return layer >= TLAYER_DEV && layer <= TLAYER_END ? names[layer] : "?";
}

const char *trace_dir_name(enum trace_dir dir)
{
	switch (dir) {
	case TDIR_RX:
		return "rx";
	case TDIR_TX:
		return "tx";
	case TDIR_END:
		return "end";
	}
	return "?";
}

int trace_point_by_name(const char *name)
{
	for (int i = 0; i < TPT__COUNT; i++)
		if (!strcmp(points[i].name, name))
			return i;
	return -1;
}
