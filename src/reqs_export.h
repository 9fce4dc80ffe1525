/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Renderings of one stitched request (reqs.h): a JSON object (one line per
 * request for --requests-out), a terminal line (--requests), and a trace of
 * spans for the OTLP and Jaeger exporters (otlp.h).
 */
#ifndef PODSCOPE_REQS_EXPORT_H
#define PODSCOPE_REQS_EXPORT_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "otlp.h"
#include "reqs.h"
#include "watchset.h"

/* CLOCK_REALTIME - CLOCK_MONOTONIC now, in ns: adds to kernel timestamps to get Unix time. */
int64_t clock_mono_to_unix_ns(void);

/* @ctr may be NULL (the container is gone). Schema documented in docs/requests.md. */
json_t *req_record_json(const struct req_record *r, const struct watch_container *ctr,
			int64_t mono_to_unix_ns);
void req_record_print(FILE *out, const struct req_record *r, const struct watch_container *ctr);
/* Fill @t with one trace for @r (root span: the request at the sidecar). */
void req_record_trace(const struct req_record *r, const struct watch_container *ctr,
		      int64_t mono_to_unix_ns, struct trace_rec *t);

#endif /* PODSCOPE_REQS_EXPORT_H */
