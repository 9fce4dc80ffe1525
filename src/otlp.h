/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Trace export: the span records podscope builds (stitched requests, packet
 * paths) and the two ways out: OTLP/HTTP JSON (POST <endpoint>/v1/traces,
 * a bounded, batched, non-blocking exporter with its own thread) and a file
 * in Jaeger UI's JSON upload format. Exporters only read these records;
 * they never talk to BPF.
 *
 * Times are nanoseconds since the Unix epoch (CLOCK_REALTIME). Ids are raw
 * bytes; the exporters encode them (lowercase hex for OTLP JSON and Jaeger).
 */
#ifndef PODSCOPE_OTLP_H
#define PODSCOPE_OTLP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_MAX_SPANS 16
#define SPAN_MAX_ATTRS	8
#define TRACE_STR_MAX	192

/* OTLP SpanKind (integer values of the proto enum). */
enum span_kind {
	SPAN_KIND_UNSPECIFIED = 0,
	SPAN_KIND_INTERNAL = 1,
	SPAN_KIND_SERVER = 2,
	SPAN_KIND_CLIENT = 3,
	SPAN_KIND_PRODUCER = 4,
	SPAN_KIND_CONSUMER = 5,
};

/* OTLP StatusCode. */
enum span_status {
	SPAN_STATUS_UNSET = 0,
	SPAN_STATUS_OK = 1,
	SPAN_STATUS_ERROR = 2,
};

enum attr_type {
	ATTR_STRING = 0,
	ATTR_INT,
	ATTR_DOUBLE,
	ATTR_BOOL,
};

struct span_attr {
	char key[48];
	enum attr_type type;
	union {
		char s[TRACE_STR_MAX];
		int64_t i;
		double d;
		bool b;
	};
};

struct span_rec {
	uint8_t span_id[8];
	uint8_t parent_span_id[8]; /* all zero: the root span */
	char name[TRACE_STR_MAX];
	enum span_kind kind;
	enum span_status status;
	uint64_t start_unix_ns, end_unix_ns;
	int nattrs;
	struct span_attr attrs[SPAN_MAX_ATTRS];
};

/* One trace: self-contained value type, copied by the exporters. */
struct trace_rec {
	uint8_t trace_id[16];
	char service_name[TRACE_STR_MAX]; /* resource service.name */
	char k8s_namespace[64];		  /* resource k8s.namespace.name ("" = omit) */
	char k8s_pod[128];		  /* resource k8s.pod.name */
	char k8s_container[64];		  /* resource k8s.container.name */
	int nspans;
	struct span_rec spans[TRACE_MAX_SPANS];
};

/* Random, non-zero ids (getrandom()). */
void trace_new_trace_id(uint8_t id[16]);
void trace_new_span_id(uint8_t id[8]);

/* Add an attribute to @s; silently ignored when SPAN_MAX_ATTRS are used. */
void span_attr_str(struct span_rec *s, const char *key, const char *value);
void span_attr_int(struct span_rec *s, const char *key, int64_t value);

/*
 * otlp_traces_json - the OTLP/HTTP JSON body (ExportTraceServiceRequest) for
 * @n traces: {"resourceSpans":[...]} following the OTLP JSON mapping
 * (lowerCamelCase field names, hex ids, 64-bit integers as decimal strings,
 * enums as integers). Traces with the same resource share one resourceSpans
 * entry. Caller owns the result; NULL on ENOMEM.
 */
json_t *otlp_traces_json(const struct trace_rec *traces, size_t n);

struct otlp_exporter_opts {
	size_t queue_traces;	    /* bound of the queue; 0: 4096 */
	size_t batch_traces;	    /* traces per POST; 0: 256 */
	unsigned flush_interval_ms; /* POST at least this often when not empty; 0: 1000 */
	unsigned timeout_ms;	    /* per POST; 0: 5000 */
};

struct otlp_exporter_stats {
	uint64_t queued;  /* accepted by otlp_exporter__submit */
	uint64_t dropped; /* refused: queue full */
	uint64_t sent;	  /* in POSTs answered 2xx */
	uint64_t failed;  /* in POSTs that failed or were answered non-2xx */
	uint64_t posts;
};

struct otlp_exporter;

/*
 * otlp_exporter__new - exporter to @endpoint, "http://host:port" (the path
 * /v1/traces is appended unless the URL already ends with it). Starts its
 * thread. NULL with errno set (EINVAL: bad URL) — the reason is logged.
 */
struct otlp_exporter *otlp_exporter__new(const char *endpoint,
					 const struct otlp_exporter_opts *opts);
/* Queue a copy of @t; never blocks. 0, or -ENOSPC when the queue is full (counted). */
int otlp_exporter__submit(struct otlp_exporter *ex, const struct trace_rec *t);
void otlp_exporter__stats(struct otlp_exporter *ex, struct otlp_exporter_stats *out);
/* Flush what is queued (waiting at most @timeout_ms), stop the thread, free. NULL-safe. */
void otlp_exporter__free(struct otlp_exporter *ex, unsigned timeout_ms);
/* The same, and the final counters in @final (may be NULL) once nothing is in flight. */
void otlp_exporter__finish(struct otlp_exporter *ex, unsigned timeout_ms,
			   struct otlp_exporter_stats *final);

/*
 * Jaeger UI JSON upload format: {"data":[{"traceID", "spans":[{"traceID",
 * "spanID", "operationName", "references":[{"refType":"CHILD_OF", ...}],
 * "startTime" (us), "duration" (us), "tags", "logs", "processID"}],
 * "processes":{...}}]}. Traces are kept in memory (bounded) and the file is
 * written by jaeger_file__close (atomically: temp file + rename).
 */
struct jaeger_file;
struct jaeger_file *jaeger_file__open(const char *path, size_t max_traces);
/* 0, or -ENOSPC when max_traces are already held (counted in *dropped). */
int jaeger_file__add(struct jaeger_file *jf, const struct trace_rec *t);
/* Write and free; returns 0 or -errno (logged). NULL-safe. */
int jaeger_file__close(struct jaeger_file *jf, uint64_t *dropped);

#endif /* PODSCOPE_OTLP_H */
