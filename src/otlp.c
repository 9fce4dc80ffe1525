// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trace export (see otlp.h): the OTLP/HTTP JSON encoding of podscope's trace
 * records, a bounded exporter that POSTs them from its own thread, and a
 * Jaeger UI upload file.
 *
 * Encoding follows opentelemetry-proto docs/specification.md ("JSON Protobuf
 * Encoding"): the proto3 JSON mapping with lowerCamelCase keys and 64-bit
 * integers as decimal strings, except that traceId/spanId are hex (we write
 * lowercase) instead of base64 and enums are integers. Strings that are not
 * valid UTF-8 (names come from parsed traffic) are repaired with U+FFFD, not
 * dropped, since JSON cannot carry them. Records the receiver would reject
 * (an all-zero trace or span id) are skipped so that one bad record does not
 * cost a whole batch; an end time before the start is clamped to the start.
 *
 * The exporter never does network I/O on the caller's thread: submit copies
 * the trace (only the spans in use, a full trace_rec is ~36 KiB) into a ring
 * under a mutex and returns; the worker posts batches of at most
 * batch_traces, as soon as a batch is full, else once flush_interval_ms
 * has passed since the oldest queued trace arrived (or, for what was left
 * behind by a full batch, since that batch was taken). A batch is retried once, after RETRY_BACKOFF_MS, when
 * the POST could not be made or was answered 429/502/503/504 (the OTLP
 * retryable codes); otherwise, or when the retry fails too, its traces are
 * counted as failed and dropped. No Retry-After, no exponential backoff: a
 * tracer that falls behind loses traces, it does not buffer without bound.
 * The transfer runs on a curl multi handle polled in short steps, so
 * otlp_exporter__free can stop an in-flight POST at its deadline.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "log.h"
#include "otlp.h"

#ifndef PODSCOPE_VERSION
#define PODSCOPE_VERSION "unknown"
#endif

#define SCOPE_NAME		"podscope"
#define UNKNOWN_SERVICE		"unknown_service" /* the semantic conventions' fallback */
#define TRACES_PATH		"/v1/traces"
#define DEFAULT_QUEUE_TRACES	4096
#define DEFAULT_BATCH_TRACES	256
#define DEFAULT_FLUSH_MS	1000
#define DEFAULT_TIMEOUT_MS	5000
#define DEFAULT_JAEGER_TRACES	10000
#define RETRY_BACKOFF_MS	250
#define POLL_STEP_MS		50  /* how late free() may notice its deadline mid-POST */
#define RESPONSE_KEEP		200 /* bytes of a failed response kept for the log */
#define NS_PER_MS		1000000ULL

#define FIELD_SIZE(type, field) sizeof(((type *)0)->field)

/* --- ids and attributes ------------------------------------------------------ */

static bool all_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* Fill @buf from getrandom(); if that fails (no entropy syscall), a
 * clock/pid/counter mix, which is unique enough for ids. Never all zero. */
static void random_id(uint8_t *buf, size_t n)
{
	static uint64_t counter;
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = getrandom(buf + got, n - got, 0);
		if (r > 0) {
			got += r;
		} else if (r < 0 && errno != EINTR) {
			struct timespec ts;
			uint64_t x;
			size_t i;

			clock_gettime(CLOCK_REALTIME, &ts);
			x = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
			x ^= (uint64_t)getpid() << 32 ^
			     __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
			for (i = 0; i < n; i++) { /* splitmix64 */
				uint64_t z;

				x += 0x9e3779b97f4a7c15ULL;
				z = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
				z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
				buf[i] = (uint8_t)(z ^ (z >> 31));
			}
			got = n;
		}
	}
	if (all_zero(buf, n))
		buf[n - 1] = 1;
}

void trace_new_trace_id(uint8_t id[16])
{
	random_id(id, 16);
}

void trace_new_span_id(uint8_t id[8])
{
	random_id(id, 8);
}

/* The next free attribute slot of @s named @key (truncated to fit), or NULL. */
static struct span_attr *attr_slot(struct span_rec *s, const char *key)
{
	struct span_attr *a;

	if (!s || !key || !*key || s->nattrs < 0 || s->nattrs >= SPAN_MAX_ATTRS)
		return NULL;
	a = &s->attrs[s->nattrs++];
	memset(a, 0, sizeof(*a));
	snprintf(a->key, sizeof(a->key), "%s", key);
	return a;
}

void span_attr_str(struct span_rec *s, const char *key, const char *value)
{
	struct span_attr *a = attr_slot(s, key);

	if (!a)
		return;
	a->type = ATTR_STRING;
	snprintf(a->s, sizeof(a->s), "%s", value ? value : "");
}

void span_attr_int(struct span_rec *s, const char *key, int64_t value)
{
	struct span_attr *a = attr_slot(s, key);

	if (!a)
		return;
	a->type = ATTR_INT;
	a->i = value;
}

/* --- trace views ------------------------------------------------------------ */

/*
 * What the encoders read: a trace_rec, or a queued trace_copy that holds
 * only the spans in use. Strings are NUL-terminated within their
 * trace_rec field sizes (encoders never read past those).
 */
struct trace_view {
	const uint8_t *trace_id;
	const char *service_name, *k8s_namespace, *k8s_pod, *k8s_container;
	int nspans;
	const struct span_rec *spans;
};

struct trace_copy {
	uint8_t trace_id[16];
	char service_name[FIELD_SIZE(struct trace_rec, service_name)];
	char k8s_namespace[FIELD_SIZE(struct trace_rec, k8s_namespace)];
	char k8s_pod[FIELD_SIZE(struct trace_rec, k8s_pod)];
	char k8s_container[FIELD_SIZE(struct trace_rec, k8s_container)];
	int nspans;
	struct span_rec spans[];
};

static int clamp_nspans(int n)
{
	return n < 0 ? 0 : n > TRACE_MAX_SPANS ? TRACE_MAX_SPANS : n;
}

/* A heap copy of @t with its spans in use; NULL on ENOMEM. */
static struct trace_copy *trace_copy_new(const struct trace_rec *t)
{
	int n = clamp_nspans(t->nspans);
	struct trace_copy *c = malloc(sizeof(*c) + n * sizeof(struct span_rec));

	if (!c)
		return NULL;
	memcpy(c->trace_id, t->trace_id, sizeof(c->trace_id));
	memcpy(c->service_name, t->service_name, sizeof(c->service_name));
	memcpy(c->k8s_namespace, t->k8s_namespace, sizeof(c->k8s_namespace));
	memcpy(c->k8s_pod, t->k8s_pod, sizeof(c->k8s_pod));
	memcpy(c->k8s_container, t->k8s_container, sizeof(c->k8s_container));
	c->nspans = n;
	memcpy(c->spans, t->spans, n * sizeof(struct span_rec));
	return c;
}

static struct trace_view view_of_rec(const struct trace_rec *t)
{
	return (struct trace_view){
		.trace_id = t->trace_id,
		.service_name = t->service_name,
		.k8s_namespace = t->k8s_namespace,
		.k8s_pod = t->k8s_pod,
		.k8s_container = t->k8s_container,
		.nspans = clamp_nspans(t->nspans),
		.spans = t->spans,
	};
}

static struct trace_view view_of_copy(const struct trace_copy *c)
{
	return (struct trace_view){
		.trace_id = c->trace_id,
		.service_name = c->service_name,
		.k8s_namespace = c->k8s_namespace,
		.k8s_pod = c->k8s_pod,
		.k8s_container = c->k8s_container,
		.nspans = c->nspans,
		.spans = c->spans,
	};
}

static bool same_str(const char *a, const char *b, size_t max)
{
	return strncmp(a, b, max) == 0;
}

static bool same_resource(const struct trace_view *a, const struct trace_view *b)
{
	return same_str(a->service_name, b->service_name,
			FIELD_SIZE(struct trace_rec, service_name)) &&
	       same_str(a->k8s_namespace, b->k8s_namespace,
			FIELD_SIZE(struct trace_rec, k8s_namespace)) &&
	       same_str(a->k8s_pod, b->k8s_pod, FIELD_SIZE(struct trace_rec, k8s_pod)) &&
	       same_str(a->k8s_container, b->k8s_container,
			FIELD_SIZE(struct trace_rec, k8s_container));
}

static bool span_valid(const struct span_rec *s)
{
	return !all_zero(s->span_id, sizeof(s->span_id));
}

/* Spans of @v that will be encoded (0: the trace is skipped). */
static int valid_spans(const struct trace_view *v)
{
	int i, n = 0;

	if (all_zero(v->trace_id, 16))
		return 0;
	for (i = 0; i < v->nspans; i++)
		n += span_valid(&v->spans[i]);
	return n;
}

/* --- JSON building blocks ----------------------------------------------------- */

/*
 * Building a document is a long run of jansson calls, any of which can fail
 * on ENOMEM. Instead of checking each, the helpers below record the first
 * failure in *ok (consuming the new reference either way) and the builder
 * checks once at the end.
 */
static void set(json_t *obj, const char *key, json_t *val, bool *ok)
{
	if (!obj || !val || json_object_set_new(obj, key, val)) {
		json_decref(val);
		*ok = false;
	}
}

static void append(json_t *arr, json_t *val, bool *ok)
{
	if (!arr || !val || json_array_append_new(arr, val)) {
		json_decref(val);
		*ok = false;
	}
}

/* Length of the valid UTF-8 sequence at @p (at most @left bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (n > left)
		return 0;
	/* second-byte ranges exclude overlongs, surrogates and > U+10FFFF */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* A JSON string of @s (up to its NUL or @max bytes); each byte of invalid
 * UTF-8 becomes U+FFFD. NULL on ENOMEM. */
static json_t *jstr(const char *s, size_t max)
{
	size_t len = strnlen(s, max), i = 0, o = 0, k;
	const unsigned char *u = (const unsigned char *)s;
	json_t *j = json_stringn(s, len);
	char *buf;

	if (j)
		return j;
	buf = malloc(len * 3 + 1); /* each bad byte becomes 3 bytes */
	if (!buf)
		return NULL;
	while (i < len) {
		k = utf8_seq(u + i, len - i);
		if (k) {
			memcpy(buf + o, s + i, k);
			o += k;
			i += k;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	j = json_stringn(buf, o);
	free(buf);
	return j;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static json_t *jhex(const uint8_t *b, size_t n)
{
	char buf[2 * 16 + 1];

	hex(buf, b, n);
	return json_string(buf);
}

/* A 64-bit integer as the decimal string the proto3 JSON mapping asks for. */
static json_t *ju64_str(uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

static json_t *ji64_str(int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return json_string(buf);
}

/* proto3 JSON: non-finite doubles are the strings "NaN", "Infinity", "-Infinity". */
static json_t *jdouble(double d)
{
	if (isnan(d))
		return json_string("NaN");
	if (isinf(d))
		return json_string(d > 0 ? "Infinity" : "-Infinity");
	return json_real(d);
}

static const char *service_of(const struct trace_view *v)
{
	return *v->service_name ? v->service_name : UNKNOWN_SERVICE;
}

/* --- OTLP JSON ------------------------------------------------------------------ */

static void otlp_attr_str(json_t *arr, const char *key, const char *value, size_t max, bool *ok)
{
	json_t *kv = json_object(), *val = json_object();

	set(kv, "key", json_string(key), ok);
	set(val, "stringValue", jstr(value, max), ok);
	set(kv, "value", val, ok);
	append(arr, kv, ok);
}

static void otlp_span_attrs(json_t *arr, const struct span_rec *s, bool *ok)
{
	int i, n = s->nattrs < 0 ? 0 : s->nattrs > SPAN_MAX_ATTRS ? SPAN_MAX_ATTRS : s->nattrs;

	for (i = 0; i < n; i++) {
		const struct span_attr *a = &s->attrs[i];
		json_t *kv, *val;

		if (!a->key[0])
			continue;
		kv = json_object();
		val = json_object();
		set(kv, "key", jstr(a->key, sizeof(a->key)), ok);
		switch (a->type) {
		case ATTR_STRING:
			set(val, "stringValue", jstr(a->s, sizeof(a->s)), ok);
			break;
		case ATTR_INT:
			set(val, "intValue", ji64_str(a->i), ok);
			break;
		case ATTR_DOUBLE:
			set(val, "doubleValue", jdouble(a->d), ok);
			break;
		case ATTR_BOOL:
			set(val, "boolValue", json_boolean(a->b), ok);
			break;
		default: /* not a type we know: leave the attribute out */
			json_decref(kv);
			json_decref(val);
			continue;
		}
		set(kv, "value", val, ok);
		append(arr, kv, ok);
	}
}

static json_t *otlp_span(const struct trace_view *v, const struct span_rec *s, bool *ok)
{
	json_t *o = json_object(), *attrs = json_array(), *status = json_object();
	uint64_t end = s->end_unix_ns < s->start_unix_ns ? s->start_unix_ns : s->end_unix_ns;
	int kind = s->kind >= SPAN_KIND_UNSPECIFIED && s->kind <= SPAN_KIND_CONSUMER ? (int)s->kind
										     : 0;
	int code = s->status >= SPAN_STATUS_UNSET && s->status <= SPAN_STATUS_ERROR ? (int)s->status
										    : 0;

	set(o, "traceId", jhex(v->trace_id, 16), ok);
	set(o, "spanId", jhex(s->span_id, 8), ok);
	if (!all_zero(s->parent_span_id, 8))
		set(o, "parentSpanId", jhex(s->parent_span_id, 8), ok);
	set(o, "name", jstr(s->name, sizeof(s->name)), ok);
	set(o, "kind", json_integer(kind), ok);
	set(o, "startTimeUnixNano", ju64_str(s->start_unix_ns), ok);
	set(o, "endTimeUnixNano", ju64_str(end), ok);
	otlp_span_attrs(attrs, s, ok);
	set(o, "attributes", attrs, ok);
	set(status, "code", json_integer(code), ok);
	set(o, "status", status, ok);
	return o;
}

/* ResourceSpans for @v's resource, with an empty span list returned in *spans (borrowed). */
static json_t *otlp_resource_spans(const struct trace_view *v, json_t **spans, bool *ok)
{
	json_t *rs = json_object(), *res = json_object(), *attrs = json_array();
	json_t *scope_spans = json_array(), *ss = json_object(), *scope = json_object();

	otlp_attr_str(attrs, "service.name", service_of(v),
		      FIELD_SIZE(struct trace_rec, service_name), ok);
	if (*v->k8s_namespace)
		otlp_attr_str(attrs, "k8s.namespace.name", v->k8s_namespace,
			      FIELD_SIZE(struct trace_rec, k8s_namespace), ok);
	if (*v->k8s_pod)
		otlp_attr_str(attrs, "k8s.pod.name", v->k8s_pod,
			      FIELD_SIZE(struct trace_rec, k8s_pod), ok);
	if (*v->k8s_container)
		otlp_attr_str(attrs, "k8s.container.name", v->k8s_container,
			      FIELD_SIZE(struct trace_rec, k8s_container), ok);
	set(res, "attributes", attrs, ok);
	set(rs, "resource", res, ok);
	set(scope, "name", json_string(SCOPE_NAME), ok);
	set(scope, "version", json_string(PODSCOPE_VERSION), ok);
	set(ss, "scope", scope, ok);
	*spans = json_array();
	set(ss, "spans", *spans, ok);
	if (!*ok)
		*spans = NULL;
	append(scope_spans, ss, ok);
	set(rs, "scopeSpans", scope_spans, ok);
	return rs;
}

/* ExportTraceServiceRequest for @n views; NULL on ENOMEM. */
static json_t *otlp_json_views(const struct trace_view *v, size_t n)
{
	/* group i: the first trace of a resource and that resource's span list */
	struct group {
		const struct trace_view *first;
		json_t *spans;
	} *groups = calloc(n ? n : 1, sizeof(*groups));
	json_t *root = json_object(), *all = json_array();
	size_t i, g, ngroups = 0;
	bool ok = groups != NULL;
	int j;

	set(root, "resourceSpans", all, &ok);
	for (i = 0; ok && i < n; i++) {
		if (!valid_spans(&v[i]))
			continue;
		for (g = 0; g < ngroups; g++)
			if (same_resource(groups[g].first, &v[i]))
				break;
		if (g == ngroups) {
			groups[g].first = &v[i];
			append(all, otlp_resource_spans(&v[i], &groups[g].spans, &ok), &ok);
			ngroups++;
		}
		for (j = 0; ok && j < v[i].nspans; j++)
			if (span_valid(&v[i].spans[j]))
				append(groups[g].spans, otlp_span(&v[i], &v[i].spans[j], &ok), &ok);
	}
	free(groups);
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

json_t *otlp_traces_json(const struct trace_rec *traces, size_t n)
{
	struct trace_view *v = calloc(n ? n : 1, sizeof(*v));
	json_t *root;
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[i] = view_of_rec(&traces[i]);
	root = otlp_json_views(v, n);
	free(v);
	return root;
}

/* --- the exporter ---------------------------------------------------------------- */

struct otlp_exporter {
	char *url;
	struct otlp_exporter_opts opts; /* defaults filled in */
	pthread_t worker;

	pthread_mutex_t mu;  /* guards everything below up to the curl handles */
	pthread_cond_t wake; /* to the worker: work queued, or stop */
	struct trace_copy **ring;
	size_t head, count;
	uint64_t oldest_ns; /* CLOCK_MONOTONIC: when the oldest queued trace arrived */
	struct otlp_exporter_stats stats;
	bool stopping;
	uint64_t stop_deadline_ns;

	/* worker only */
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	struct trace_copy **batch;
	struct trace_view *views;
	bool failing; /* the last batch failed: log outages once, not per batch */
	char errbuf[CURL_ERROR_SIZE];
	char response[RESPONSE_KEEP + 1];
	size_t response_len;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* libcurl's global state, once per process and never cleaned up (other
 * modules use libcurl too, and curl_global_cleanup is not thread-safe). */
static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * The POST URL for @endpoint: http(s)://host[:port][/path], with /v1/traces
 * appended to the path unless it already ends with it (a query string is
 * kept). Malloc'd; NULL with errno EINVAL (logged) or ENOMEM.
 */
static char *traces_url(const char *endpoint)
{
	CURLU *u = curl_url();
	char *host = NULL, *path = NULL, *url = NULL, *newpath = NULL;
	int err = EINVAL;

	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	if (!endpoint ||
	    (strncasecmp(endpoint, "http://", 7) && strncasecmp(endpoint, "https://", 8))) {
		pr_error("otlp: endpoint '%s': not an http:// or https:// URL\n",
			 endpoint ? endpoint : "(null)");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, endpoint, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) || !*host) {
		pr_error("otlp: endpoint '%s': not a valid URL\n", endpoint);
		goto out;
	}
	err = ENOMEM;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0))
		goto out;
	if (!ends_with(path, TRACES_PATH)) {
		size_t n = strlen(path);

		if (asprintf(&newpath, "%.*s%s", (int)(n && path[n - 1] == '/' ? n - 1 : n), path,
			     TRACES_PATH) < 0) {
			newpath = NULL;
			goto out;
		}
		if (curl_url_set(u, CURLUPART_PATH, newpath, 0))
			goto out;
	}
	if (curl_url_get(u, CURLUPART_URL, &url, 0))
		goto out;
	err = 0;
out:
	curl_free(host);
	curl_free(path);
	free(newpath);
	curl_url_cleanup(u);
	if (err) {
		curl_free(url);
		errno = err;
		return NULL;
	}
	/* curl_free'd strings and malloc'd ones must not mix: hand back a malloc copy */
	newpath = strdup(url);
	curl_free(url);
	if (!newpath)
		errno = ENOMEM;
	return newpath;
}

static size_t keep_response(char *data, size_t size, size_t nmemb, void *arg)
{
	struct otlp_exporter *ex = arg;
	size_t n = size * nmemb, room = RESPONSE_KEEP - ex->response_len;

	if (room) {
		memcpy(ex->response + ex->response_len, data, n < room ? n : room);
		ex->response_len += n < room ? n : room;
		ex->response[ex->response_len] = '\0';
	}
	return n;
}

/* The stop deadline when otlp_exporter__free is waiting, else 0. */
static uint64_t stop_deadline(struct otlp_exporter *ex)
{
	uint64_t d;

	pthread_mutex_lock(&ex->mu);
	d = ex->stopping ? ex->stop_deadline_ns : 0;
	pthread_mutex_unlock(&ex->mu);
	return d;
}

enum post_result {
	POST_OK,
	POST_RETRYABLE, /* no answer, or 429/502/503/504 */
	POST_FAILED,	/* answered otherwise, or out of time */
};

/*
 * One POST of @body; the transfer is bounded by opts.timeout_ms and by the
 * stop deadline. Counts the attempt in stats.posts. @what gets a short
 * reason when the result is not POST_OK.
 */
static enum post_result post(struct otlp_exporter *ex, const char *body, size_t len, char *what,
			     size_t whatlen)
{
	uint64_t deadline = stop_deadline(ex), now = mono_ns();
	long timeout_ms = ex->opts.timeout_ms, code = 0;
	CURLcode rc = CURLE_OK;
	struct CURLMsg *msg;
	bool aborted = false;
	int running = 1, q;

	if (deadline) {
		if (now >= deadline) {
			snprintf(what, whatlen, "out of time at shutdown");
			return POST_FAILED;
		}
		if ((deadline - now) / NS_PER_MS < (uint64_t)timeout_ms)
			timeout_ms = (deadline - now) / NS_PER_MS + 1;
	}
	ex->errbuf[0] = '\0';
	ex->response_len = 0;
	ex->response[0] = '\0';
	curl_easy_setopt(ex->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(ex->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(ex->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(ex->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	pthread_mutex_lock(&ex->mu);
	ex->stats.posts++;
	pthread_mutex_unlock(&ex->mu);

	if (curl_multi_add_handle(ex->multi, ex->easy)) {
		snprintf(what, whatlen, "curl_multi_add_handle failed");
		return POST_FAILED;
	}
	while (running) {
		if (curl_multi_perform(ex->multi, &running) != CURLM_OK)
			break;
		if (!running)
			break;
		deadline = stop_deadline(ex);
		if (deadline && mono_ns() >= deadline) {
			aborted = true;
			break;
		}
		if (curl_multi_poll(ex->multi, NULL, 0, POLL_STEP_MS, NULL) != CURLM_OK)
			break;
	}
	rc = CURLE_FAILED_INIT;
	while ((msg = curl_multi_info_read(ex->multi, &q)))
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	curl_multi_remove_handle(ex->multi, ex->easy);

	if (aborted) {
		snprintf(what, whatlen, "aborted at shutdown");
		return POST_FAILED;
	}
	if (rc != CURLE_OK) {
		snprintf(what, whatlen, "%s", ex->errbuf[0] ? ex->errbuf : curl_easy_strerror(rc));
		return POST_RETRYABLE;
	}
	curl_easy_getinfo(ex->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return POST_OK;
	snprintf(what, whatlen, "HTTP %ld %s", code, ex->response);
	if (code == 429 || code == 502 || code == 503 || code == 504)
		return POST_RETRYABLE;
	return POST_FAILED;
}

/* Sleep @ms on the multi handle, so that free() can cut it short. */
static void backoff(struct otlp_exporter *ex, unsigned ms)
{
	uint64_t until = mono_ns() + ms * NS_PER_MS, now, deadline;

	while ((now = mono_ns()) < until) {
		deadline = stop_deadline(ex);
		if (deadline && now >= deadline)
			return;
		curl_multi_poll(ex->multi, NULL, 0, (int)((until - now) / NS_PER_MS) + 1, NULL);
	}
}

/* Encode and POST @n queued traces (at most one retry); true when answered 2xx. */
static bool export_batch(struct otlp_exporter *ex, struct trace_copy **batch, size_t n)
{
	char what[RESPONSE_KEEP + 64] = "";
	enum post_result r = POST_FAILED;
	json_t *doc;
	char *body;
	size_t i;
	int attempt;

	for (i = 0; i < n; i++)
		ex->views[i] = view_of_copy(batch[i]);
	doc = otlp_json_views(ex->views, n);
	body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!body) {
		snprintf(what, sizeof(what), "encoding: out of memory");
	} else {
		for (attempt = 0; attempt < 2; attempt++) {
			if (attempt)
				backoff(ex, RETRY_BACKOFF_MS);
			r = post(ex, body, strlen(body), what, sizeof(what));
			if (r != POST_RETRYABLE)
				break;
		}
	}
	free(body);
	if (r == POST_OK) {
		if (ex->failing)
			pr_info("otlp: %s: export works again\n", ex->url);
		ex->failing = false;
		return true;
	}
	if (!ex->failing)
		pr_warn("otlp: POST %s: %s; dropping %zu traces (and logging further failures only "
			"with -v)\n",
			ex->url, what, n);
	else
		pr_debug("otlp: POST %s: %s; dropping %zu traces\n", ex->url, what, n);
	ex->failing = true;
	return false;
}

/* Move up to batch_traces queued traces into ex->batch; called locked. */
static size_t take_batch(struct otlp_exporter *ex)
{
	size_t n = ex->count < ex->opts.batch_traces ? ex->count : ex->opts.batch_traces, i;
	size_t cap = ex->opts.queue_traces;

	for (i = 0; i < n; i++) {
		ex->batch[i] = ex->ring[ex->head];
		ex->ring[ex->head] = NULL;
		ex->head = (ex->head + 1) % cap;
	}
	ex->count -= n;
	return n;
}

static void timed_wait(struct otlp_exporter *ex, uint64_t until_ns)
{
	struct timespec ts = {.tv_sec = until_ns / 1000000000ULL,
			      .tv_nsec = until_ns % 1000000000ULL};

	pthread_cond_timedwait(&ex->wake, &ex->mu, &ts);
}

/*
 * The worker: wait until a batch is full, the oldest trace has waited
 * flush_interval_ms, or free() asks to stop; then post. When stopping, it
 * drains the queue until the deadline and discards what is left then.
 */
static void *worker_main(void *arg)
{
	struct otlp_exporter *ex = arg;
	uint64_t interval_ns = ex->opts.flush_interval_ms * NS_PER_MS, now;
	size_t n, i;
	bool ok;

	pthread_mutex_lock(&ex->mu);
	for (;;) {
		while (!ex->stopping && ex->count < ex->opts.batch_traces) {
			if (!ex->count) {
				pthread_cond_wait(&ex->wake, &ex->mu);
				continue;
			}
			if (mono_ns() >= ex->oldest_ns + interval_ns)
				break;
			timed_wait(ex, ex->oldest_ns + interval_ns);
		}
		if (!ex->count)
			break; /* stopping, and all sent */
		now = mono_ns();
		if (ex->stopping && now >= ex->stop_deadline_ns) {
			pr_warn("otlp: %zu traces not sent: out of time at shutdown\n", ex->count);
			while (ex->count) {
				n = take_batch(ex);
				for (i = 0; i < n; i++)
					free(ex->batch[i]);
				ex->stats.failed += n;
			}
			break;
		}
		n = take_batch(ex);
		if (ex->count)
			ex->oldest_ns = now;
		pthread_mutex_unlock(&ex->mu);

		ok = export_batch(ex, ex->batch, n);
		for (i = 0; i < n; i++)
			free(ex->batch[i]);

		pthread_mutex_lock(&ex->mu);
		if (ok)
			ex->stats.sent += n;
		else
			ex->stats.failed += n;
	}
	pthread_mutex_unlock(&ex->mu);
	return NULL;
}

static void exporter_destroy(struct otlp_exporter *ex)
{
	size_t i;

	if (ex->ring)
		for (i = 0; i < ex->opts.queue_traces; i++)
			free(ex->ring[i]);
	free(ex->ring);
	free(ex->batch);
	free(ex->views);
	if (ex->easy)
		curl_easy_cleanup(ex->easy);
	if (ex->multi)
		curl_multi_cleanup(ex->multi);
	curl_slist_free_all(ex->headers);
	free(ex->url);
	free(ex);
}

/*
 * Defaults for zero options are in otlp.h. The worker runs with all signals
 * blocked, so the process's signal handling stays on the caller's threads.
 */
struct otlp_exporter *otlp_exporter__new(const char *endpoint,
					 const struct otlp_exporter_opts *opts)
{
	struct otlp_exporter *ex;
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		pr_error("otlp: libcurl initialisation failed: %s\n",
			 curl_easy_strerror(curl_init_rc));
		errno = EIO;
		return NULL;
	}
	ex = calloc(1, sizeof(*ex));
	if (!ex) {
		errno = ENOMEM;
		return NULL;
	}
	if (opts)
		ex->opts = *opts;
	if (!ex->opts.queue_traces)
		ex->opts.queue_traces = DEFAULT_QUEUE_TRACES;
	if (!ex->opts.batch_traces)
		ex->opts.batch_traces = DEFAULT_BATCH_TRACES;
	if (!ex->opts.flush_interval_ms)
		ex->opts.flush_interval_ms = DEFAULT_FLUSH_MS;
	if (!ex->opts.timeout_ms)
		ex->opts.timeout_ms = DEFAULT_TIMEOUT_MS;

	ex->url = traces_url(endpoint);
	if (!ex->url) {
		err = errno;
		goto fail;
	}
	err = ENOMEM;
	ex->ring = calloc(ex->opts.queue_traces, sizeof(*ex->ring));
	ex->batch = calloc(ex->opts.batch_traces, sizeof(*ex->batch));
	ex->views = calloc(ex->opts.batch_traces, sizeof(*ex->views));
	ex->multi = curl_multi_init();
	ex->easy = curl_easy_init();
	ex->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (ex->headers) /* no "Expect: 100-continue" round trip on large bodies */
		ex->headers = curl_slist_append(ex->headers, "Expect:");
	if (!ex->ring || !ex->batch || !ex->views || !ex->multi || !ex->easy || !ex->headers)
		goto fail;
	curl_easy_setopt(ex->easy, CURLOPT_URL, ex->url);
	curl_easy_setopt(ex->easy, CURLOPT_HTTPHEADER, ex->headers);
	curl_easy_setopt(ex->easy, CURLOPT_USERAGENT, "podscope/" PODSCOPE_VERSION);
	curl_easy_setopt(ex->easy, CURLOPT_ERRORBUFFER, ex->errbuf);
	curl_easy_setopt(ex->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(ex->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(ex->easy, CURLOPT_WRITEFUNCTION, keep_response);
	curl_easy_setopt(ex->easy, CURLOPT_WRITEDATA, ex);

	pthread_mutex_init(&ex->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ex->wake, &ca);
	pthread_condattr_destroy(&ca);

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&ex->worker, NULL, worker_main, ex);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pr_error("otlp: cannot start the exporter thread: %s\n", strerror(err));
		pthread_cond_destroy(&ex->wake);
		pthread_mutex_destroy(&ex->mu);
		goto fail;
	}
	pr_info("otlp: exporting traces to %s (queue %zu, batch %zu, flush %u ms)\n", ex->url,
		ex->opts.queue_traces, ex->opts.batch_traces, ex->opts.flush_interval_ms);
	return ex;
fail:
	exporter_destroy(ex);
	errno = err;
	return NULL;
}

/* -ENOMEM (also counted in dropped) when the copy cannot be allocated. */
int otlp_exporter__submit(struct otlp_exporter *ex, const struct trace_rec *t)
{
	struct trace_copy *c = trace_copy_new(t);
	size_t cap = ex->opts.queue_traces;
	int ret = 0;

	pthread_mutex_lock(&ex->mu);
	if (!c || ex->count == cap || ex->stopping) {
		ex->stats.dropped++;
		ret = c ? -ENOSPC : -ENOMEM;
	} else {
		ex->ring[(ex->head + ex->count) % cap] = c;
		c = NULL;
		if (!ex->count++)
			ex->oldest_ns = mono_ns();
		ex->stats.queued++;
		if (ex->count == 1 || ex->count == ex->opts.batch_traces)
			pthread_cond_signal(&ex->wake);
	}
	pthread_mutex_unlock(&ex->mu);
	free(c);
	return ret;
}

void otlp_exporter__stats(struct otlp_exporter *ex, struct otlp_exporter_stats *out)
{
	pthread_mutex_lock(&ex->mu);
	*out = ex->stats;
	pthread_mutex_unlock(&ex->mu);
}

/* What is still queued at the deadline is counted as failed and logged. */
void otlp_exporter__free(struct otlp_exporter *ex, unsigned timeout_ms)
{
	otlp_exporter__finish(ex, timeout_ms, NULL);
}

void otlp_exporter__finish(struct otlp_exporter *ex, unsigned timeout_ms,
			   struct otlp_exporter_stats *final)
{
	if (!ex)
		return;
	pthread_mutex_lock(&ex->mu);
	ex->stopping = true;
	ex->stop_deadline_ns = mono_ns() + timeout_ms * NS_PER_MS;
	pthread_cond_signal(&ex->wake);
	pthread_mutex_unlock(&ex->mu);
	curl_multi_wakeup(ex->multi);
	pthread_join(ex->worker, NULL);
	if (final)
		otlp_exporter__stats(ex, final);
	pthread_cond_destroy(&ex->wake);
	pthread_mutex_destroy(&ex->mu);
	exporter_destroy(ex);
}

/* --- Jaeger UI file -------------------------------------------------------------- */

struct jaeger_file {
	char *path;
	size_t max_traces, ntraces;
	uint64_t dropped;
	struct trace_copy **traces;
};

static void jaeger_tag(json_t *tags, const char *key, const char *type, json_t *value, bool *ok)
{
	json_t *t = json_object();

	set(t, "key", json_string(key), ok);
	set(t, "type", json_string(type), ok);
	set(t, "value", value, ok);
	append(tags, t, ok);
}

static json_t *jaeger_span_tags(const struct span_rec *s, bool *ok)
{
	static const char *const kinds[] = {
		[SPAN_KIND_INTERNAL] = "internal", [SPAN_KIND_SERVER] = "server",
		[SPAN_KIND_CLIENT] = "client",	   [SPAN_KIND_PRODUCER] = "producer",
		[SPAN_KIND_CONSUMER] = "consumer",
	};
	json_t *tags = json_array();
	int i, n = s->nattrs < 0 ? 0 : s->nattrs > SPAN_MAX_ATTRS ? SPAN_MAX_ATTRS : s->nattrs;

	for (i = 0; i < n; i++) {
		const struct span_attr *a = &s->attrs[i];
		json_t *key;

		if (!a->key[0])
			continue;
		key = jstr(a->key, sizeof(a->key));
		if (!key) {
			*ok = false;
			continue;
		}
		switch (a->type) {
		case ATTR_STRING:
			jaeger_tag(tags, json_string_value(key), "string", jstr(a->s, sizeof(a->s)),
				   ok);
			break;
		case ATTR_INT:
			jaeger_tag(tags, json_string_value(key), "int64", json_integer(a->i), ok);
			break;
		case ATTR_DOUBLE: /* JSON has no NaN or Infinity: those become strings */
			jaeger_tag(tags, json_string_value(key),
				   isfinite(a->d) ? "float64" : "string", jdouble(a->d), ok);
			break;
		case ATTR_BOOL:
			jaeger_tag(tags, json_string_value(key), "bool", json_boolean(a->b), ok);
			break;
		default:
			break;
		}
		json_decref(key);
	}
	/* what Jaeger's own OTLP translation adds */
	if (s->kind > SPAN_KIND_UNSPECIFIED && s->kind <= SPAN_KIND_CONSUMER)
		jaeger_tag(tags, "span.kind", "string", json_string(kinds[s->kind]), ok);
	if (s->status == SPAN_STATUS_OK)
		jaeger_tag(tags, "otel.status_code", "string", json_string("OK"), ok);
	if (s->status == SPAN_STATUS_ERROR) {
		jaeger_tag(tags, "otel.status_code", "string", json_string("ERROR"), ok);
		jaeger_tag(tags, "error", "bool", json_true(), ok);
	}
	return tags;
}

static json_t *jaeger_span(const struct trace_view *v, const struct span_rec *s, bool *ok)
{
	json_t *o = json_object(), *refs = json_array();
	uint64_t end = s->end_unix_ns < s->start_unix_ns ? s->start_unix_ns : s->end_unix_ns;

	set(o, "traceID", jhex(v->trace_id, 16), ok);
	set(o, "spanID", jhex(s->span_id, 8), ok);
	set(o, "flags", json_integer(1), ok); /* sampled */
	set(o, "operationName", jstr(s->name, sizeof(s->name)), ok);
	if (!all_zero(s->parent_span_id, 8)) {
		json_t *ref = json_object();

		set(ref, "refType", json_string("CHILD_OF"), ok);
		set(ref, "traceID", jhex(v->trace_id, 16), ok);
		set(ref, "spanID", jhex(s->parent_span_id, 8), ok);
		append(refs, ref, ok);
	}
	set(o, "references", refs, ok);
	set(o, "startTime", json_integer((json_int_t)(s->start_unix_ns / 1000)), ok);
	set(o, "duration", json_integer((json_int_t)((end - s->start_unix_ns) / 1000)), ok);
	set(o, "tags", jaeger_span_tags(s, ok), ok);
	set(o, "logs", json_array(), ok);
	set(o, "processID", json_string("p1"), ok);
	set(o, "warnings", json_null(), ok);
	return o;
}

/* One element of "data": the trace, its spans and its one process "p1". */
static json_t *jaeger_trace(const struct trace_view *v, bool *ok)
{
	json_t *o = json_object(), *spans = json_array(), *procs = json_object();
	json_t *p1 = json_object(), *tags = json_array();
	int i;

	set(o, "traceID", jhex(v->trace_id, 16), ok);
	for (i = 0; i < v->nspans; i++)
		if (span_valid(&v->spans[i]))
			append(spans, jaeger_span(v, &v->spans[i], ok), ok);
	set(o, "spans", spans, ok);
	set(p1, "serviceName", jstr(service_of(v), FIELD_SIZE(struct trace_rec, service_name)), ok);
	if (*v->k8s_namespace)
		jaeger_tag(tags, "k8s.namespace.name", "string",
			   jstr(v->k8s_namespace, FIELD_SIZE(struct trace_rec, k8s_namespace)), ok);
	if (*v->k8s_pod)
		jaeger_tag(tags, "k8s.pod.name", "string",
			   jstr(v->k8s_pod, FIELD_SIZE(struct trace_rec, k8s_pod)), ok);
	if (*v->k8s_container)
		jaeger_tag(tags, "k8s.container.name", "string",
			   jstr(v->k8s_container, FIELD_SIZE(struct trace_rec, k8s_container)), ok);
	set(p1, "tags", tags, ok);
	set(procs, "p1", p1, ok);
	set(o, "processes", procs, ok);
	set(o, "warnings", json_null(), ok);
	return o;
}

/*
 * @max_traces: 0 means 10000. Fails early (NULL, errno set, logged) when
 * the directory of @path is not writable, rather than at close.
 */
struct jaeger_file *jaeger_file__open(const char *path, size_t max_traces)
{
	struct jaeger_file *jf;
	char *dir, *slash;
	int err;

	if (!path || !*path) {
		errno = EINVAL;
		return NULL;
	}
	dir = strdup(path);
	if (!dir)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	err = access(slash ? dir : ".", W_OK) ? errno : 0;
	free(dir);
	if (err) {
		pr_error("jaeger: cannot write %s: %s\n", path, strerror(err));
		errno = err;
		return NULL;
	}
	jf = calloc(1, sizeof(*jf));
	if (!jf)
		return NULL;
	jf->max_traces = max_traces ? max_traces : DEFAULT_JAEGER_TRACES;
	jf->path = strdup(path);
	jf->traces = calloc(jf->max_traces, sizeof(*jf->traces));
	if (!jf->path || !jf->traces) {
		free(jf->path);
		free(jf->traces);
		free(jf);
		errno = ENOMEM;
		return NULL;
	}
	return jf;
}

/* Not thread-safe: one writer. -ENOMEM (counted in *dropped too) when out of memory. */
int jaeger_file__add(struct jaeger_file *jf, const struct trace_rec *t)
{
	struct trace_copy *c;

	if (jf->ntraces >= jf->max_traces) {
		jf->dropped++;
		return -ENOSPC;
	}
	c = trace_copy_new(t);
	if (!c) {
		jf->dropped++;
		return -ENOMEM;
	}
	jf->traces[jf->ntraces++] = c;
	return 0;
}

static int jaeger_write(const struct jaeger_file *jf)
{
	json_t *root = json_object(), *data = json_array();
	char *tmp = NULL;
	bool ok = true;
	size_t i;
	int fd = -1, err = 0;

	set(root, "data", data, &ok);
	for (i = 0; ok && i < jf->ntraces; i++) {
		struct trace_view v = view_of_copy(jf->traces[i]);

		if (valid_spans(&v))
			append(data, jaeger_trace(&v, &ok), &ok);
	}
	if (!ok || asprintf(&tmp, "%s.tmp.XXXXXX", jf->path) < 0) {
		tmp = NULL;
		err = ENOMEM;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	errno = 0;
	if (json_dumpfd(root, fd, JSON_COMPACT) || write(fd, "\n", 1) != 1) {
		err = errno ? errno : EIO;
		goto out;
	}
	if (fchmod(fd, 0644) || fsync(fd)) {
		err = errno;
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		err = errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, jf->path))
		err = errno;
out:
	if (fd >= 0)
		close(fd);
	if (err && tmp)
		unlink(tmp);
	if (err)
		pr_error("jaeger: writing %s: %s\n", jf->path, strerror(err));
	free(tmp);
	json_decref(root);
	return -err;
}

int jaeger_file__close(struct jaeger_file *jf, uint64_t *dropped)
{
	size_t i;
	int ret;

	if (!jf)
		return 0;
	ret = jaeger_write(jf);
	if (dropped)
		*dropped = jf->dropped;
	if (jf->dropped)
		pr_warn("jaeger: %s: %" PRIu64 " traces dropped (limit %zu)\n", jf->path,
			jf->dropped, jf->max_traces);
	for (i = 0; i < jf->ntraces; i++)
		free(jf->traces[i]);
	free(jf->traces);
	free(jf->path);
	free(jf);
	return ret;
}
