// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Docker Engine API source over a unix socket (libcurl with
 * CURLOPT_UNIX_SOCKET_PATH; Docker and Podman's compat service answer the
 * same paths). It gives what the kernel's view cannot: a container's name
 * and pod labels, and its init PID straight from the engine. Parsing is kept
 * apart from transport so that it is unit-tested without an engine.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <curl/curl.h>
#include <jansson.h>

#include "docker.h"
#include "log.h"

#define RESPONSE_MAX	   (64u << 20)
#define CONNECT_TIMEOUT_MS 2000L
#define TOTAL_TIMEOUT_MS   5000L
#define ID_MAX		   128

struct docker_client {
	char *socket_path;
	char *describe;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Optional string member @key of @obj into @dst; "" when absent/null, -EINVAL if not a fitting string. */
static int copy_str(json_t *obj, const char *key, char *dst, size_t dstlen, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	size_t len;

	dst[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		set_err(err, errlen, "%s: expected a string", key);
		return -EINVAL;
	}
	len = json_string_length(v);
	if (len >= dstlen) {
		set_err(err, errlen, "%s: value too long (%zu bytes, limit %zu)", key, len,
			dstlen - 1);
		return -EINVAL;
	}
	memcpy(dst, json_string_value(v), len + 1);
	return 0;
}

/* The io.kubernetes.* labels of @labels (an object or null) into @out. */
static int parse_labels(json_t *labels, struct docker_container *out, char *err, size_t errlen)
{
	int ret;

	if (!labels || json_is_null(labels))
		return 0;
	if (!json_is_object(labels)) {
		set_err(err, errlen, "Labels: expected an object");
		return -EINVAL;
	}
	ret = copy_str(labels, "io.kubernetes.pod.name", out->pod_name, sizeof(out->pod_name), err,
		       errlen);
	if (!ret)
		ret = copy_str(labels, "io.kubernetes.pod.namespace", out->pod_namespace,
			       sizeof(out->pod_namespace), err, errlen);
	if (!ret)
		ret = copy_str(labels, "io.kubernetes.pod.uid", out->pod_uid, sizeof(out->pod_uid),
			       err, errlen);
	if (!ret)
		ret = copy_str(labels, "io.kubernetes.container.name", out->container_name,
			       sizeof(out->container_name), err, errlen);
	return ret;
}

/* Id is required and must look like an engine id (hex, at most 64). */
static int parse_id(json_t *obj, struct docker_container *out, char *err, size_t errlen)
{
	int ret = copy_str(obj, "Id", out->id, sizeof(out->id), err, errlen);

	if (ret)
		return ret;
	if (!out->id[0] || strspn(out->id, "0123456789abcdef") != strlen(out->id)) {
		set_err(err, errlen, "Id: missing or not a hex container id");
		return -EINVAL;
	}
	return 0;
}

static int parse_inspect_root(json_t *root, struct docker_container *out, char *err, size_t errlen)
{
	json_t *state, *config, *pid, *running;
	char name[POD_NAME_MAX + 1];
	const char *n;
	int ret;

	if (!json_is_object(root)) {
		set_err(err, errlen, "expected a JSON object (ContainerInspect)");
		return -EINVAL;
	}
	ret = parse_id(root, out, err, errlen);
	if (!ret)
		ret = copy_str(root, "Name", name, sizeof(name), err, errlen);
	if (ret)
		return ret;
	n = name[0] == '/' ? name + 1 : name;
	if (strlen(n) >= sizeof(out->name)) {
		set_err(err, errlen, "Name: value too long");
		return -EINVAL;
	}
	memcpy(out->name, n, strlen(n) + 1);

	state = json_object_get(root, "State");
	if (!json_is_object(state)) {
		set_err(err, errlen, "State: %s", state ? "expected an object" : "missing");
		return -EINVAL;
	}
	ret = copy_str(state, "Status", out->state, sizeof(out->state), err, errlen);
	if (ret)
		return ret;
	running = json_object_get(state, "Running");
	if (!json_is_boolean(running)) {
		set_err(err, errlen, "State.Running: %s",
			running ? "expected a boolean" : "missing");
		return -EINVAL;
	}
	out->running = json_is_true(running);
	pid = json_object_get(state, "Pid");
	if (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
	    json_integer_value(pid) > (1 << 22)) {
		set_err(err, errlen, "State.Pid: %s",
			pid ? "expected a PID (integer 0..4194304)" : "missing");
		return -EINVAL;
	}
	out->pid = (int)json_integer_value(pid);
	if (out->running && !out->pid) {
		set_err(err, errlen, "State: running but Pid is 0");
		return -EINVAL;
	}

	config = json_object_get(root, "Config");
	if (!config || json_is_null(config))
		return 0;
	if (!json_is_object(config)) {
		set_err(err, errlen, "Config: expected an object");
		return -EINVAL;
	}
	ret = copy_str(config, "Image", out->image, sizeof(out->image), err, errlen);
	if (!ret)
		ret = parse_labels(json_object_get(config, "Labels"), out, err, errlen);
	return ret;
}

int docker_parse_inspect(const char *json, size_t len, struct docker_container *out, char *err,
			 size_t errlen)
{
	json_error_t jerr;
	json_t *root;
	int ret;

	memset(out, 0, sizeof(*out));
	root = json ? json_loadb(json, len, 0, &jerr) : NULL;
	if (!root) {
		if (json)
			set_err(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
				jerr.column, jerr.text);
		else
			set_err(err, errlen, "no input");
		return json ? -EBADMSG : -EINVAL;
	}
	ret = parse_inspect_root(root, out, err, errlen);
	json_decref(root);
	if (ret)
		memset(out, 0, sizeof(*out));
	return ret;
}

/* One ContainerSummary of GET /containers/json. */
static int parse_summary(json_t *obj, struct docker_container *out, char *err, size_t errlen)
{
	json_t *names, *first;
	const char *n;
	int ret;

	if (!json_is_object(obj)) {
		set_err(err, errlen, "expected an object");
		return -EINVAL;
	}
	ret = parse_id(obj, out, err, errlen);
	if (!ret)
		ret = copy_str(obj, "Image", out->image, sizeof(out->image), err, errlen);
	if (!ret)
		ret = copy_str(obj, "State", out->state, sizeof(out->state), err, errlen);
	if (!ret)
		ret = parse_labels(json_object_get(obj, "Labels"), out, err, errlen);
	if (ret)
		return ret;
	out->running = !strcmp(out->state, "running");
	names = json_object_get(obj, "Names");
	if (names && !json_is_null(names)) {
		first = json_array_get(names, 0);
		if (!json_is_array(names) || (first && !json_is_string(first))) {
			set_err(err, errlen, "Names: expected an array of strings");
			return -EINVAL;
		}
		if (first) {
			n = json_string_value(first);
			if (n[0] == '/')
				n++;
			if (strlen(n) >= sizeof(out->name)) {
				set_err(err, errlen, "Names: value too long");
				return -EINVAL;
			}
			strcpy(out->name, n);
		}
	}
	return 0;
}

int docker_parse_list(const char *json, size_t len, struct docker_container **out, int *count,
		      char *err, size_t errlen)
{
	char msg[192];
	json_error_t jerr;
	json_t *root, *item;
	size_t i, n;
	int ret = 0;

	*out = NULL;
	*count = 0;
	root = json ? json_loadb(json, len, 0, &jerr) : NULL;
	if (!root) {
		if (json)
			set_err(err, errlen, "invalid JSON at line %d column %d: %s", jerr.line,
				jerr.column, jerr.text);
		else
			set_err(err, errlen, "no input");
		return json ? -EBADMSG : -EINVAL;
	}
	if (!json_is_array(root)) {
		set_err(err, errlen, "expected a JSON array (ContainerList)");
		json_decref(root);
		return -EINVAL;
	}
	n = json_array_size(root);
	if (n) {
		*out = calloc(n, sizeof(**out));
		if (!*out) {
			set_err(err, errlen, "out of memory");
			json_decref(root);
			return -ENOMEM;
		}
	}
	json_array_foreach (root, i, item) {
		ret = parse_summary(item, &(*out)[i], msg, sizeof(msg));
		if (ret) {
			set_err(err, errlen, "[%zu]: %s", i, msg);
			break;
		}
	}
	json_decref(root);
	if (ret) {
		free(*out);
		*out = NULL;
		return ret;
	}
	*count = (int)n;
	return 0;
}

/* --- client ------------------------------------------------------------------ */

struct docker_client *docker_client__new(const char *socket_path, char *err, size_t errlen)
{
	const char *host = getenv("DOCKER_HOST");
	struct docker_client *c;
	struct stat st;
	int e;

	if (!socket_path && host && !strncmp(host, "unix://", 7))
		socket_path = host + 7;
	if (!socket_path || !*socket_path)
		socket_path = DOCKER_SOCKET_DEFAULT;
	e = stat(socket_path, &st) ? errno : S_ISSOCK(st.st_mode) ? 0 : ENOTSOCK;
	if (e) {
		set_err(err, errlen, "docker socket %s: %s", socket_path, strerror(e));
		errno = e;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->socket_path = strdup(socket_path)) ||
	    asprintf(&c->describe, "docker-api unix:%s", socket_path) < 0) {
		if (c)
			c->describe = NULL;
		docker_client__free(c);
		set_err(err, errlen, "docker: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void docker_client__free(struct docker_client *c)
{
	if (!c)
		return;
	free(c->socket_path);
	free(c->describe);
	free(c);
}

const char *docker_client__describe(const struct docker_client *c)
{
	return c->describe;
}

struct body {
	char *buf;
	size_t len;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;
	char *nbuf;

	if (b->len + n > RESPONSE_MAX)
		return 0;
	nbuf = realloc(b->buf, b->len + n + 1);
	if (!nbuf)
		return 0;
	memcpy(nbuf + b->len, data, n);
	b->buf = nbuf;
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/*
 * GET http://localhost/<version>/@path over the socket. On HTTP 200 the body
 * is in *@body (caller frees body->buf); otherwise a negative errno with one
 * line in @err naming @what.
 */
static int docker_get(struct docker_client *c, const char *path, const char *what,
		      struct body *body, char *err, size_t errlen)
{
	char errbuf[CURL_ERROR_SIZE] = "", *url = NULL;
	const char *emsg;
	json_t *j, *m;
	long status = 0;
	CURLcode rc;
	CURL *h;
	int ret = 0;

	body->buf = NULL;
	body->len = 0;
	h = curl_easy_init();
	if (!h || asprintf(&url, "http://localhost/%s%s", DOCKER_API_VERSION, path) < 0) {
		curl_easy_cleanup(h);
		set_err(err, errlen, "docker: out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		ret = rc == CURLE_COULDNT_CONNECT      ? -ECONNREFUSED
		      : rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
		      : rc == CURLE_WRITE_ERROR	       ? -EFBIG
		      : rc == CURLE_OUT_OF_MEMORY      ? -ENOMEM
						       : -EIO;
		set_err(err, errlen, "docker %s: %s: %s", c->socket_path, what,
			rc == CURLE_WRITE_ERROR ? "response too large"
			: errbuf[0]		? errbuf
						: curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		ret = status == 404 ? -ENOENT : -EIO;
		/* engine errors are {"message": "..."} */
		j = body->buf ? json_loadb(body->buf, body->len, 0, NULL) : NULL;
		m = json_object_get(j, "message");
		emsg = json_is_string(m) ? json_string_value(m) : NULL;
		if (emsg)
			set_err(err, errlen, "docker %s: %s: HTTP %ld: %s", c->socket_path, what,
				status, emsg);
		else
			set_err(err, errlen, "docker %s: %s: HTTP %ld", c->socket_path, what,
				status);
		json_decref(j);
	}
out:
	if (ret) {
		free(body->buf);
		body->buf = NULL;
		body->len = 0;
	}
	curl_easy_cleanup(h);
	free(url);
	return ret;
}

int docker_client__inspect(struct docker_client *c, const char *id, struct docker_container *out,
			   char *err, size_t errlen)
{
	struct body body;
	char path[ID_MAX + 32], msg[192], what[ID_MAX + 16];
	size_t n = id ? strlen(id) : 0;
	int ret;

	memset(out, 0, sizeof(*out));
	/* ids and names only: nothing that could change the request path */
	if (!n || n > ID_MAX ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n) {
		set_err(err, errlen, "docker: bad container id \"%.*s\"", ID_MAX, id ? id : "");
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "/containers/%s/json", id);
	snprintf(what, sizeof(what), "inspect %s", id);
	ret = docker_get(c, path, what, &body, err, errlen);
	if (ret)
		return ret;
	ret = docker_parse_inspect(body.buf ? body.buf : "", body.len, out, msg, sizeof(msg));
	if (ret)
		set_err(err, errlen, "docker %s: %s: bad response: %s", c->socket_path, what, msg);
	free(body.buf);
	return ret;
}

int docker_client__list_containers(struct docker_client *c, struct docker_container **out,
				   int *count, char *err, size_t errlen)
{
	struct body body;
	char msg[256];
	int ret;

	*out = NULL;
	*count = 0;
	ret = docker_get(c, "/containers/json?all=1", "list containers", &body, err, errlen);
	if (ret)
		return ret;
	ret = docker_parse_list(body.buf ? body.buf : "", body.len, out, count, msg, sizeof(msg));
	if (ret)
		set_err(err, errlen, "docker %s: list containers: bad response: %s", c->socket_path,
			msg);
	else
		pr_debug("docker: %d containers from %s\n", *count, c->socket_path);
	free(body.buf);
	return ret;
}
