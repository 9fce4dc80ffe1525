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
