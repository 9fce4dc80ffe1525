/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tracefs access. Classic tracepoints (and libbpf's attach to them) need
 * tracefs; many nodes boot without it mounted. podscope mounts it at
 * /sys/kernel/tracing when it is absent, says so, and unmounts on release
 * what it mounted itself.
 */
#ifndef PODSCOPE_TRACEFS_H
#define PODSCOPE_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * tracefs_ensure - make tracefs available.
 * @mounted_now: set to true when this call mounted it.
 *
 * Returns the directory holding events/ (static string), or NULL with errno
 * set when tracefs is neither mounted nor mountable.
 */
const char *tracefs_ensure(bool *mounted_now);

/* Unmount tracefs if (and only if) tracefs_ensure() mounted it. */
void tracefs_release(void);

/* true when events/<category>/<name> exists under the mounted tracefs. */
bool tracefs_has_event(const char *category, const char *name);

#endif /* PODSCOPE_TRACEFS_H */
