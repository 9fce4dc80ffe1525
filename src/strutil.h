/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Small string helpers shared by the per-request code paths. */
#ifndef PODSCOPE_STRUTIL_H
#define PODSCOPE_STRUTIL_H

#include <stddef.h>
#include <string.h>

/*
 * Copy the string @src into @dst of @n > 0 bytes, truncated, always
 * terminated: snprintf's "%s" without its cost (this runs per request).
 */
static inline void str_copy(char *dst, size_t n, const char *src)
{
	/* memccpy stops after the NUL; none within n - 1 bytes: truncate */
	if (!memccpy(dst, src, '\0', n - 1))
		dst[n - 1] = '\0';
}

#endif /* PODSCOPE_STRUTIL_H */
