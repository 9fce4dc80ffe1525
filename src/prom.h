/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The Prometheus view of the model: text exposition format 0.0.4 with
 * HELP/TYPE per family, base units (seconds, bytes), _total counters,
 * cumulative histograms, escaped label values, and series per edge side and
 * per container/pod only (never per connection, never per PID).
 */
#ifndef PODSCOPE_PROM_H
#define PODSCOPE_PROM_H

#include <stdio.h>

#include "model.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * prom_write - render every metric family of @m to @out. Families with no
 * sample still get their HELP and TYPE lines. Returns 0 or -EIO.
 */
int prom_write(struct model *m, FILE *out);

/*
 * prom_metric_names - the sample names podscope can export (histograms
 * listed with their _bucket, _sum and _count series), NULL-terminated.
 */
const char *const *prom_metric_names(void);

/* Escape a label value (\\, \", \n) into @buf; truncates safely. */
void prom_escape_label(const char *in, char *buf, size_t len);

#endif /* PODSCOPE_PROM_H */
