// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Container resources from cgroup files and per-netns device counters, with
 * the arithmetic cAdvisor uses (working set = usage - inactive_file), so that
 * dashboards written for cAdvisor read podscope's numbers the same way.
 *
 * Files read, per controller (v1 when the controller is mounted there, else v2):
 *   CPU     cpuacct/cpuacct.usage (ns)          | cpu.stat usage_usec
 *   memory  memory/memory.usage_in_bytes,       | memory.current,
 *           memory.stat total_rss, total_cache, | memory.stat anon, file,
 *           total_inactive_file                 | inactive_file
 *   I/O     blkio/blkio.throttle.io_service_bytes_recursive, io_serviced_recursive
 *                                               | io.stat rbytes wbytes rios wios
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadvisor.h"

static int opt_has(const char *opts, const char *name)
{
	size_t n = strlen(name);
	const char *p = opts;

	while ((p = strstr(p, name))) {
		if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

int cgroup_roots_from_mounts(const char *text, struct cgroup_roots *r)
{
	const char *line = text;

	if (!text || !r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	while (line && *line) {
		char dev[64], mnt[256], type[32], opts[512];
		const char *nl = strchr(line, '\n');

		if (sscanf(line, "%63s %255s %31s %511s", dev, mnt, type, opts) == 4) {
			if (!strcmp(type, "cgroup2") && !r->v2[0])
				snprintf(r->v2, sizeof(r->v2), "%s", mnt);
			else if (!strcmp(type, "cgroup")) {
				if (opt_has(opts, "cpuacct") && !r->cpuacct[0])
					snprintf(r->cpuacct, sizeof(r->cpuacct), "%s", mnt);
				if (opt_has(opts, "memory") && !r->memory[0])
					snprintf(r->memory, sizeof(r->memory), "%s", mnt);
				if (opt_has(opts, "blkio") && !r->blkio[0])
					snprintf(r->blkio, sizeof(r->blkio), "%s", mnt);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return 0;
}

/* Read a small file into @buf (NUL-terminated). Returns bytes read or -errno. */
static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (int)n;
}

int cgroup_roots_detect(struct cgroup_roots *r)
{
	static char buf[65536];
	int n = read_text("/proc/self/mounts", buf, sizeof(buf));

	if (n < 0)
		return n;
	return cgroup_roots_from_mounts(buf, r);
}

static int read_u64(const char *dir, const char *path, const char *file, uint64_t *out)
{
	char p[1400], buf[64];

	snprintf(p, sizeof(p), "%s%s/%s", dir, path, file);
	if (read_text(p, buf, sizeof(buf)) <= 0)
		return -ENOENT;
	*out = strtoull(buf, NULL, 10);
	return 0;
}

/* Value of "key N" in a flat keyed file (memory.stat, cpu.stat). */
static int keyed(const char *text, const char *key, uint64_t *out)
{
	size_t n = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, n) && p[n] == ' ') {
			*out = strtoull(p + n + 1, NULL, 10);
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

static int read_file_at(const char *dir, const char *path, const char *file, char *buf, size_t len)
{
	char p[1400];

	if (!dir[0])
		return -ENOENT;
	snprintf(p, sizeof(p), "%s%s/%s", dir, path, file);
	return read_text(p, buf, len);
}

/* v1 blkio: "MAJ:MIN Read N" lines; sum the @op lines over devices. */
static uint64_t blkio_sum(const char *text, const char *op)
{
	const char *p = text;
	uint64_t sum = 0;

	while (p && *p) {
		char dev[32], what[16];
		unsigned long long v;

		if (sscanf(p, "%31s %15s %llu", dev, what, &v) == 3 && !strcmp(what, op))
			sum += v;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return sum;
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..."; sum @key over devices. */
static uint64_t iostat_sum(const char *text, const char *key)
{
	size_t n = strlen(key);
	const char *p = text;
	uint64_t sum = 0;

	while ((p = strstr(p, key))) {
		if ((p == text || p[-1] == ' ') && p[n] == '=')
			sum += strtoull(p + n + 1, NULL, 10);
		p += n;
	}
	return sum;
}

int cgroup_usage_read(const struct cgroup_roots *r, const char *path, struct cgroup_usage *u)
{
	static char buf[16384];
	uint64_t v;

	memset(u, 0, sizeof(*u));
	/* CPU */
	if (r->cpuacct[0] && !read_u64(r->cpuacct, path, "cpuacct.usage", &v)) {
		u->cpu_ns = v;
		u->has_cpu = true;
	} else if (read_file_at(r->v2, path, "cpu.stat", buf, sizeof(buf)) > 0 &&
		   !keyed(buf, "usage_usec", &v)) {
		u->cpu_ns = v * 1000;
		u->has_cpu = true;
	}
	/* memory */
	if (r->memory[0] && !read_u64(r->memory, path, "memory.usage_in_bytes", &v)) {
		uint64_t inactive = 0;

		u->mem_usage_bytes = v;
		u->has_memory = true;
		if (read_file_at(r->memory, path, "memory.stat", buf, sizeof(buf)) > 0) {
			keyed(buf, "total_rss", &u->mem_rss_bytes);
			keyed(buf, "total_cache", &u->mem_cache_bytes);
			keyed(buf, "total_inactive_file", &inactive);
		}
		u->mem_working_set_bytes = v > inactive ? v - inactive : 0;
	} else if (r->v2[0] && !read_u64(r->v2, path, "memory.current", &v)) {
		uint64_t inactive = 0;

		u->mem_usage_bytes = v;
		u->has_memory = true;
		if (read_file_at(r->v2, path, "memory.stat", buf, sizeof(buf)) > 0) {
			keyed(buf, "anon", &u->mem_rss_bytes);
			keyed(buf, "file", &u->mem_cache_bytes);
			keyed(buf, "inactive_file", &inactive);
		}
		u->mem_working_set_bytes = v > inactive ? v - inactive : 0;
	}
	/* block I/O */
	if (read_file_at(r->blkio, path, "blkio.throttle.io_service_bytes_recursive", buf,
			 sizeof(buf)) >= 0) {
		u->has_io = true;
		u->fs_read_bytes = blkio_sum(buf, "Read");
		u->fs_write_bytes = blkio_sum(buf, "Write");
		if (read_file_at(r->blkio, path, "blkio.throttle.io_serviced_recursive", buf,
				 sizeof(buf)) >= 0) {
			u->fs_reads = blkio_sum(buf, "Read");
			u->fs_writes = blkio_sum(buf, "Write");
		}
	} else if (read_file_at(r->v2, path, "io.stat", buf, sizeof(buf)) >= 0) {
		u->has_io = true;
		u->fs_read_bytes = iostat_sum(buf, "rbytes");
		u->fs_write_bytes = iostat_sum(buf, "wbytes");
		u->fs_reads = iostat_sum(buf, "rios");
		u->fs_writes = iostat_sum(buf, "wios");
	}
	return u->has_cpu || u->has_memory || u->has_io ? 0 : -ENOENT;
}

int netdev_parse(const char *text, struct netdev_counters *out, int max)
{
	const char *p = text;
	int n = 0;

	if (!text || !out)
		return -EINVAL;
	while (p && *p && n < max) {
		const char *colon = strchr(p, ':'), *nl = strchr(p, '\n');
		unsigned long long v[16];

		if (colon && (!nl || colon < nl)) {
			const char *s = p;
			size_t len;

			while (*s == ' ')
				s++;
			len = (size_t)(colon - s);
			if (len && len < sizeof(out[n].iface) &&
			    sscanf(colon + 1,
				   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
				   "%llu %llu %llu %llu",
				   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
				   &v[9], &v[10], &v[11], &v[12], &v[13], &v[14], &v[15]) == 16 &&
			    !(len == 2 && !strncmp(s, "lo", 2))) {
				struct netdev_counters *d = &out[n++];

				memset(d, 0, sizeof(*d));
				memcpy(d->iface, s, len);
				d->rx_bytes = v[0];
				d->rx_packets = v[1];
				d->rx_errors = v[2];
				d->rx_dropped = v[3];
				d->tx_bytes = v[8];
				d->tx_packets = v[9];
				d->tx_errors = v[10];
				d->tx_dropped = v[11];
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return n;
}

static int pod_netdevs(const char *proc_root, const struct target_pod *pod,
		       struct resource_pod_net *out)
{
	static char buf[16384];
	int i, j, n;

	for (i = 0; i < pod->ncontainers; i++)
		for (j = 0; j < pod->containers[i].nprocs; j++) {
			char path[96];

			snprintf(path, sizeof(path), "%s/%d/net/dev", proc_root,
				 pod->containers[i].procs[j].pid);
			if (read_text(path, buf, sizeof(buf)) <= 0)
				continue;
			n = netdev_parse(buf, out->devs, NETDEV_MAX);
			if (n < 0)
				continue;
			out->ndevs = n;
			return 0;
		}
	return -ENOENT;
}

int resource_sample__fill(struct resource_sample *s, const struct cgroup_roots *r,
			  const char *proc_root, const struct target_set *set, const bool *keep)
{
	int i, j, nc = 0;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < set->npods; i++)
		if (keep[i])
			nc += set->pods[i].ncontainers;
	s->containers = calloc((size_t)nc + 1, sizeof(*s->containers));
	s->pods = calloc((size_t)set->npods + 1, sizeof(*s->pods));
	if (!s->containers || !s->pods) {
		resource_sample__clear(s);
		return -ENOMEM;
	}
	for (i = 0; i < set->npods; i++) {
		const struct target_pod *pod = &set->pods[i];
		struct resource_pod_net *pn = &s->pods[s->npods];

		if (!keep[i])
			continue;
		for (j = 0; j < pod->ncontainers; j++) {
			const struct target_container *c = &pod->containers[j];
			struct resource_container *rc = &s->containers[s->ncontainers];

			if (!c->cgroup_path[0] || cgroup_usage_read(r, c->cgroup_path, &rc->u))
				continue;
			snprintf(rc->ns, sizeof(rc->ns), "%s", pod->meta.namespace_);
			snprintf(rc->pod, sizeof(rc->pod), "%s", pod->meta.name);
			snprintf(rc->container, sizeof(rc->container), "%s",
				 c->meta.name[0] ? c->meta.name : "?");
			s->ncontainers++;
		}
		if (!pod_netdevs(proc_root, pod, pn)) {
			snprintf(pn->ns, sizeof(pn->ns), "%s", pod->meta.namespace_);
			snprintf(pn->pod, sizeof(pn->pod), "%s", pod->meta.name);
			s->npods++;
		}
	}
	return 0;
}

void resource_sample__clear(struct resource_sample *s)
{
	if (!s)
		return;
	free(s->containers);
	free(s->pods);
	memset(s, 0, sizeof(*s));
}
