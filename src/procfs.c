// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Recognizing a container from its cgroup path. kubelet names a pod's cgroup
 * after the pod uid and the runtime names the container's after the
 * container id; the shapes differ by cgroup driver and runtime:
 *
 *   cgroupfs: /kubepods[/<qos>]/pod<uid>/<id>            (containerd, docker)
 *             /kubepods[/<qos>]/pod<uid>/crio-<id>       (CRI-O)
 *   systemd:  /kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid_>.slice/
 *                 {cri-containerd,crio,docker}-<id>.scope
 *
 * with any prefix in front when the node itself is a container (kind:
 * /kubelet.slice/kubelet-kubepods.slice/..., minikube: /docker/<id>/kubepods/...).
 * So we look for the pod segment anywhere in the path, and take the container
 * from the segment after it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

/* Copy a 32-hex uid with 4 separators (dash or underscore) into @out with dashes. */
static bool take_uid(const char *s, size_t len, char *out)
{
	size_t i, hex = 0;

	if (len != 36)
		return false;
	for (i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-' && s[i] != '_')
				return false;
			out[i] = '-';
		} else {
			if (!isxdigit((unsigned char)s[i]))
				return false;
			out[i] = (char)tolower((unsigned char)s[i]);
			hex++;
		}
	}
	out[len] = '\0';
	return hex == 32;
}

/*
 * Does @seg (length @len) name a pod cgroup? cgroupfs: "pod<uid>";
 * systemd: "<anything>-pod<uid_>.slice". Also yields the QoS class.
 */
static bool parse_pod_segment(const char *seg, size_t len, struct cgroup_match *m)
{
	const char *p;
	size_t n;

	if (len > 6 && !strncmp(seg + len - 6, ".slice", 6)) {
		/* systemd: find "-pod" followed by the uid and ".slice" */
		for (p = seg; p + 4 <= seg + len; p++) {
			if (strncmp(p, "-pod", 4))
				continue;
			n = (size_t)(seg + len - 6 - (p + 4));
			if (!take_uid(p + 4, n, m->pod_uid))
				continue;
			m->systemd = true;
			if (memmem(seg, (size_t)(p - seg), "burstable", 9))
				snprintf(m->qos, sizeof(m->qos), "burstable");
			else if (memmem(seg, (size_t)(p - seg), "besteffort", 10))
				snprintf(m->qos, sizeof(m->qos), "besteffort");
			else
				snprintf(m->qos, sizeof(m->qos), "guaranteed");
			return true;
		}
		return false;
	}
	if (len > 3 && !strncmp(seg, "pod", 3))
		return take_uid(seg + 3, len - 3, m->pod_uid);
	return false;
}

/* Container segment: "<id>", "crio-<id>", "<runtime>-<id>.scope", "crio-conmon-<id>.scope". */
static bool parse_container_segment(const char *seg, size_t len, struct cgroup_match *m)
{
	static const struct {
		const char *prefix;
		const char *runtime;
	} prefixes[] = {
		{"cri-containerd-", "containerd"},
		{"crio-conmon-", "cri-o"},
		{"crio-", "cri-o"},
		{"docker-", "docker"},
		{"containerd-", "containerd"},
		{"", ""},
	};
	size_t i, j, plen;

	if (len > 6 && !strncmp(seg + len - 6, ".scope", 6))
		len -= 6;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		const char *id;
		size_t idlen;

		plen = strlen(prefixes[i].prefix);
		if (len <= plen || strncmp(seg, prefixes[i].prefix, plen))
			continue;
		id = seg + plen;
		idlen = len - plen;
		if (idlen < 12 || idlen >= CONTAINER_ID_MAX)
			continue;
		for (j = 0; j < idlen; j++)
			if (!isxdigit((unsigned char)id[j]))
				break;
		if (j != idlen)
			continue;
		for (j = 0; j < idlen; j++)
			m->container_id[j] = (char)tolower((unsigned char)id[j]);
		m->container_id[idlen] = '\0';
		snprintf(m->runtime, sizeof(m->runtime), "%s", prefixes[i].runtime);
		m->conmon = !strcmp(prefixes[i].prefix, "crio-conmon-");
		return true;
	}
	return false;
}

int cgpath_parse(const char *path, struct cgroup_match *m)
{
	const char *seg, *end, *qos_seg = NULL;
	size_t len;

	if (!path || !m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	for (seg = path; *seg; seg = end) {
		while (*seg == '/')
			seg++;
		end = strchrnul(seg, '/');
		len = (size_t)(end - seg);
		if (!len)
			break;
		if (!strncmp(seg, "burstable", len) || !strncmp(seg, "besteffort", len))
			qos_seg = seg;
		if (!parse_pod_segment(seg, len, m))
			continue;
		if (!m->systemd) {
			if (qos_seg)
				snprintf(m->qos, sizeof(m->qos), "%.*s",
					 !strncmp(qos_seg, "burstable", 9) ? 9 : 10, qos_seg);
			else
				snprintf(m->qos, sizeof(m->qos), "guaranteed");
		}
		/* the container is the next segment, if any */
		seg = end;
		while (*seg == '/')
			seg++;
		end = strchrnul(seg, '/');
		len = (size_t)(end - seg);
		if (len && !parse_container_segment(seg, len, m))
			return -ENOENT; /* something else nested in the pod cgroup */
		return 0;
	}
	memset(m, 0, sizeof(*m));
	return -ENOENT;
}

int proc_cgroup_parse(const char *text, struct cgroup_match *m, char *path_out, size_t path_len,
		      bool *v2_out)
{
	const char *line, *next;
	struct cgroup_match cand;
	bool found = false, any_line = false;

	if (!text || !m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	for (line = text; *line; line = next) {
		const char *nl = strchrnul(line, '\n');
		const char *c1, *c2;
		char path[4096];
		bool v2;
		size_t plen;

		next = *nl ? nl + 1 : nl;
		c1 = memchr(line, ':', (size_t)(nl - line));
		if (!c1)
			continue;
		c2 = memchr(c1 + 1, ':', (size_t)(nl - c1 - 1));
		if (!c2)
			continue;
		any_line = true;
		plen = (size_t)(nl - c2 - 1);
		if (plen >= sizeof(path))
			continue;
		memcpy(path, c2 + 1, plen);
		path[plen] = '\0';
		v2 = !strncmp(line, "0::", 3);
		if (cgpath_parse(path, &cand))
			continue;
		/* v2 wins; among v1 lines, the first match */
		if (!found || v2) {
			*m = cand;
			found = true;
			if (path_out)
				snprintf(path_out, path_len, "%s", path);
			if (v2_out)
				*v2_out = v2;
		}
		if (v2)
			break;
	}
	if (!any_line)
		return -EINVAL;
	return found ? 0 : -ENOENT;
}

int status_field(const char *status_text, const char *key, char *out, size_t out_len)
{
	size_t klen = strlen(key);
	const char *p = status_text;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == ':') {
			const char *v = p + klen + 1, *e;

			while (*v == ' ' || *v == '\t')
				v++;
			e = strchrnul(v, '\n');
			snprintf(out, out_len, "%.*s", (int)(e - v), v);
			return 0;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -ENOENT;
}

int nspid_parse(const char *status_text, pid_t *pids, int max)
{
	char line[512], *tok, *save = NULL, *end;
	int n = 0;

	if (!status_text || !pids || max <= 0)
		return -EINVAL;
	if (status_field(status_text, "NSpid", line, sizeof(line)))
		return -ENOENT;
	for (tok = strtok_r(line, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		long v;

		errno = 0;
		v = strtol(tok, &end, 10);
		if (errno || *end || v <= 0 || v > 0x3fffffff)
			return -EINVAL;
		if (n < max)
			pids[n] = (pid_t)v;
		n++;
	}
	if (!n)
		return -EINVAL;
	return n < max ? n : max;
}
