// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for trace export (src/otlp.c): random ids, attribute bounds,
 * the OTLP/HTTP JSON shape of a 3-span trace field by field (hex ids of the
 * right length, parentSpanId only on children, 64-bit values as decimal
 * strings, enums as integers, typed attributes, nothing else), grouping of
 * traces by resource, repair of records a receiver would reject, the Jaeger
 * upload file read back with jansson, its bound, and the exporter's URL
 * validation, failure accounting, queue bound and bounded shutdown against
 * loopback sockets that refuse or never answer (no HTTP server needed).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "otlp.h"

static const uint8_t TRACE_ID[16] = {0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89,
				     0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78};
#define TRACE_HEX "abcdef01234567890abcdef012345678"
#define ROOT_HEX  "a1a2a3a4a5a6a7a8"
#define MID_HEX	  "b1b2b3b4b5b6b7b8"
#define LEAF_HEX  "c1c2c3c4c5c6c7c8"
#define T0	  1700000000123456789ULL

static void set_id(uint8_t id[8], uint8_t hi)
{
	int i;

	for (i = 0; i < 8; i++)
		id[i] = hi | (i + 1);
}

/* root (server) -> mid (client) -> leaf (internal, error); attributes of every type */
static void three_spans(struct trace_rec *t)
{
	struct span_rec *s;

	memset(t, 0, sizeof(*t));
	memcpy(t->trace_id, TRACE_ID, 16);
	strcpy(t->service_name, "reviews");
	strcpy(t->k8s_namespace, "default");
	strcpy(t->k8s_pod, "reviews-7d9f");
	strcpy(t->k8s_container, "app");
	t->nspans = 3;

	s = &t->spans[0];
	set_id(s->span_id, 0xa0);
	strcpy(s->name, "GET /reviews/1");
	s->kind = SPAN_KIND_SERVER;
	s->status = SPAN_STATUS_OK;
	s->start_unix_ns = T0;
	s->end_unix_ns = T0 + 5000000;
	span_attr_str(s, "http.request.method", "GET");
	span_attr_int(s, "http.response.status_code", 200);
	span_attr_int(s, "big", 4611686018427387904LL);
	span_attr_int(s, "neg", -42);
	s->attrs[s->nattrs].type = ATTR_DOUBLE;
	strcpy(s->attrs[s->nattrs].key, "ratio");
	s->attrs[s->nattrs++].d = 1.5;
	s->attrs[s->nattrs].type = ATTR_BOOL;
	strcpy(s->attrs[s->nattrs].key, "sidecar");
	s->attrs[s->nattrs++].b = true;

	s = &t->spans[1];
	set_id(s->span_id, 0xb0);
	set_id(s->parent_span_id, 0xa0);
	strcpy(s->name, "GET ratings");
	s->kind = SPAN_KIND_CLIENT;
	s->start_unix_ns = T0 + 1000;
	s->end_unix_ns = T0 + 4000000;

	s = &t->spans[2];
	set_id(s->span_id, 0xc0);
	set_id(s->parent_span_id, 0xb0);
	strcpy(s->name, "proxy");
	s->kind = SPAN_KIND_INTERNAL;
	s->status = SPAN_STATUS_ERROR;
	s->start_unix_ns = T0 + 2000;
	s->end_unix_ns = T0 + 3000;
	span_attr_str(s, "peer", "10.0.0.7");
}

static bool is_lower_hex(const char *s, size_t len)
{
	size_t i;

	if (!s || strlen(s) != len)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

static json_int_t integer(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

/* Every key of @o is one of the NULL-terminated @allowed. */
static void only_keys(json_t *o, const char *const *allowed)
{
	const char *key, *const *a;
	json_t *v;

	assert_true(json_is_object(o));
	json_object_foreach (o, key, v) {
		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			fail_msg("unexpected key '%s'", key);
	}
}

/* The AnyValue of attribute @key in the KeyValue list @attrs, NULL if absent. */
static json_t *attr(json_t *attrs, const char *key)
{
	size_t i;
	json_t *kv;

	json_array_foreach (attrs, i, kv) {
		static const char *const kv_keys[] = {"key", "value", NULL};

		only_keys(kv, kv_keys);
		if (!strcmp(str(kv, "key"), key)) {
			json_t *v = json_object_get(kv, "value");

			assert_int_equal(json_object_size(v), 1); /* a oneof: exactly one */
			return v;
		}
	}
	return NULL;
}

static void test_ids(void **state)
{
	uint8_t a[16], b[16], s1[8], s2[8], zero[16] = {0};
	int i;

	(void)state;
	for (i = 0; i < 100; i++) {
		trace_new_trace_id(a);
		trace_new_trace_id(b);
		trace_new_span_id(s1);
		trace_new_span_id(s2);
		assert_memory_not_equal(a, zero, 16);
		assert_memory_not_equal(s1, zero, 8);
		assert_memory_not_equal(a, b, 16);
		assert_memory_not_equal(s1, s2, 8);
	}
}

static void test_attrs_bounded(void **state)
{
	struct span_rec s = {0};
	char longkey[100], longval[400];
	int i;

	(void)state;
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	memset(longval, 'v', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	span_attr_str(&s, longkey, longval);
	assert_int_equal(strlen(s.attrs[0].key), sizeof(s.attrs[0].key) - 1);
	assert_int_equal(strlen(s.attrs[0].s), TRACE_STR_MAX - 1);
	span_attr_str(&s, "", "ignored: empty key");
	span_attr_str(&s, NULL, "ignored: no key");
	span_attr_str(NULL, "k", "v");
	assert_int_equal(s.nattrs, 1);
	for (i = 1; i < SPAN_MAX_ATTRS + 3; i++)
		span_attr_int(&s, "n", i);
	assert_int_equal(s.nattrs, SPAN_MAX_ATTRS);
	assert_int_equal(s.attrs[SPAN_MAX_ATTRS - 1].type, ATTR_INT);
	assert_int_equal(s.attrs[SPAN_MAX_ATTRS - 1].i, SPAN_MAX_ATTRS - 1);
	span_attr_str(&s, "overflow", "x");
	assert_int_equal(s.nattrs, SPAN_MAX_ATTRS);
}

static void test_otlp_shape(void **state)
{
	static const char *const root_keys[] = {"resourceSpans", NULL};
	static const char *const rs_keys[] = {"resource", "scopeSpans", NULL};
	static const char *const res_keys[] = {"attributes", NULL};
	static const char *const ss_keys[] = {"scope", "spans", NULL};
	static const char *const scope_keys[] = {"name", "version", NULL};
	static const char *const span_keys_all[] = {
		"traceId",	     "spanId",		"parentSpanId", "name",	  "kind",
		"startTimeUnixNano", "endTimeUnixNano", "attributes",	"status", NULL};
	static const char *const status_keys[] = {"code", NULL};
	struct trace_rec t;
	json_t *doc, *rs, *res, *ss, *spans, *sp, *v;
	char *text;
	size_t i;

	(void)state;
	three_spans(&t);
	doc = otlp_traces_json(&t, 1);
	assert_non_null(doc);
	text = json_dumps(doc, JSON_COMPACT);
	assert_non_null(text);
	free(text);

	only_keys(doc, root_keys);
	assert_int_equal(json_array_size(json_object_get(doc, "resourceSpans")), 1);
	rs = json_array_get(json_object_get(doc, "resourceSpans"), 0);
	only_keys(rs, rs_keys);
	res = json_object_get(rs, "resource");
	only_keys(res, res_keys);
	v = json_object_get(res, "attributes");
	assert_int_equal(json_array_size(v), 4);
	assert_string_equal(str(attr(v, "service.name"), "stringValue"), "reviews");
	assert_string_equal(str(attr(v, "k8s.namespace.name"), "stringValue"), "default");
	assert_string_equal(str(attr(v, "k8s.pod.name"), "stringValue"), "reviews-7d9f");
	assert_string_equal(str(attr(v, "k8s.container.name"), "stringValue"), "app");

	assert_int_equal(json_array_size(json_object_get(rs, "scopeSpans")), 1);
	ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
	only_keys(ss, ss_keys);
	only_keys(json_object_get(ss, "scope"), scope_keys);
	assert_string_equal(str(json_object_get(ss, "scope"), "name"), "podscope");
	assert_non_null(str(json_object_get(ss, "scope"), "version"));

	spans = json_object_get(ss, "spans");
	assert_int_equal(json_array_size(spans), 3);
	json_array_foreach (spans, i, sp) {
		only_keys(sp, span_keys_all);
		assert_true(is_lower_hex(str(sp, "traceId"), 32));
		assert_string_equal(str(sp, "traceId"), TRACE_HEX);
		assert_true(is_lower_hex(str(sp, "spanId"), 16));
		assert_true(json_is_string(json_object_get(sp, "startTimeUnixNano")));
		assert_true(json_is_string(json_object_get(sp, "endTimeUnixNano")));
		assert_true(json_is_integer(json_object_get(sp, "kind")));
		only_keys(json_object_get(sp, "status"), status_keys);
		assert_true(json_is_array(json_object_get(sp, "attributes")));
	}

	/* root */
	sp = json_array_get(spans, 0);
	assert_string_equal(str(sp, "spanId"), ROOT_HEX);
	assert_null(json_object_get(sp, "parentSpanId"));
	assert_string_equal(str(sp, "name"), "GET /reviews/1");
	assert_int_equal(integer(sp, "kind"), 2);
	assert_string_equal(str(sp, "startTimeUnixNano"), "1700000000123456789");
	assert_string_equal(str(sp, "endTimeUnixNano"), "1700000000128456789");
	assert_int_equal(integer(json_object_get(sp, "status"), "code"), 1);
	v = json_object_get(sp, "attributes");
	assert_int_equal(json_array_size(v), 6);
	assert_string_equal(str(attr(v, "http.request.method"), "stringValue"), "GET");
	assert_string_equal(str(attr(v, "http.response.status_code"), "intValue"), "200");
	assert_string_equal(str(attr(v, "big"), "intValue"), "4611686018427387904");
	assert_string_equal(str(attr(v, "neg"), "intValue"), "-42");
	assert_true(json_is_real(json_object_get(attr(v, "ratio"), "doubleValue")));
	assert_true(json_real_value(json_object_get(attr(v, "ratio"), "doubleValue")) == 1.5);
	assert_true(json_is_true(json_object_get(attr(v, "sidecar"), "boolValue")));

	/* mid: child of root */
	sp = json_array_get(spans, 1);
	assert_string_equal(str(sp, "spanId"), MID_HEX);
	assert_string_equal(str(sp, "parentSpanId"), ROOT_HEX);
	assert_int_equal(integer(sp, "kind"), 3);
	assert_int_equal(integer(json_object_get(sp, "status"), "code"), 0);
	assert_int_equal(json_array_size(json_object_get(sp, "attributes")), 0);

	/* leaf: child of mid */
	sp = json_array_get(spans, 2);
	assert_string_equal(str(sp, "spanId"), LEAF_HEX);
	assert_string_equal(str(sp, "parentSpanId"), MID_HEX);
	assert_int_equal(integer(sp, "kind"), 1);
	assert_int_equal(integer(json_object_get(sp, "status"), "code"), 2);
	assert_string_equal(str(attr(json_object_get(sp, "attributes"), "peer"), "stringValue"),
			    "10.0.0.7");
	json_decref(doc);
}

static void resource(struct trace_rec *t, const char *svc, const char *ns, const char *pod,
		     const char *ctr, int nspans)
{
	int i;

	memset(t, 0, sizeof(*t));
	trace_new_trace_id(t->trace_id);
	snprintf(t->service_name, sizeof(t->service_name), "%s", svc);
	snprintf(t->k8s_namespace, sizeof(t->k8s_namespace), "%s", ns);
	snprintf(t->k8s_pod, sizeof(t->k8s_pod), "%s", pod);
	snprintf(t->k8s_container, sizeof(t->k8s_container), "%s", ctr);
	t->nspans = nspans;
	for (i = 0; i < nspans; i++) {
		trace_new_span_id(t->spans[i].span_id);
		snprintf(t->spans[i].name, sizeof(t->spans[i].name), "op%d", i);
		t->spans[i].start_unix_ns = T0;
		t->spans[i].end_unix_ns = T0 + 1;
	}
}

static size_t nspans_of(json_t *rs)
{
	return json_array_size(
		json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans"));
}

static void test_resource_grouping(void **state)
{
	struct trace_rec *t = calloc(6, sizeof(*t));
	json_t *doc, *all, *attrs;

	(void)state;
	assert_non_null(t);
	resource(&t[0], "a", "ns", "pod-a", "app", 2);
	resource(&t[1], "b", "ns", "pod-b", "app", 1);
	resource(&t[2], "a", "ns", "pod-a", "app", 3);
	resource(&t[3], "c", "", "pod-c", "", 1);
	resource(&t[4], "b", "ns", "pod-b", "app", 2);
	resource(&t[5], "", "ns", "pod-a", "app", 1); /* no service name: its own resource */
	doc = otlp_traces_json(t, 6);
	assert_non_null(doc);
	all = json_object_get(doc, "resourceSpans");
	assert_int_equal(json_array_size(all), 4);
	assert_int_equal(nspans_of(json_array_get(all, 0)), 5);
	assert_int_equal(nspans_of(json_array_get(all, 1)), 3);
	assert_int_equal(nspans_of(json_array_get(all, 2)), 1);
	assert_int_equal(nspans_of(json_array_get(all, 3)), 1);
	attrs = json_object_get(json_object_get(json_array_get(all, 0), "resource"), "attributes");
	assert_string_equal(str(attr(attrs, "service.name"), "stringValue"), "a");
	/* empty namespace and container are left out, not sent as "" */
	attrs = json_object_get(json_object_get(json_array_get(all, 2), "resource"), "attributes");
	assert_int_equal(json_array_size(attrs), 2);
	assert_string_equal(str(attr(attrs, "service.name"), "stringValue"), "c");
	assert_string_equal(str(attr(attrs, "k8s.pod.name"), "stringValue"), "pod-c");
	assert_null(attr(attrs, "k8s.namespace.name"));
	assert_null(attr(attrs, "k8s.container.name"));
	attrs = json_object_get(json_object_get(json_array_get(all, 3), "resource"), "attributes");
	assert_string_equal(str(attr(attrs, "service.name"), "stringValue"), "unknown_service");
	json_decref(doc);

	doc = otlp_traces_json(t, 0);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "resourceSpans")), 0);
	json_decref(doc);
	free(t);
}

/* Records a receiver would reject are repaired or skipped, never sent as they are. */
static void test_otlp_repairs(void **state)
{
	struct trace_rec *t = calloc(2, sizeof(*t));
	json_t *doc, *spans, *sp, *v;
	char *text;

	(void)state;
	assert_non_null(t);
	three_spans(&t[0]);
	memset(t[0].spans[1].span_id, 0, 8);			     /* invalid span: skipped */
	strcpy(t[0].spans[0].name, "bad \xff\xfe utf8 \xe2\x82");    /* repaired */
	t[0].spans[2].end_unix_ns = t[0].spans[2].start_unix_ns - 5; /* clamped */
	t[0].spans[2].kind = 77;				     /* out of range: 0 */
	t[0].spans[0].attrs[4].d = NAN;
	t[0].spans[0].attrs[3].type = 99; /* unknown attribute type: left out */
	t[0].nspans = 99;		  /* clamped to TRACE_MAX_SPANS; spans 3.. have no id */
	resource(&t[1], "x", "", "", "", 2);
	memset(t[1].trace_id, 0, 16); /* invalid trace: skipped */
	doc = otlp_traces_json(t, 2);
	assert_non_null(doc);
	text = json_dumps(doc, JSON_COMPACT);
	assert_non_null(text);
	free(text);
	assert_int_equal(json_array_size(json_object_get(doc, "resourceSpans")), 1);
	spans = json_object_get(
		json_array_get(
			json_object_get(json_array_get(json_object_get(doc, "resourceSpans"), 0),
					"scopeSpans"),
			0),
		"spans");
	assert_int_equal(json_array_size(spans), 2);
	sp = json_array_get(spans, 0);
	assert_string_equal(str(sp, "name"), "bad \xef\xbf\xbd\xef\xbf\xbd utf8 "
					     "\xef\xbf\xbd\xef\xbf\xbd");
	v = json_object_get(sp, "attributes");
	assert_int_equal(json_array_size(v), 5);
	assert_null(attr(v, "neg"));
	assert_string_equal(str(attr(v, "ratio"), "doubleValue"), "NaN");
	sp = json_array_get(spans, 1);
	assert_string_equal(str(sp, "startTimeUnixNano"), str(sp, "endTimeUnixNano"));
	assert_int_equal(integer(sp, "kind"), 0);
	json_decref(doc);
	free(t);
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/podscope-test-otlp.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int files_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static json_t *tag(json_t *tags, const char *key)
{
	size_t i;
	json_t *t;

	json_array_foreach (tags, i, t)
		if (!strcmp(str(t, "key"), key))
			return t;
	return NULL;
}

static void test_jaeger_file(void **state)
{
	struct trace_rec *t = calloc(2, sizeof(*t));
	char path[128];
	struct jaeger_file *jf;
	uint64_t dropped = 99;
	json_error_t jerr;
	json_t *doc, *tr, *spans, *sp, *refs, *tags, *p1;

	(void)state;
	assert_non_null(t);
	snprintf(path, sizeof(path), "%s/traces.json", tmpdir);
	three_spans(&t[0]);
	resource(&t[1], "other", "", "pod-x", "", 1);
	jf = jaeger_file__open(path, 0);
	assert_non_null(jf);
	assert_int_equal(jaeger_file__add(jf, &t[0]), 0);
	assert_int_equal(jaeger_file__add(jf, &t[1]), 0);
	assert_int_equal(jaeger_file__close(jf, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(files_in(tmpdir), 1); /* the temp file was renamed, not left */

	doc = json_load_file(path, 0, &jerr);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "data")), 2);
	tr = json_array_get(json_object_get(doc, "data"), 0);
	assert_string_equal(str(tr, "traceID"), TRACE_HEX);
	assert_true(json_is_null(json_object_get(tr, "warnings")));
	p1 = json_object_get(json_object_get(tr, "processes"), "p1");
	assert_string_equal(str(p1, "serviceName"), "reviews");
	tags = json_object_get(p1, "tags");
	assert_int_equal(json_array_size(tags), 3);
	assert_string_equal(str(tag(tags, "k8s.pod.name"), "value"), "reviews-7d9f");
	assert_string_equal(str(tag(tags, "k8s.pod.name"), "type"), "string");

	spans = json_object_get(tr, "spans");
	assert_int_equal(json_array_size(spans), 3);
	sp = json_array_get(spans, 0);
	assert_string_equal(str(sp, "traceID"), TRACE_HEX);
	assert_string_equal(str(sp, "spanID"), ROOT_HEX);
	assert_int_equal(integer(sp, "flags"), 1);
	assert_string_equal(str(sp, "operationName"), "GET /reviews/1");
	assert_int_equal(json_array_size(json_object_get(sp, "references")), 0);
	assert_int_equal(integer(sp, "startTime"), 1700000000123456LL);
	assert_int_equal(integer(sp, "duration"), 5000);
	assert_string_equal(str(sp, "processID"), "p1");
	assert_int_equal(json_array_size(json_object_get(sp, "logs")), 0);
	assert_true(json_is_null(json_object_get(sp, "warnings")));
	tags = json_object_get(sp, "tags");
	assert_string_equal(str(tag(tags, "http.request.method"), "type"), "string");
	assert_string_equal(str(tag(tags, "big"), "type"), "int64");
	assert_int_equal(integer(tag(tags, "big"), "value"), 4611686018427387904LL);
	assert_int_equal(integer(tag(tags, "neg"), "value"), -42);
	assert_string_equal(str(tag(tags, "ratio"), "type"), "float64");
	assert_true(json_real_value(json_object_get(tag(tags, "ratio"), "value")) == 1.5);
	assert_string_equal(str(tag(tags, "sidecar"), "type"), "bool");
	assert_true(json_is_true(json_object_get(tag(tags, "sidecar"), "value")));
	assert_string_equal(str(tag(tags, "span.kind"), "value"), "server");
	assert_string_equal(str(tag(tags, "otel.status_code"), "value"), "OK");
	assert_null(tag(tags, "error"));

	sp = json_array_get(spans, 1);
	refs = json_object_get(sp, "references");
	assert_int_equal(json_array_size(refs), 1);
	assert_string_equal(str(json_array_get(refs, 0), "refType"), "CHILD_OF");
	assert_string_equal(str(json_array_get(refs, 0), "traceID"), TRACE_HEX);
	assert_string_equal(str(json_array_get(refs, 0), "spanID"), ROOT_HEX);
	assert_int_equal(integer(sp, "startTime"), 1700000000123457LL);
	assert_int_equal(integer(sp, "duration"), 3999);
	assert_string_equal(str(tag(json_object_get(sp, "tags"), "span.kind"), "value"), "client");

	sp = json_array_get(spans, 2);
	refs = json_object_get(sp, "references");
	assert_string_equal(str(json_array_get(refs, 0), "spanID"), MID_HEX);
	tags = json_object_get(sp, "tags");
	assert_true(json_is_true(json_object_get(tag(tags, "error"), "value")));
	assert_string_equal(str(tag(tags, "otel.status_code"), "value"), "ERROR");

	tr = json_array_get(json_object_get(doc, "data"), 1);
	p1 = json_object_get(json_object_get(tr, "processes"), "p1");
	assert_string_equal(str(p1, "serviceName"), "other");
	assert_int_equal(json_array_size(json_object_get(p1, "tags")), 1);
	json_decref(doc);
	unlink(path);
	free(t);
}

static void test_jaeger_bound(void **state)
{
	struct trace_rec *t = calloc(1, sizeof(*t));
	char path[128];
	struct jaeger_file *jf;
	uint64_t dropped = 0;
	json_t *doc;

	(void)state;
	assert_non_null(t);
	snprintf(path, sizeof(path), "%s/bounded.json", tmpdir);
	resource(t, "s", "ns", "p", "c", 2);
	jf = jaeger_file__open(path, 2);
	assert_non_null(jf);
	assert_int_equal(jaeger_file__add(jf, t), 0);
	assert_int_equal(jaeger_file__add(jf, t), 0);
	assert_int_equal(jaeger_file__add(jf, t), -ENOSPC);
	assert_int_equal(jaeger_file__add(jf, t), -ENOSPC);
	assert_int_equal(jaeger_file__close(jf, &dropped), 0);
	assert_int_equal(dropped, 2);
	doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "data")), 2);
	json_decref(doc);
	unlink(path);

	assert_null(jaeger_file__open("/nonexistent-podscope-dir/x.json", 0));
	assert_int_equal(errno, ENOENT);
	assert_int_equal(jaeger_file__close(NULL, NULL), 0);
	free(t);
}

static void test_exporter_bad_url(void **state)
{
	static const char *const bad[] = {
		"ftp://127.0.0.1:4318", "127.0.0.1:4318", "http://", "", "http//x", NULL};
	const char *const *b;
	struct otlp_exporter *ex;

	(void)state;
	assert_null(otlp_exporter__new(NULL, NULL));
	assert_int_equal(errno, EINVAL);
	for (b = bad; *b; b++) {
		errno = 0;
		assert_null(otlp_exporter__new(*b, NULL));
		assert_int_equal(errno, EINVAL);
	}
	ex = otlp_exporter__new("HTTPS://collector.example:4318/", NULL);
	assert_non_null(ex);
	otlp_exporter__free(ex, 0);
	otlp_exporter__free(NULL, 0);
}

/* A loopback TCP socket bound to a free port: listening (connections are
 * accepted by the kernel but never answered) or not (connections refused). */
static int loopback_socket(bool listening, char *url, size_t len)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	snprintf(url, len, "http://127.0.0.1:%u", ntohs(a.sin_port));
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Poll @ex's stats until @done holds or @ms pass. */
static void wait_stats(struct otlp_exporter *ex, struct otlp_exporter_stats *st,
		       bool (*done)(const struct otlp_exporter_stats *), unsigned ms)
{
	uint64_t until = now_ms() + ms;

	do {
		otlp_exporter__stats(ex, st);
		if (done(st))
			return;
		usleep(10000);
	} while (now_ms() < until);
}

static bool all_settled(const struct otlp_exporter_stats *st)
{
	return st->sent + st->failed == st->queued;
}

static bool one_post(const struct otlp_exporter_stats *st)
{
	return st->posts >= 1;
}

static void test_exporter_refused(void **state)
{
	struct otlp_exporter_opts o = {.flush_interval_ms = 20, .timeout_ms = 2000};
	struct otlp_exporter_stats st;
	struct otlp_exporter *ex;
	struct trace_rec *t = calloc(1, sizeof(*t));
	char url[64];
	int fd = loopback_socket(false, url, sizeof(url)), i;

	(void)state;
	assert_non_null(t);
	resource(t, "s", "ns", "p", "c", 3);
	ex = otlp_exporter__new(url, &o);
	assert_non_null(ex);
	for (i = 0; i < 3; i++)
		assert_int_equal(otlp_exporter__submit(ex, t), 0);
	wait_stats(ex, &st, all_settled, 5000);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.failed, 3);
	assert_int_equal(st.sent, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(st.posts, 2); /* one batch, tried twice */
	otlp_exporter__free(ex, 1000);
	close(fd);
	free(t);
}

/* The worker is stuck in a POST nobody answers: the queue fills, submit
 * still returns at once, and free() keeps to its deadline, not the POST's. */
static void test_exporter_queue_bound_and_shutdown(void **state)
{
	struct otlp_exporter_opts o = {
		.queue_traces = 4, .batch_traces = 1, .flush_interval_ms = 10, .timeout_ms = 10000};
	struct otlp_exporter_stats st;
	struct otlp_exporter *ex;
	struct trace_rec *t = calloc(1, sizeof(*t));
	char url[64];
	int fd = loopback_socket(true, url, sizeof(url)), i, accepted = 0, full = 0;
	uint64_t t0;

	(void)state;
	assert_non_null(t);
	resource(t, "s", "ns", "p", "c", 1);
	ex = otlp_exporter__new(url, &o);
	assert_non_null(ex);
	assert_int_equal(otlp_exporter__submit(ex, t), 0);
	wait_stats(ex, &st, one_post, 5000);
	assert_int_equal(st.posts, 1);
	t0 = now_ms();
	for (i = 0; i < 10; i++) {
		int r = otlp_exporter__submit(ex, t);

		accepted += r == 0;
		full += r == -ENOSPC;
	}
	assert_true(now_ms() - t0 < 500);
	assert_int_equal(accepted, 4);
	assert_int_equal(full, 6);
	otlp_exporter__stats(ex, &st);
	assert_int_equal(st.queued, 5);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.sent + st.failed, 0);

	t0 = now_ms();
	otlp_exporter__free(ex, 300);
	assert_true(now_ms() - t0 < 1500);
	close(fd);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_attrs_bounded),
		cmocka_unit_test(test_otlp_shape),
		cmocka_unit_test(test_resource_grouping),
		cmocka_unit_test(test_otlp_repairs),
		cmocka_unit_test(test_jaeger_file),
		cmocka_unit_test(test_jaeger_bound),
		cmocka_unit_test(test_exporter_bad_url),
		cmocka_unit_test(test_exporter_refused),
		cmocka_unit_test(test_exporter_queue_bound_and_shutdown),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
