// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Source orchestration for target resolution. The kernel's view is the
 * ground truth for which processes exist; the control-plane sources only
 * name things (pod names, namespaces, IPs, container names) and, for the
 * Docker API, point at container init PIDs the cgroup patterns missed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "docker.h"
#include "k8s.h"
#include "cli.h"
#include "log.h"
#include "resolve.h"

int source_choice_parse(const char *text, enum source_choice *out)
{
	static const char *const names[] = {"auto", "k8s", "docker", "proc"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(text, names[i])) {
			*out = (enum source_choice)i;
			return 0;
		}
	return -EINVAL;
}

int resolve_opt_handle(int code, const char *arg, struct resolve_opts *o, const char **names,
		       const char *cmd)
{
	switch (code) {
	case RESOLVE_OPT_SOURCE:
		if (source_choice_parse(arg, &o->source))
			return cli_usage_error(
				cmd, "bad --source '%s': want auto, k8s, docker or proc", arg);
		return 1;
	case RESOLVE_OPT_KUBECONFIG:
		o->kubeconfig = arg;
		return 1;
	case RESOLVE_OPT_DOCKER:
		o->docker_socket = arg;
		return 1;
	case RESOLVE_OPT_PODS_FILE:
		o->pods_file = arg;
		return 1;
	case RESOLVE_OPT_NODE:
		o->node_name = arg;
		return 1;
	case RESOLVE_OPT_SIDECAR:
		if (o->sidecars.count == RESOLVE_MAX_SIDECAR_NAMES)
			return cli_usage_error(cmd, "too many --sidecar-container (max %d)",
					       RESOLVE_MAX_SIDECAR_NAMES);
		names[o->sidecars.count++] = arg;
		o->sidecars.sidecar_containers = names;
		return 1;
	default:
		return 0;
	}
}

static void note(struct target_set *set, enum target_source src, bool tried, bool ok,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void note(struct target_set *set, enum target_source src, bool tried, bool ok,
		 const char *fmt, ...)
{
	struct target_source_status *st = &set->sources[src];
	va_list ap;

	st->tried = tried;
	st->ok = ok;
	va_start(ap, fmt);
	vsnprintf(st->detail, sizeof(st->detail), fmt, ap);
	va_end(ap);
	pr_info("source %s: %s", target_source_name(src), st->detail);
}

static bool kubeconfig_present(void)
{
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	char path[4096];

	if (env && *env)
		return true;
	if (!home)
		return false;
	snprintf(path, sizeof(path), "%s/.kube/config", home);
	return access(path, R_OK) == 0;
}

/* The Kubernetes API: names for pods on this node. */
static int source_k8s(const struct resolve_opts *o, struct target_set *set,
		      struct pod_meta_list *meta, char *err, size_t errlen)
{
	bool required = o->source == SOURCE_K8S || o->kubeconfig;
	bool in_cluster = getenv("KUBERNETES_SERVICE_HOST") != NULL;
	struct k8s_client *client = NULL;
	char node[256], msg[512] = "";
	int rc;

	if (!required && o->source != SOURCE_AUTO) {
		note(set, TSRC_K8S, false, false, "not selected (--source)");
		return 0;
	}
	if (!required && !in_cluster && !kubeconfig_present()) {
		note(set, TSRC_K8S, false, false,
		     "not configured: no --kubeconfig, no in-cluster service account, no "
		     "$KUBECONFIG or ~/.kube/config");
		return 0;
	}
	if (o->node_name)
		snprintf(node, sizeof(node), "%s", o->node_name);
	else if (k8s_default_node_name(node, sizeof(node)))
		snprintf(node, sizeof(node), "localhost");

	if (o->kubeconfig || !in_cluster)
		client = k8s_client__from_kubeconfig(o->kubeconfig, NULL, msg, sizeof(msg));
	else
		client = k8s_client__in_cluster(NULL, msg, sizeof(msg));
	if (!client) {
		rc = -EINVAL;
		goto fail;
	}
	rc = k8s_client__list_pods(client, node, meta, msg, sizeof(msg));
	if (rc)
		goto fail;
	note(set, TSRC_K8S, true, true, "%s: %d pods on node %s", k8s_client__describe(client),
	     meta->count, node);
	k8s_client__free(client);
	return 0;
fail:
	note(set, TSRC_K8S, true, false, "%s", msg[0] ? msg : strerror(-rc));
	k8s_client__free(client);
	if (required) {
		snprintf(err, errlen, "Kubernetes API: %s", set->sources[TSRC_K8S].detail);
		return rc;
	}
	/* tried because it looked configured, and failed: worth a warning */
	pr_warn("Kubernetes API skipped: %s", set->sources[TSRC_K8S].detail);
	return 0;
}

static struct pod_meta *meta_find_uid(struct pod_meta_list *l, const char *uid)
{
	int i;

	for (i = 0; i < l->count; i++)
		if (!strcmp(l->pods[i].uid, uid))
			return &l->pods[i];
	return NULL;
}

/* Turn dockershim/cri-dockerd labels into pod metadata. */
static int docker_labels_to_meta(const struct docker_container *dc, int n,
				 struct pod_meta_list *out)
{
	int i;

	for (i = 0; i < n; i++) {
		struct pod_meta *pm;
		struct container_meta *cm;

		if (!dc[i].pod_uid[0] || !strcmp(dc[i].container_name, "POD"))
			continue;
		pm = meta_find_uid(out, dc[i].pod_uid);
		if (!pm) {
			struct pod_meta *np =
				realloc(out->pods, (size_t)(out->count + 1) * sizeof(*np));

			if (!np)
				return -ENOMEM;
			out->pods = np;
			pm = &out->pods[out->count++];
			memset(pm, 0, sizeof(*pm));
			snprintf(pm->uid, sizeof(pm->uid), "%s", dc[i].pod_uid);
			snprintf(pm->name, sizeof(pm->name), "%s", dc[i].pod_name);
			snprintf(pm->namespace_, sizeof(pm->namespace_), "%s", dc[i].pod_namespace);
		}
		cm = realloc(pm->containers, (size_t)(pm->container_count + 1) * sizeof(*cm));
		if (!cm)
			return -ENOMEM;
		pm->containers = cm;
		cm = &pm->containers[pm->container_count++];
		memset(cm, 0, sizeof(*cm));
		snprintf(cm->name, sizeof(cm->name), "%s", dc[i].container_name);
		snprintf(cm->id, sizeof(cm->id), "%s", dc[i].id);
		snprintf(cm->runtime, sizeof(cm->runtime), "docker");
		snprintf(cm->image, sizeof(cm->image), "%s", dc[i].image);
	}
	return 0;
}

/* The Docker-compatible API: labels for names, State.Pid where /proc found nothing. */
static int source_docker(const struct resolve_opts *o, struct target_set *set,
			 struct pod_meta_list *meta, struct docker_client **clientp, char *err,
			 size_t errlen)
{
	bool required = o->source == SOURCE_DOCKER || o->docker_socket;
	const char *path = o->docker_socket ? o->docker_socket : DOCKER_SOCKET_DEFAULT;
	struct docker_container *list = NULL;
	struct docker_client *client;
	char msg[512] = "";
	struct stat st;
	int count = 0, rc;

	*clientp = NULL;
	if (!required && o->source != SOURCE_AUTO) {
		note(set, TSRC_DOCKER, false, false, "not selected (--source)");
		return 0;
	}
	if (!required && (stat(path, &st) || !S_ISSOCK(st.st_mode))) {
		note(set, TSRC_DOCKER, false, false, "no engine socket at %s", path);
		return 0;
	}
	client = docker_client__new(path, msg, sizeof(msg));
	if (!client) {
		rc = -ENOENT;
		goto fail;
	}
	rc = docker_client__list_containers(client, &list, &count, msg, sizeof(msg));
	if (rc)
		goto fail;
	rc = docker_labels_to_meta(list, count, meta);
	free(list);
	if (rc)
		goto fail;
	note(set, TSRC_DOCKER, true, true, "%s: %d containers", docker_client__describe(client),
	     count);
	*clientp = client;
	return 0;
fail:
	note(set, TSRC_DOCKER, true, false, "%s", msg[0] ? msg : strerror(-rc));
	docker_client__free(client);
	if (required) {
		snprintf(err, errlen, "Docker API: %s", set->sources[TSRC_DOCKER].detail);
		return rc;
	}
	pr_warn("Docker API skipped: %s", set->sources[TSRC_DOCKER].detail);
	return 0;
}

/* true when /proc/<pid>/cgroup names container @id. */
static bool pid_cgroup_mentions(const char *proc_root, pid_t pid, const char *id)
{
	char path[256], text[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return id[0] && strstr(text, id) != NULL;
}

/* Containers the cgroup patterns missed: ask the engine for their init PID. */
static void docker_fill_pids(struct docker_client *client, struct target_set *set,
			     const char *proc_root)
{
	int i, j;

	for (i = 0; i < set->npods; i++)
		for (j = 0; j < set->pods[i].ncontainers; j++) {
			struct target_container *c = &set->pods[i].containers[j];
			struct docker_container dc;
			char msg[256];

			if (c->nprocs || !c->meta.id[0])
				continue;
			if (docker_client__inspect(client, c->meta.id, &dc, msg, sizeof(msg)) ||
			    !dc.running || dc.pid <= 0)
				continue;
			/* trust State.Pid only if the kernel agrees: an engine in another PID
			 * namespace (kind, minikube) reports PIDs that mean something else here */
			if (!pid_cgroup_mentions(proc_root, dc.pid, c->meta.id)) {
				pr_debug("container %.12s: engine pid %d is not in its cgroup: "
					 "ignored",
					 c->meta.id, dc.pid);
				continue;
			}
			if (target_container__add_pid(c, proc_root, dc.pid))
				pr_debug("container %s: pid %d from the engine vanished",
					 c->meta.id, dc.pid);
		}
}

int target_resolve(const struct resolve_opts *o, struct target_set *set, char *err, size_t errlen)
{
	struct pod_meta_list k8s_meta = {0}, file_meta = {0}, docker_meta = {0};
	const char *proc_root = o->proc_root ? o->proc_root : "/proc";
	struct docker_client *docker = NULL;
	struct cgroup_info cg = {0};
	int rc;

	memset(set, 0, sizeof(*set));
	err[0] = '\0';
	rc = source_k8s(o, set, &k8s_meta, err, errlen);
	if (rc)
		goto out;
	rc = source_docker(o, set, &docker_meta, &docker, err, errlen);
	if (rc)
		goto out;
	if (o->pods_file) {
		char msg[512];

		rc = podmeta_load_file(o->pods_file, &file_meta, msg, sizeof(msg));
		if (rc) {
			note(set, TSRC_PODS_FILE, true, false, "%s", msg);
			snprintf(err, errlen, "--pods-file %s: %s", o->pods_file, msg);
			goto out;
		}
		note(set, TSRC_PODS_FILE, true, true, "%s: %d pods", o->pods_file, file_meta.count);
	} else {
		note(set, TSRC_PODS_FILE, false, false, "no --pods-file");
	}

	if (cgroup_info_read(&cg))
		pr_debug("cannot read cgroup mounts: cgroup ids unavailable");
	rc = target_set__scan_proc(set, proc_root, cg.v2_path);
	if (rc) {
		snprintf(err, errlen, "scanning %s: %s", proc_root, strerror(-rc));
		goto out;
	}
	pr_info("source proc: %s", set->sources[TSRC_PROC].detail);
	/* least authoritative first: later merges overwrite names */
	rc = target_set__merge_meta(set, &docker_meta);
	if (!rc)
		rc = target_set__merge_meta(set, &file_meta);
	if (!rc)
		rc = target_set__merge_meta(set, &k8s_meta);
	if (rc) {
		snprintf(err, errlen, "%s", strerror(-rc));
		goto out;
	}
	if (docker)
		docker_fill_pids(docker, set, proc_root);
	target_set__classify(set, &o->sidecars);
out:
	docker_client__free(docker);
	pod_meta_list__free(&k8s_meta);
	pod_meta_list__free(&file_meta);
	pod_meta_list__free(&docker_meta);
	if (rc)
		target_set__free(set);
	return rc;
}
