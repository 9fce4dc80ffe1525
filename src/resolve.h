/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Resolving targets from every source, in order: the Kubernetes API, a
 * Docker-compatible engine, a PodList file, and always the kernel's own view
 * (/proc). What each source did is recorded in the target set so that
 * `podscope pods -v` can report it.
 */
#ifndef PODSCOPE_RESOLVE_H
#define PODSCOPE_RESOLVE_H

#include <stddef.h>

#include "target.h"

enum source_choice {
	SOURCE_AUTO = 0, /* every source that is configured or present */
	SOURCE_K8S,	 /* the Kubernetes API is required */
	SOURCE_DOCKER,	 /* the Docker-compatible API is required */
	SOURCE_PROC,	 /* the kernel's view only (plus --pods-file for names) */
};

struct resolve_opts {
	enum source_choice source;
	const char *kubeconfig;	   /* --kubeconfig, NULL: in-cluster or ~/.kube/config */
	const char *docker_socket; /* --docker-socket, NULL: default */
	const char *pods_file;	   /* --pods-file: PodList JSON for names without an API */
	const char *node_name;	   /* NULL: $NODE_NAME or hostname */
	const char *proc_root;	   /* NULL: "/proc" */
	struct sidecar_overrides sidecars;
};

/*
 * The source options every command that resolves targets accepts, in one
 * place: put RESOLVE_LONG_OPTIONS in the getopt_long() table and pass every
 * option code to resolve_opt_handle() first.
 */
enum {
	RESOLVE_OPT_SOURCE = 0x1000,
	RESOLVE_OPT_KUBECONFIG,
	RESOLVE_OPT_DOCKER,
	RESOLVE_OPT_PODS_FILE,
	RESOLVE_OPT_NODE,
	RESOLVE_OPT_SIDECAR,
};

#define RESOLVE_LONG_OPTIONS                                                      \
	{"source", required_argument, NULL, RESOLVE_OPT_SOURCE},                  \
		{"kubeconfig", required_argument, NULL, RESOLVE_OPT_KUBECONFIG},  \
		{"docker-socket", required_argument, NULL, RESOLVE_OPT_DOCKER},   \
		{"pods-file", required_argument, NULL, RESOLVE_OPT_PODS_FILE},    \
		{"node", required_argument, NULL, RESOLVE_OPT_NODE},              \
	{                                                                         \
		"sidecar-container", required_argument, NULL, RESOLVE_OPT_SIDECAR \
	}

#define RESOLVE_MAX_SIDECAR_NAMES 16

/*
 * resolve_opt_handle - apply option @code (from getopt_long) with @arg to
 * @o; @names (RESOLVE_MAX_SIDECAR_NAMES slots) backs --sidecar-container.
 * Returns 1 when handled, 0 when @code is not a source option, or
 * EXIT_USAGE after printing one error line for command @cmd.
 */
int resolve_opt_handle(int code, const char *arg, struct resolve_opts *o, const char **names,
		       const char *cmd);

/* Parse "auto|k8s|docker|proc". 0 or -EINVAL. */
int source_choice_parse(const char *text, enum source_choice *out);

/*
 * target_resolve - fill @set from the sources @o selects.
 * A source the user asked for explicitly (--source, --kubeconfig,
 * --docker-socket, --pods-file) must work: its failure is an error, with one
 * line in @err. Sources tried only because of --source auto are skipped
 * with a note when they fail. Returns 0 or negative errno.
 */
int target_resolve(const struct resolve_opts *o, struct target_set *set, char *err, size_t errlen);

#endif /* PODSCOPE_RESOLVE_H */
