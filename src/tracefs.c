// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Finding and, when needed, mounting tracefs. libbpf looks for tracepoint ids
 * under /sys/kernel/debug/tracing when that exists and /sys/kernel/tracing
 * otherwise, so we accept either and mount only the latter.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "log.h"
#include "tracefs.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

#define TRACEFS_PATH	     "/sys/kernel/tracing"
#define DEBUGFS_TRACING_PATH "/sys/kernel/debug/tracing"

static const char *tracefs_dir;
static bool tracefs_mounted_by_us;

static bool dir_has_events(const char *dir)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events", dir);
	return access(path, F_OK) == 0;
}

static bool is_tracefs(const char *dir)
{
	struct statfs st;

	return statfs(dir, &st) == 0 && st.f_type == TRACEFS_MAGIC;
}

const char *tracefs_ensure(bool *mounted_now)
{
	if (mounted_now)
		*mounted_now = false;
	if (tracefs_dir)
		return tracefs_dir;
	if (is_tracefs(TRACEFS_PATH) && dir_has_events(TRACEFS_PATH)) {
		tracefs_dir = TRACEFS_PATH;
		return tracefs_dir;
	}
	if (dir_has_events(DEBUGFS_TRACING_PATH)) {
		tracefs_dir = DEBUGFS_TRACING_PATH;
		return tracefs_dir;
	}
	if (mount("tracefs", TRACEFS_PATH, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		int err = errno;

		pr_debug("mount tracefs at %s: %s", TRACEFS_PATH, strerror(err));
		errno = err;
		return NULL;
	}
	pr_info("mounted tracefs at %s (it was not mounted)", TRACEFS_PATH);
	tracefs_mounted_by_us = true;
	tracefs_dir = TRACEFS_PATH;
	if (mounted_now)
		*mounted_now = true;
	return tracefs_dir;
}

void tracefs_release(void)
{
	if (!tracefs_mounted_by_us)
		return;
	if (umount2(TRACEFS_PATH, MNT_DETACH))
		pr_debug("unmount %s: %s", TRACEFS_PATH, strerror(errno));
	tracefs_mounted_by_us = false;
	tracefs_dir = NULL;
}

bool tracefs_has_event(const char *category, const char *name)
{
	char path[512];

	if (!tracefs_dir)
		return false;
	snprintf(path, sizeof(path), "%s/events/%s/%s", tracefs_dir, category, name);
	return access(path, F_OK) == 0;
}
