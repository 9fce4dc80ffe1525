// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The accel object: one sockhash and its sk_msg verdict program for the
 * node, and one sockops bpf_link per accelerated pod cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "accel.h"
#include "accel.skel.h"
#include "log.h"

struct accel_pod {
	char label[512];
	struct bpf_link *link;
};

struct accel {
	struct accel_bpf *skel;
	bool msg_attached;
	bool pod_to_pod;
	struct accel_pod *pods;
	int npods;
	int ncpus;
};

struct accel *accel__new(bool pod_to_pod)
{
	struct accel *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return NULL;
	a->ncpus = libbpf_num_possible_cpus();
	a->skel = accel_bpf__open();
	if (!a->skel) {
		err = -errno;
		goto fail;
	}
	a->skel->rodata->pod_to_pod = pod_to_pod;
	a->pod_to_pod = pod_to_pod;
	err = accel_bpf__load(a->skel);
	if (err)
		goto fail;
	if (bpf_prog_attach(bpf_program__fd(a->skel->progs.ps_accel_msg),
			    bpf_map__fd(a->skel->maps.accel_socks), BPF_SK_MSG_VERDICT, 0)) {
		err = -errno;
		goto fail;
	}
	a->msg_attached = true;
	return a;
fail:
	pr_error("cannot load socket-redirect acceleration: %s (run 'podscope doctor': it needs "
		 "sockops, sk_msg, sockhash and bpf_msg_redirect_hash)",
		 strerror(-err));
	accel__free(a);
	errno = -err;
	return NULL;
}

static struct accel_pod *find_pod(struct accel *a, const char *label)
{
	int i;

	for (i = 0; i < a->npods; i++)
		if (!strcmp(a->pods[i].label, label))
			return &a->pods[i];
	return NULL;
}

int accel__enable(struct accel *a, const char *label, const char *cgroup_dir)
{
	struct accel_pod *p;
	struct bpf_link *link;
	int fd, err;

	if (find_pod(a, label))
		return -EEXIST;
	fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		pr_error("accel %s: open cgroup %s: %s", label, cgroup_dir, strerror(-err));
		return err;
	}
	link = bpf_program__attach_cgroup(a->skel->progs.ps_accel_sockops, fd);
	err = link ? 0 : -errno;
	close(fd);
	if (!link) {
		pr_error("accel %s: attach sockops to %s: %s", label, cgroup_dir, strerror(-err));
		return err;
	}
	p = realloc(a->pods, (size_t)(a->npods + 1) * sizeof(*p));
	if (!p) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	a->pods = p;
	p = &a->pods[a->npods++];
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->link = link;
	pr_info("accel: enabled for %s (cgroup %s)", label, cgroup_dir);
	return 0;
}

int accel__disable(struct accel *a, const char *label)
{
	struct accel_pod *p = find_pod(a, label);

	if (!p)
		return -ENOENT;
	bpf_link__destroy(p->link);
	*p = a->pods[--a->npods];
	pr_info("accel: disabled for %s (new connections take the normal path)", label);
	return 0;
}

int accel__nenabled(const struct accel *a)
{
	return a->npods;
}

const char *accel__enabled_label(const struct accel *a, int i)
{
	return i >= 0 && i < a->npods ? a->pods[i].label : NULL;
}

int accel__stats(struct accel *a, uint64_t out[ASTAT__COUNT], uint64_t *sockets_now)
{
	int fd = bpf_map__fd(a->skel->maps.accel_stats), cpu;
	struct accel_sock_key key, next, *prev = NULL;
	uint64_t *vals;
	uint32_t k;

	vals = calloc((size_t)a->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < ASTAT__COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (cpu = 0; cpu < a->ncpus; cpu++)
			out[k] += vals[cpu];
	}
	free(vals);
	if (sockets_now) {
		/* sockhash values cannot be read from user space; count the keys */
		*sockets_now = 0;
		fd = bpf_map__fd(a->skel->maps.accel_socks);
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			key = next;
			prev = &key;
			(*sockets_now)++;
		}
	}
	return 0;
}

static const char *const stat_names[ASTAT__COUNT] = {
	[ASTAT_SOCKS_ACTIVE] = "sockets_client",
	[ASTAT_SOCKS_PASSIVE] = "sockets_server",
	[ASTAT_SOCKS_REMOVED] = "sockets_closed",
	[ASTAT_MSGS_REDIRECTED] = "messages_redirected",
	[ASTAT_BYTES_REDIRECTED] = "bytes_redirected",
	[ASTAT_MSGS_PASSED] = "messages_not_redirected",
	[ASTAT_BYTES_PASSED] = "bytes_not_redirected",
	[ASTAT_REDIRECT_FAILED] = "redirect_failed",
	[ASTAT_MAP_FULL] = "sockhash_full",
};

json_t *accel__status_json(struct accel *a, double seconds)
{
	uint64_t st[ASTAT__COUNT] = {0}, now = 0;
	json_t *o, *pods;
	int i;

	if (accel__stats(a, st, &now))
		return NULL;
	o = json_object();
	pods = json_array();
	json_object_set_new(o, "schema", json_string("podscope.accel/v1"));
	json_object_set_new(o, "seconds", json_real(seconds));
	for (i = 0; i < a->npods; i++)
		json_array_append_new(pods, json_string(a->pods[i].label));
	json_object_set_new(o, "enabled", pods);
	json_object_set_new(o, "pod_to_pod", json_boolean(a->pod_to_pod));
	json_object_set_new(o, "sockets_now", json_integer((json_int_t)now));
	for (i = 0; i < ASTAT__COUNT; i++)
		json_object_set_new(o, stat_names[i], json_integer((json_int_t)st[i]));
	return o;
}

/*
 * Sockets are deliberately NOT taken out of the sockhash here. Unlinking a
 * socket whose peer still has redirected data queued makes the kernel drop
 * that data (measured: a 64 MiB transfer through nginx and the sidecar came
 * out truncated). So when podscope stops, by any signal, no new connection is
 * added (the sockops links go with the process), connections already
 * redirected stay redirected until they close, and the kernel frees the
 * sockhash and the sk_msg program after the last of them closes.
 */
void accel__free(struct accel *a)
{
	int i;

	if (!a)
		return;
	for (i = 0; i < a->npods; i++)
		bpf_link__destroy(a->pods[i].link);
	free(a->pods);

	if (a->msg_attached)
		bpf_prog_detach2(bpf_program__fd(a->skel->progs.ps_accel_msg),
				 bpf_map__fd(a->skel->maps.accel_socks), BPF_SK_MSG_VERDICT);
	accel_bpf__destroy(a->skel);
	free(a);
}
