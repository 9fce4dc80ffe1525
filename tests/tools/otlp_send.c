// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * otlp-send: a test driver for the trace exporters (src/otlp.c), so that
 * tests/integration/test_otlp.sh can run the real exporter against a
 * loopback receiver. Builds N synthetic traces (a chain of K spans each:
 * server root, then client/internal children, typed attributes, R distinct
 * resources), submits them to an OTLP exporter and/or a Jaeger file, and
 * prints one JSON object:
 *
 *   {"submitted", "accepted", "enospc", "max_submit_us", "settled",
 *    "queued", "dropped", "sent", "failed", "posts", "close_ms",
 *    "jaeger_dropped", "jaeger_rc"}
 *
 * The exporter stats are read after waiting (at most --wait-ms) until every
 * queued trace is sent or failed, before otlp_exporter__free. With
 * --no-wait they are read right after submitting and free() alone must
 * deliver the rest (its effect is then visible only at the receiver).
 * Exit 0, or 2 when the exporter or the file cannot be set up.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "otlp.h"

struct send_opts {
	const char *endpoint, *jaeger;
	long traces, spans, resources;
	struct otlp_exporter_opts ex;
	long wait_ms, close_ms, jaeger_max;
	bool no_wait;
};

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Trace @i: resource i % resources, a chain of @nspans spans starting at @t0. */
static void build(struct trace_rec *t, long i, const struct send_opts *o, uint64_t t0)
{
	long r = i % o->resources;
	int k;

	memset(t, 0, sizeof(*t));
	trace_new_trace_id(t->trace_id);
	snprintf(t->service_name, sizeof(t->service_name), "svc-%ld", r);
	if (r) /* resource 0 has no namespace and container: those must be left out */
		snprintf(t->k8s_namespace, sizeof(t->k8s_namespace), "ns-%ld", r);
	snprintf(t->k8s_pod, sizeof(t->k8s_pod), "pod-%ld", r);
	if (r)
		snprintf(t->k8s_container, sizeof(t->k8s_container), "app");
	t->nspans = (int)o->spans;
	for (k = 0; k < t->nspans; k++) {
		struct span_rec *s = &t->spans[k];
		struct span_attr *a;

		trace_new_span_id(s->span_id);
		if (k)
			memcpy(s->parent_span_id, t->spans[k - 1].span_id, 8);
		if (k)
			snprintf(s->name, sizeof(s->name), "hop %d", k);
		else
			snprintf(s->name, sizeof(s->name), "GET /item/%ld", i);
		s->kind = !k ? SPAN_KIND_SERVER : k % 2 ? SPAN_KIND_CLIENT : SPAN_KIND_INTERNAL;
		s->status = i % 10 == 9 && !k ? SPAN_STATUS_ERROR : SPAN_STATUS_UNSET;
		s->start_unix_ns = t0 + k * 1000;
		s->end_unix_ns = t0 + 1000000 - k * 1000;
		span_attr_str(s, "http.request.method", "GET");
		span_attr_int(s, "http.response.status_code", s->status ? 500 : 200);
		span_attr_int(s, "podscope.trace.index", i);
		a = &s->attrs[s->nattrs++];
		snprintf(a->key, sizeof(a->key), "podscope.hop.ratio");
		a->type = ATTR_DOUBLE;
		a->d = 0.25 * k;
		a = &s->attrs[s->nattrs++];
		snprintf(a->key, sizeof(a->key), "podscope.sidecar");
		a->type = ATTR_BOOL;
		a->b = k % 2;
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: otlp-send [--endpoint URL] [--jaeger FILE] [--traces N] [--spans "
			"K]\n"
			"                 [--resources R] [--queue N] [--batch N] [--flush-ms MS]\n"
			"                 [--timeout-ms MS] [--wait-ms MS] [--close-ms MS] "
			"[--no-wait]\n"
			"                 [--jaeger-max N] [-v]\n");
}

static int parse(int argc, char **argv, struct send_opts *o)
{
	static const struct option longopts[] = {
		{"endpoint", required_argument, NULL, 'e'},
		{"jaeger", required_argument, NULL, 'j'},
		{"traces", required_argument, NULL, 'n'},
		{"spans", required_argument, NULL, 'k'},
		{"resources", required_argument, NULL, 'r'},
		{"queue", required_argument, NULL, 'q'},
		{"batch", required_argument, NULL, 'b'},
		{"flush-ms", required_argument, NULL, 'f'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"wait-ms", required_argument, NULL, 'w'},
		{"close-ms", required_argument, NULL, 'c'},
		{"no-wait", no_argument, NULL, 'N'},
		{"jaeger-max", required_argument, NULL, 'm'},
		{"verbose", no_argument, NULL, 'v'},
		{},
	};
	int c;

	*o = (struct send_opts){
		.traces = 10, .spans = 3, .resources = 1, .wait_ms = 10000, .close_ms = 5000};
	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'e':
			o->endpoint = optarg;
			break;
		case 'j':
			o->jaeger = optarg;
			break;
		case 'n':
			o->traces = atol(optarg);
			break;
		case 'k':
			o->spans = atol(optarg);
			break;
		case 'r':
			o->resources = atol(optarg);
			break;
		case 'q':
			o->ex.queue_traces = atol(optarg);
			break;
		case 'b':
			o->ex.batch_traces = atol(optarg);
			break;
		case 'f':
			o->ex.flush_interval_ms = atol(optarg);
			break;
		case 't':
			o->ex.timeout_ms = atol(optarg);
			break;
		case 'w':
			o->wait_ms = atol(optarg);
			break;
		case 'c':
			o->close_ms = atol(optarg);
			break;
		case 'N':
			o->no_wait = true;
			break;
		case 'm':
			o->jaeger_max = atol(optarg);
			break;
		case 'v':
			log_set_level(PS_LOG_DEBUG);
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc || (!o->endpoint && !o->jaeger) || o->traces < 0 || o->spans < 1 ||
	    o->spans > TRACE_MAX_SPANS || o->resources < 1)
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	struct otlp_exporter_stats st = {0};
	struct otlp_exporter *ex = NULL;
	struct jaeger_file *jf = NULL;
	struct send_opts o;
	struct trace_rec *t;
	uint64_t t0, start, d, max_submit_ns = 0, jaeger_dropped = 0, close_ms = 0;
	long i, accepted = 0, enospc = 0;
	bool settled = false;
	int jaeger_rc = 0;

	if (parse(argc, argv, &o)) {
		usage();
		return 2;
	}
	t = malloc(sizeof(*t));
	if (!t)
		return 2;
	if (o.endpoint) {
		ex = otlp_exporter__new(o.endpoint, &o.ex);
		if (!ex) {
			fprintf(stderr, "otlp-send: exporter for %s: %s\n", o.endpoint,
				strerror(errno));
			free(t);
			return 2;
		}
	}
	if (o.jaeger) {
		jf = jaeger_file__open(o.jaeger, o.jaeger_max);
		if (!jf) {
			fprintf(stderr, "otlp-send: %s: %s\n", o.jaeger, strerror(errno));
			otlp_exporter__free(ex, 0);
			free(t);
			return 2;
		}
	}

	t0 = clock_ns(CLOCK_REALTIME);
	for (i = 0; i < o.traces; i++) {
		build(t, i, &o, t0 + i * 1000);
		if (ex) {
			int r;

			start = clock_ns(CLOCK_MONOTONIC);
			r = otlp_exporter__submit(ex, t);
			d = clock_ns(CLOCK_MONOTONIC) - start;
			if (d > max_submit_ns)
				max_submit_ns = d;
			accepted += r == 0;
			enospc += r == -ENOSPC;
		}
		if (jf)
			jaeger_file__add(jf, t);
	}
	if (ex) {
		uint64_t until = clock_ns(CLOCK_MONOTONIC) + o.wait_ms * 1000000ULL;

		for (;;) {
			otlp_exporter__stats(ex, &st);
			settled = st.sent + st.failed == st.queued;
			if (o.no_wait || settled || clock_ns(CLOCK_MONOTONIC) >= until)
				break;
			usleep(10000);
		}
		start = clock_ns(CLOCK_MONOTONIC);
		otlp_exporter__free(ex, o.close_ms);
		close_ms = (clock_ns(CLOCK_MONOTONIC) - start) / 1000000;
	}
	if (jf)
		jaeger_rc = jaeger_file__close(jf, &jaeger_dropped);

	printf("{\"submitted\": %ld, \"accepted\": %ld, \"enospc\": %ld, \"max_submit_us\": "
	       "%" PRIu64 ", \"settled\": %s, \"queued\": %" PRIu64 ", \"dropped\": %" PRIu64
	       ", \"sent\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"posts\": %" PRIu64
	       ", \"close_ms\": %" PRIu64 ", \"jaeger_dropped\": %" PRIu64 ", \"jaeger_rc\": %d}\n",
	       ex ? o.traces : 0, accepted, enospc, max_submit_ns / 1000,
	       settled ? "true" : "false", st.queued, st.dropped, st.sent, st.failed, st.posts,
	       close_ms, jaeger_dropped, jaeger_rc);
	free(t);
	return jaeger_rc ? 1 : 0;
}
