/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Is a container a sidecar proxy or the application? One table of rules
 * (container names, proxy binaries, capture ports, the mesh's proxy UID),
 * overridable from the command line. Pure logic, unit-tested.
 */
#ifndef PODSCOPE_SIDECAR_H
#define PODSCOPE_SIDECAR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum container_role {
	ROLE_OTHER = 0, /* infrastructure (pause, conmon) or nothing running */
	ROLE_APP,
	ROLE_SIDECAR,
};

const char *container_role_name(enum container_role role);

/* What the classifier looks at for one process of the container. */
struct sidecar_proc_view {
	const char *comm;
	uid_t uid;
	const uint16_t *listen_ports; /* TCP ports this process listens on */
	int nlisten;
};

/* When count > 0, exactly the named containers are sidecars: the rule table is not used. */
struct sidecar_overrides {
	const char *const *sidecar_containers; /* --sidecar-container NAME (repeatable) */
	int count;
};

/*
 * sidecar_classify - decide the role of one container.
 * @name: container name ("" if unknown); @procs/@nprocs: its processes.
 * @reason: receives a short text naming the rule that decided (e.g.
 * "container name istio-proxy", "uid 1337", "haproxy listening on 15006").
 */
enum container_role sidecar_classify(const char *name, const struct sidecar_proc_view *procs,
				     int nprocs, const struct sidecar_overrides *ovr, char *reason,
				     size_t reason_len);

#endif /* PODSCOPE_SIDECAR_H */
