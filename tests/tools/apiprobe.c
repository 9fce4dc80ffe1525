// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * apiprobe: a test driver for the API sources (src/k8s.c, src/docker.c),
 * so that tests/integration/test_api_sources.sh can exercise them against
 * loopback servers without the full CLI. Prints one compact JSON document on
 * success (exit 0), or one "apiprobe: <error>" line on stderr (exit 1).
 *
 *   apiprobe k8s --kubeconfig F [--context C] [--node N] [--repeat K]
 *   apiprobe k8s --in-cluster [--sa-dir D] [--node N] [--repeat K]
 *   apiprobe docker [--socket P] inspect ID
 *   apiprobe docker [--socket P] list
 *   apiprobe pods-file F
 *
 * --repeat K lists K times, re-reading the token every time and reading one
 * line from stdin between lists (so a test can rotate the token meanwhile).
 * APIPROBE_VERBOSE=1 also prints the source's description on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "docker.h"
#include "k8s.h"
#include "podmeta.h"

static json_t *pods_json(const struct pod_meta_list *l)
{
	json_t *arr = json_array();
	int i, j;

	for (i = 0; i < l->count; i++) {
		const struct pod_meta *p = &l->pods[i];
		json_t *cs = json_array();

		for (j = 0; j < p->container_count; j++) {
			const struct container_meta *c = &p->containers[j];

			json_array_append_new(cs, json_pack("{s:s, s:s, s:s, s:s}", "name", c->name,
							    "id", c->id, "runtime", c->runtime,
							    "image", c->image));
		}
		json_array_append_new(arr,
				      json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "namespace",
						p->namespace_, "name", p->name, "uid", p->uid,
						"node", p->node, "ip", p->pod_ip, "phase", p->phase,
						"containers", cs));
	}
	return arr;
}

static json_t *container_json(const struct docker_container *d)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:i, s:s, s:s, s:s, s:s}", "id", d->id, "name",
			 d->name, "image", d->image, "state", d->state, "running", d->running,
			 "pid", d->pid, "pod_name", d->pod_name, "pod_namespace", d->pod_namespace,
			 "pod_uid", d->pod_uid, "container_name", d->container_name);
}

static int print_json(json_t *j)
{
	int ret = json_dumpf(j, stdout, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	putchar('\n');
	fflush(stdout);
	return ret ? 1 : 0;
}

static int fail(const char *msg)
{
	fprintf(stderr, "apiprobe: %s\n", msg);
	return 1;
}

static int cmd_k8s(int argc, char **argv)
{
	const char *kubeconfig = NULL, *context = NULL, *sa_dir = NULL, *node = NULL;
	struct pod_meta_list l;
	struct k8s_client *c;
	char err[1024], line[64];
	int i, repeat = 1, in_cluster = 0, ret = 0;

	for (i = 0; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--in-cluster")) {
			in_cluster = 1;
			continue;
		}
		if (!next)
			return fail("missing option value");
		if (!strcmp(argv[i], "--kubeconfig"))
			kubeconfig = next;
		else if (!strcmp(argv[i], "--context"))
			context = next;
		else if (!strcmp(argv[i], "--sa-dir"))
			sa_dir = next;
		else if (!strcmp(argv[i], "--node"))
			node = next;
		else if (!strcmp(argv[i], "--repeat"))
			repeat = atoi(next);
		else
			return fail("unknown option");
		i++;
	}
	c = in_cluster ? k8s_client__in_cluster(sa_dir, err, sizeof(err))
		       : k8s_client__from_kubeconfig(kubeconfig, context, err, sizeof(err));
	if (!c)
		return fail(err);
	if (getenv("APIPROBE_VERBOSE"))
		fprintf(stderr, "apiprobe: source %s\n", k8s_client__describe(c));
	if (repeat > 1)
		k8s_client__set_token_refresh(c, 0);
	for (i = 0; i < repeat && !ret; i++) {
		if (i && !fgets(line, sizeof(line), stdin))
			break;
		if (k8s_client__list_pods(c, node, &l, err, sizeof(err))) {
			ret = fail(err);
			break;
		}
		ret = print_json(pods_json(&l));
		pod_meta_list__free(&l);
	}
	k8s_client__free(c);
	return ret;
}

static int cmd_docker(int argc, char **argv)
{
	const char *sock = NULL;
	struct docker_container dc, *arr;
	struct docker_client *c;
	char err[1024];
	json_t *j;
	int i = 0, n, ret;

	if (argc >= 2 && !strcmp(argv[0], "--socket")) {
		sock = argv[1];
		i = 2;
	}
	if (i >= argc)
		return fail("docker: inspect ID or list");
	c = docker_client__new(sock, err, sizeof(err));
	if (!c)
		return fail(err);
	if (!strcmp(argv[i], "inspect") && i + 1 < argc) {
		ret = docker_client__inspect(c, argv[i + 1], &dc, err, sizeof(err));
		ret = ret ? fail(err) : print_json(container_json(&dc));
	} else if (!strcmp(argv[i], "list")) {
		ret = docker_client__list_containers(c, &arr, &n, err, sizeof(err));
		if (!ret) {
			j = json_array();
			for (i = 0; i < n; i++)
				json_array_append_new(j, container_json(&arr[i]));
			free(arr);
			ret = print_json(j);
		} else {
			ret = fail(err);
		}
	} else {
		ret = fail("docker: inspect ID or list");
	}
	docker_client__free(c);
	return ret;
}

int main(int argc, char **argv)
{
	struct pod_meta_list l;
	char err[1024];
	int ret;

	if (argc >= 2 && !strcmp(argv[1], "k8s"))
		return cmd_k8s(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "docker"))
		return cmd_docker(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "pods-file")) {
		if (podmeta_load_file(argv[2], &l, err, sizeof(err)))
			return fail(err);
		ret = print_json(pods_json(&l));
		pod_meta_list__free(&l);
		return ret;
	}
	return fail("usage: apiprobe k8s|docker|pods-file ...");
}
