/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which attach mechanism the loaders try first. tp_btf is preferred and
 * raw_tp is the fallback; PODSCOPE_FORCE_RAW_TP=1 skips tp_btf so the
 * fallback path can be exercised (tests) or used on a kernel whose tp_btf
 * misbehaves.
 */
#ifndef PODSCOPE_PROBE_SELECT_H
#define PODSCOPE_PROBE_SELECT_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static inline bool probe_force_raw_tp(void)
{
	const char *v = getenv("PODSCOPE_FORCE_RAW_TP");

	return v && strcmp(v, "0") && *v;
}

#endif /* PODSCOPE_PROBE_SELECT_H */
