/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's HTTP server (libmicrohttpd, one internal polling thread):
 * routes, the token check, request size limits and JSON errors. What each
 * route returns comes from the agent through struct api_ops, which reads
 * the model under the agent's lock; this module never touches BPF or the
 * model itself.
 *
 * Routes: GET /healthz, GET /metrics, GET /api/v1/snapshot, GET /api/v1/flows,
 * GET|POST /api/v1/targets, DELETE /api/v1/targets/<ns>/<name>,
 * GET|POST /api/v1/accel, DELETE /api/v1/accel/<ns>/<name>, GET / and the
 * embedded web UI assets.
 */
#ifndef PODSCOPE_API_H
#define PODSCOPE_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define API_DEFAULT_PORT   9746
#define API_DEFAULT_LISTEN "127.0.0.1:9746"
#define API_MAX_BODY	   4096
#define API_TIMEOUT_S	   10

/* Callbacks run on the server thread; each takes the agent's lock itself. */
struct api_ops {
	void *ctx;
	/* Prometheus text; malloc'd into *@body. 0 or -errno. */
	int (*metrics)(void *ctx, char **body, size_t *len);
	/* podscope.snapshot/v1; caller owns the reference. */
	json_t *(*snapshot)(void *ctx);
	/* podscope.flows/v1 (the last traced flows); NULL when packet tracing is off. */
	json_t *(*flows)(void *ctx);
	/* {"targets": [...]}; caller owns. */
	json_t *(*targets)(void *ctx);
	/*
	 * Add pod @pod ("ns/name") or, when @pod is NULL, the pod of @pid.
	 * Returns an HTTP status (201, 404, 409, 500) and, on error, one line in @err.
	 * *@added receives the pod name that is now watched.
	 */
	int (*target_add)(void *ctx, const char *pod, pid_t pid, char *added, size_t addedlen,
			  char *err, size_t errlen);
	/* Remove pod @pod ("ns/name"). HTTP status (200, 404). */
	int (*target_remove)(void *ctx, const char *pod, char *err, size_t errlen);
	/* Socket-redirect acceleration: status (podscope.accel/v1, caller owns). */
	json_t *(*accel_status)(void *ctx);
	/* Enable/disable acceleration for pod @pod. HTTP status (201/200, 404, 409, 500). */
	int (*accel_enable)(void *ctx, const char *pod, char *err, size_t errlen);
	int (*accel_disable)(void *ctx, const char *pod, char *err, size_t errlen);
};

struct api_server;

/*
 * api_parse_listen - parse "HOST:PORT", "[V6]:PORT" or ":PORT" (all
 * addresses) into a socket address. 0 or -EINVAL.
 */
int api_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/*
 * api_server__start - listen on @listen and serve. @token (may be NULL:
 * control endpoints then always answer 401) is copied. Returns NULL with
 * errno set; the reason has been logged.
 */
struct api_server *api_server__start(const char *listen, const char *token,
				     const struct api_ops *ops);

/* Replace the token (SIGHUP). NULL disables control endpoints. */
void api_server__set_token(struct api_server *s, const char *token);

/* Stop serving and free. NULL-safe. */
void api_server__stop(struct api_server *s);

#endif /* PODSCOPE_API_H */
