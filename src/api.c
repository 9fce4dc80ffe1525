// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's HTTP server. Read-only routes (metrics, snapshot, target
 * list, UI) are open to loopback clients and need the token from anywhere
 * else; control routes (POST/DELETE /api/v1/targets) always need
 * "Authorization: Bearer <token>". Request bodies are limited to
 * API_MAX_BODY bytes (413 beyond), connections time out after
 * API_TIMEOUT_S seconds, and every error is a JSON object {"error": "..."}.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <microhttpd.h>

#include "api.h"
#include "log.h"

struct web_asset {
	const char *path;
	const unsigned char *data;
	size_t len;
};

#include "web_assets.h"

struct api_server {
	struct MHD_Daemon *d;
	struct api_ops ops;
	pthread_mutex_t token_lock;
	char *token;
};

struct request {
	char body[API_MAX_BODY + 1];
	size_t len;
	bool too_large;
};

int api_parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	unsigned long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!text || !*text)
		return -EINVAL;
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');

		if (!rb || rb[1] != ':' || (size_t)(rb - text - 1) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(rb - text - 1), text + 1);
		colon = rb + 1;
	} else {
		colon = strrchr(text, ':');
		if (!colon || (size_t)(colon - text) >= sizeof(host))
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || !colon[1] || port == 0 || port > 65535)
		return -EINVAL;
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a6);
	} else {
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		if (!host[0])
			a4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
			return -EINVAL;
		*len = sizeof(*a4);
	}
	return 0;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, const char *type,
			       void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"podscope\"");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result respond_json(struct MHD_Connection *c, unsigned int status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(doc);
	if (!text)
		return respond(c, 500, "application/json", "{\"error\":\"out of memory\"}", 25,
			       MHD_RESPMEM_PERSISTENT);
	len = strlen(text);
	/* MHD frees with free(); jansson allocates with malloc by default */
	return respond(c, status, "application/json", text, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	return respond_json(c, status, json_pack("{s:s}", "error", msg));
}

static bool client_is_loopback(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* Constant-time comparison of the bearer token. */
static bool token_ok(struct api_server *s, struct MHD_Connection *c)
{
	const char *h =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	bool ok = false;

	pthread_mutex_lock(&s->token_lock);
	if (s->token && h && !strncmp(h, "Bearer ", 7)) {
		const char *t = h + 7;
		size_t a = strlen(t), b = strlen(s->token), i;
		unsigned char diff = a != b;

		for (i = 0; i < a && i < b; i++)
			diff |= (unsigned char)(t[i] ^ s->token[i]);
		ok = !diff;
	}
	pthread_mutex_unlock(&s->token_lock);
	return ok;
}

static const char *asset_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot && !strcmp(dot, ".html"))
		return "text/html; charset=utf-8";
	if (dot && !strcmp(dot, ".js"))
		return "text/javascript; charset=utf-8";
	if (dot && !strcmp(dot, ".css"))
		return "text/css; charset=utf-8";
	if (dot && !strcmp(dot, ".svg"))
		return "image/svg+xml";
	return "application/octet-stream";
}

static enum MHD_Result serve_asset(struct MHD_Connection *c, const char *url)
{
	size_t i;

	if (!strcmp(url, "/"))
		url = "/index.html";
	for (i = 0; i < sizeof(web_assets) / sizeof(web_assets[0]); i++)
		if (!strcmp(web_assets[i].path, url))
			return respond(c, 200, asset_type(url), (void *)web_assets[i].data,
				       web_assets[i].len, MHD_RESPMEM_PERSISTENT);
	return respond_error(c, 404, "not found");
}

static enum MHD_Result target_post(struct api_server *s, struct MHD_Connection *c,
				   struct request *rq)
{
	char err[512] = "", added[600] = "";
	json_error_t jerr;
	json_t *doc, *pod, *pid;
	int status;

	doc = json_loadb(rq->body, rq->len, 0, &jerr);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		snprintf(err, sizeof(err), "malformed JSON: %s", doc ? "not an object" : jerr.text);
		return respond_error(c, 400, err);
	}
	pod = json_object_get(doc, "pod");
	pid = json_object_get(doc, "pid");
	if ((pod && !json_is_string(pod)) || (pid && !json_is_integer(pid)) || (!pod == !pid) ||
	    (pid && (json_integer_value(pid) <= 0 || json_integer_value(pid) > 0x3fffffff)) ||
	    (pod && (!json_string_length(pod) || json_string_length(pod) > 507))) {
		json_decref(doc);
		return respond_error(c, 400, "want {\"pod\": \"NAMESPACE/NAME\"} or {\"pid\": N}");
	}
	status = s->ops.target_add(s->ops.ctx, pod ? json_string_value(pod) : NULL,
				   pid ? (pid_t)json_integer_value(pid) : 0, added, sizeof(added),
				   err, sizeof(err));
	json_decref(doc);
	if (status >= 300)
		return respond_error(c, (unsigned int)status, err);
	return respond_json(c, (unsigned int)status, json_pack("{s:s}", "added", added));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct api_server *s = cls;
	struct request *rq = *con_cls;
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool targets_route = !strncmp(url, "/api/v1/targets", 15) &&
			     (url[15] == '\0' || url[15] == '/');
	bool accel_route = !strncmp(url, "/api/v1/accel", 13) &&
			   (url[13] == '\0' || url[13] == '/');
	bool control = (targets_route || accel_route) && !get;

	(void)version;
	if (!rq) {
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		/* authenticate and size-check before reading any body */
		if (control && !token_ok(s, c))
			return respond_error(c, 401,
					     "control endpoints need 'Authorization: "
					     "Bearer <token>' (the agent's --token-file)");
		if (!control && !client_is_loopback(c) && !token_ok(s, c))
			return respond_error(c, 401, "token required from non-loopback clients");
		if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY)
			return respond_error(c, 413, "request body too large (max 4096 bytes)");
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rq->len + *upload_data_size > API_MAX_BODY)
			rq->too_large = true;
		else {
			memcpy(rq->body + rq->len, upload_data, *upload_data_size);
			rq->len += *upload_data_size;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->too_large)
		return respond_error(c, 413, "request body too large (max 4096 bytes)");

	if (!strcmp(url, "/healthz") && get)
		return respond(c, 200, "text/plain; charset=utf-8", "ok\n", 3,
			       MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/metrics") && get) {
		char *body = NULL;
		size_t len = 0;
		int rc = s->ops.metrics(s->ops.ctx, &body, &len);

		if (rc) {
			free(body);
			return respond_error(c, 500, strerror(-rc));
		}
		return respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", body, len,
			       MHD_RESPMEM_MUST_FREE);
	}
	if (!strcmp(url, "/api/v1/snapshot") && get)
		return respond_json(c, 200, s->ops.snapshot(s->ops.ctx));
	if (!strcmp(url, "/api/v1/flows") && get) {
		json_t *doc = s->ops.flows ? s->ops.flows(s->ops.ctx) : NULL;

		return doc ? respond_json(c, 200, doc)
			   : respond_error(c, 404,
					   "packet tracing is off (start the agent with "
					   "--trace-pod)");
	}
	if (targets_route) {
		char err[512] = "";
		int status;

		if (!strcmp(url, "/api/v1/targets") && get)
			return respond_json(c, 200, s->ops.targets(s->ops.ctx));
		if (!strcmp(url, "/api/v1/targets") && !strcmp(method, "POST"))
			return target_post(s, c, rq);
		if (url[15] == '/' && url[16] && !strcmp(method, "DELETE")) {
			status = s->ops.target_remove(s->ops.ctx, url + 16, err, sizeof(err));
			if (status >= 300)
				return respond_error(c, (unsigned int)status, err);
			return respond_json(c, (unsigned int)status,
					    json_pack("{s:s}", "removed", url + 16));
		}
		return respond_error(c, 405, "method not allowed");
	}
	if (accel_route) {
		char err[512] = "";
		int status;

		if (!strcmp(url, "/api/v1/accel") && get) {
			json_t *st = s->ops.accel_status(s->ops.ctx);

			return st ? respond_json(c, 200, st)
				  : respond_error(c, 500, "acceleration status unavailable");
		}
		if (!strcmp(url, "/api/v1/accel") && !strcmp(method, "POST")) {
			json_error_t jerr;
			json_t *req = json_loadb(rq->body, rq->len, 0, &jerr);
			const char *pod = json_string_value(json_object_get(req, "pod"));

			if (!pod) {
				json_decref(req);
				return respond_error(c, 400,
						     "want a JSON object {\"pod\": \"ns/name\"}");
			}
			status = s->ops.accel_enable(s->ops.ctx, pod, err, sizeof(err));
			if (status >= 300) {
				json_decref(req);
				return respond_error(c, (unsigned int)status, err);
			}
			{
				enum MHD_Result r =
					respond_json(c, (unsigned int)status,
						     json_pack("{s:s}", "accelerated", pod));

				json_decref(req);
				return r;
			}
		}
		if (url[13] == '/' && url[14] && !strcmp(method, "DELETE")) {
			status = s->ops.accel_disable(s->ops.ctx, url + 14, err, sizeof(err));
			if (status >= 300)
				return respond_error(c, (unsigned int)status, err);
			return respond_json(c, (unsigned int)status,
					    json_pack("{s:s}", "stopped", url + 14));
		}
		return respond_error(c, 405, "method not allowed");
	}
	if (get && (!strcmp(url, "/") || strncmp(url, "/api/", 5)))
		return serve_asset(c, url);
	return respond_error(c, get ? 404 : 405, get ? "not found" : "method not allowed");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*con_cls);
	*con_cls = NULL;
}

struct api_server *api_server__start(const char *listen, const char *token,
				     const struct api_ops *ops)
{
	struct sockaddr_storage ss;
	struct api_server *s;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	socklen_t len;
	uint16_t port;

	if (api_parse_listen(listen, &ss, &len)) {
		pr_error("bad listen address '%s': want HOST:PORT", listen);
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ops = *ops;
	pthread_mutex_init(&s->token_lock, NULL);
	api_server__set_token(s, token);
	if (ss.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	s->d = MHD_start_daemon(flags, port, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &ss,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_TIMEOUT_S,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
				MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (!s->d) {
		pr_error("cannot listen on %s (address in use, or not local?)", listen);
		api_server__stop(s);
		errno = EADDRINUSE;
		return NULL;
	}
	return s;
}

void api_server__set_token(struct api_server *s, const char *token)
{
	pthread_mutex_lock(&s->token_lock);
	free(s->token);
	s->token = token && *token ? strdup(token) : NULL;
	pthread_mutex_unlock(&s->token_lock);
}

void api_server__stop(struct api_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->token_lock);
	free(s->token);
	free(s);
}
