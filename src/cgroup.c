// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cgroup layout detection from mountinfo, and cgroup v2 ids. The layout
 * decides where containers' cgroup directories are found and whether cgroup
 * BPF programs (sockops) can be attached: they need a v2 hierarchy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"

const char *cgroup_layout_name(enum cgroup_layout layout)
{
	switch (layout) {
	case CGROUP_LAYOUT_V1:
		return "v1";
	case CGROUP_LAYOUT_V2:
		return "v2";
	case CGROUP_LAYOUT_HYBRID:
		return "hybrid";
	default:
		return "unknown";
	}
}

/*
 * One mountinfo line: "id parent major:minor root mountpoint options
 * [optional fields...] - fstype source superoptions".
 */
static int parse_mountinfo_line(char *line, char **mountpoint, char **fstype, char **superopts)
{
	char *fields[6] = {0};
	char *save = NULL, *tok;
	int i = 0;

	for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		fields[i++] = tok;
		if (i == 6)
			break;
	}
	if (i < 6)
		return -EINVAL;
	*mountpoint = fields[4];
	/* skip optional fields up to the "-" separator */
	for (tok = strtok_r(NULL, " ", &save); tok && strcmp(tok, "-");
	     tok = strtok_r(NULL, " ", &save))
		;
	if (!tok)
		return -EINVAL;
	*fstype = strtok_r(NULL, " ", &save);
	if (!*fstype || !strtok_r(NULL, " ", &save))
		return -EINVAL;
	*superopts = strtok_r(NULL, " \n", &save);
	if (!*superopts)
		*superopts = "";
	return 0;
}

int cgroup_info_from_mountinfo(const char *text, struct cgroup_info *info)
{
	char *copy, *line, *save = NULL;
	bool v2_is_root = false;
	int parsed = 0;

	memset(info, 0, sizeof(*info));
	if (!text)
		return -EINVAL;
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *mnt, *fstype, *opts;

		if (parse_mountinfo_line(line, &mnt, &fstype, &opts))
			continue;
		parsed++;
		if (!strcmp(fstype, "cgroup2")) {
			if (!info->v2_path[0] || !strcmp(mnt, "/sys/fs/cgroup"))
				snprintf(info->v2_path, sizeof(info->v2_path), "%s", mnt);
			if (!strcmp(mnt, "/sys/fs/cgroup"))
				v2_is_root = true;
		} else if (!strcmp(fstype, "cgroup")) {
			size_t len = strlen(info->v1_names);
			const char *name = strrchr(mnt, '/');

			name = name ? name + 1 : mnt;
			info->v1_count++;
			snprintf(info->v1_names + len, sizeof(info->v1_names) - len, "%s%s",
				 len ? "," : "", name);
		}
	}
	free(copy);
	if (!parsed)
		return -EINVAL;
	if (v2_is_root && !info->v1_count)
		info->layout = CGROUP_LAYOUT_V2;
	else if (info->v1_count && info->v2_path[0])
		info->layout = CGROUP_LAYOUT_HYBRID;
	else if (info->v1_count)
		info->layout = CGROUP_LAYOUT_V1;
	else if (info->v2_path[0])
		info->layout = CGROUP_LAYOUT_V2;
	return 0;
}

int cgroup_info_read(struct cgroup_info *info)
{
	char *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *f;
	int err;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	for (;;) {
		size_t n;

		if (len + 4096 + 1 > cap) {
			char *nbuf = realloc(buf, cap + 65536);

			if (!nbuf) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nbuf;
			cap += 65536;
		}
		n = fread(buf + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	fclose(f);
	buf[len] = '\0';
	err = cgroup_info_from_mountinfo(buf, info);
	free(buf);
	return err;
}

uint64_t cgroup_id_of_path(const char *path)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} handle;
	int mount_id;

	handle.fh.handle_bytes = sizeof(uint64_t);
	if (name_to_handle_at(AT_FDCWD, path, &handle.fh, &mount_id, 0))
		return 0;
	if (handle.fh.handle_bytes != sizeof(uint64_t)) {
		errno = EINVAL;
		return 0;
	}
	return handle.id;
}
