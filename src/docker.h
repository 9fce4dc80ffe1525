/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A Docker Engine–compatible API (Docker, Podman) on a unix socket as a
 * container-metadata source: a container's init PID, state, name and the
 * Kubernetes labels that dockershim / cri-dockerd put on pod containers.
 */
#ifndef PODSCOPE_DOCKER_H
#define PODSCOPE_DOCKER_H

#include <stdbool.h>
#include <stddef.h>

#include "podmeta.h"

#define DOCKER_SOCKET_DEFAULT "/var/run/docker.sock"
#define DOCKER_API_VERSION    "v1.41"

struct docker_container {
	char id[CONTAINER_ID_MAX];
	char name[POD_NAME_MAX]; /* without the leading '/' */
	char image[256];
	char state[16]; /* "running", "exited", ... ("" if not given) */
	bool running;
	int pid; /* State.Pid: root-namespace PID of the init process, 0 if not running */
	/* Kubernetes labels (io.kubernetes.*), "" when absent */
	char pod_name[POD_NAME_MAX];
	char pod_namespace[POD_NAME_MAX];
	char pod_uid[POD_UID_MAX];
	char container_name[POD_NAME_MAX]; /* io.kubernetes.container.name ("POD" = sandbox) */
};

/*
 * Parse a GET /containers/{id}/json answer (ContainerInspect, API v1.41).
 * Returns 0; -EBADMSG (not JSON), -EINVAL (missing Id/State, wrong types,
 * oversize values). On error @out is zeroed and @err holds one line.
 */
int docker_parse_inspect(const char *json, size_t len, struct docker_container *out, char *err,
			 size_t errlen);

/*
 * Parse a GET /containers/json answer (ContainerList) into a new array
 * *@out of *@count entries (pid is 0: the list does not carry it); free it
 * with free(). Errors as docker_parse_inspect(); on error *@out is NULL.
 */
int docker_parse_list(const char *json, size_t len, struct docker_container **out, int *count,
		      char *err, size_t errlen);

struct docker_client;

/*
 * A client for the engine at unix socket @socket_path (NULL: the path of a
 * unix:// $DOCKER_HOST, else DOCKER_SOCKET_DEFAULT). Returns NULL with one
 * line in @err (and errno set) when the path is not a socket.
 */
struct docker_client *docker_client__new(const char *socket_path, char *err, size_t errlen);

/*
 * Inspect container @id (full or short id, or name). Returns 0, -ENOENT
 * (no such container), -ECONNREFUSED (nobody listening), -ETIMEDOUT, -EIO
 * (other HTTP status) or the parser's errors, with one line in @err.
 */
int docker_client__inspect(struct docker_client *c, const char *id, struct docker_container *out,
			   char *err, size_t errlen);

/* List all containers (running or not); as docker_parse_list(), plus transport errors. */
int docker_client__list_containers(struct docker_client *c, struct docker_container **out,
				   int *count, char *err, size_t errlen);

/* "docker-api unix:/var/run/docker.sock" */
const char *docker_client__describe(const struct docker_client *c);

/* NULL-safe. */
void docker_client__free(struct docker_client *c);

#endif /* PODSCOPE_DOCKER_H */
