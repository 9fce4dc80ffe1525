// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One stitched request as JSON, as a terminal line and as a trace. The
 * parts are contiguous: sidecar_inbound + app + sidecar_outbound = total.
 */
#include <string.h>
#include <time.h>

#include "reqs_export.h"
#include "strutil.h"

int64_t clock_mono_to_unix_ns(void)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	return ((int64_t)r.tv_sec - (int64_t)m.tv_sec) * 1000000000LL +
	       ((int64_t)r.tv_nsec - (int64_t)m.tv_nsec);
}

json_t *req_record_json(const struct req_record *r, const struct watch_container *ctr,
			int64_t mono_to_unix_ns)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:I}",
			      "schema", "podscope.request/v1", "pod", ctr ? ctr->pod : "?",
			      "container", ctr ? ctr->name : "?", "pid", (int)r->pid, "tid",
			      (int)r->tid, "direction", req_direction_name(r->direction), "method",
			      r->method, "path", r->path, "route", r->path_template, "status",
			      r->status, "client", r->client, "start_unix_ns",
			      (json_int_t)((int64_t)r->t_in + mono_to_unix_ns), "total_ns",
			      (json_int_t)(r->t_out - r->t_in));

	if (!o)
		return NULL;
	if (r->upstream) {
		json_object_set_new(o, "upstream", json_string(r->upstream_peer));
		json_object_set_new(o, "upstream_status", json_integer(r->upstream_status));
		json_object_set_new(o, "sidecar_inbound_ns",
				    json_integer((json_int_t)(r->t_up_out - r->t_in)));
		json_object_set_new(o, "app_ns",
				    json_integer((json_int_t)(r->t_up_in - r->t_up_out)));
		json_object_set_new(o, "sidecar_outbound_ns",
				    json_integer((json_int_t)(r->t_out - r->t_up_in)));
		json_object_set_new(o, "sidecar_ns",
				    json_integer((json_int_t)((r->t_up_out - r->t_in) +
							      (r->t_out - r->t_up_in))));
		json_object_set_new(o, "new_upstream_connection",
				    json_boolean(r->new_upstream_conn));
		if (r->upstream_connect_ns)
			json_object_set_new(o, "upstream_connect_ns",
					    json_integer((json_int_t)r->upstream_connect_ns));
	} else {
		json_object_set_new(o, "upstream", json_null());
	}
	return o;
}

void req_record_print(FILE *out, const struct req_record *r, const struct watch_container *ctr)
{
	if (r->upstream)
		fprintf(out,
			"%s %s %s %s %d total %.0fus = sidecar in %.0fus + app %.0fus + "
			"sidecar out %.0fus%s\n",
			ctr ? ctr->pod : "?", req_direction_name(r->direction), r->method, r->path,
			r->status, (double)(r->t_out - r->t_in) / 1e3,
			(double)(r->t_up_out - r->t_in) / 1e3,
			(double)(r->t_up_in - r->t_up_out) / 1e3,
			(double)(r->t_out - r->t_up_in) / 1e3,
			r->new_upstream_conn ? " (new upstream connection)" : "");
	else
		fprintf(out, "%s %s %s %s %d total %.0fus (answered by the sidecar)\n",
			ctr ? ctr->pod : "?", req_direction_name(r->direction), r->method, r->path,
			r->status, (double)(r->t_out - r->t_in) / 1e3);
}

static struct span_rec *span_add(struct trace_rec *t, const struct span_rec *parent,
				 const char *name, enum span_kind kind, uint64_t start,
				 uint64_t end, int64_t off)
{
	struct span_rec *s;

	if (t->nspans >= TRACE_MAX_SPANS)
		return NULL;
	s = &t->spans[t->nspans++];
	memset(s, 0, sizeof(*s));
	trace_new_span_id(s->span_id);
	if (parent)
		memcpy(s->parent_span_id, parent->span_id, sizeof(s->parent_span_id));
	str_copy(s->name, sizeof(s->name), name);
	s->kind = kind;
	s->start_unix_ns = (uint64_t)((int64_t)start + off);
	s->end_unix_ns = (uint64_t)((int64_t)(end > start ? end : start) + off);
	return s;
}

void req_record_trace(const struct req_record *r, const struct watch_container *ctr, int64_t off,
		      struct trace_rec *t)
{
	struct span_rec *root, *s, *up;
	char name[TRACE_STR_MAX];
	/* span_add may move nothing (fixed array), but keep ids, not pointers, across adds */
	struct span_rec root_copy;

	memset(t, 0, sizeof(*t));
	trace_new_trace_id(t->trace_id);
	str_copy(t->service_name, sizeof(t->service_name),
		 ctr && ctr->pod_name[0] ? ctr->pod_name : "podscope");
	if (ctr) {
		str_copy(t->k8s_namespace, sizeof(t->k8s_namespace), ctr->ns);
		str_copy(t->k8s_pod, sizeof(t->k8s_pod), ctr->pod_name);
		str_copy(t->k8s_container, sizeof(t->k8s_container), ctr->name);
	}
	snprintf(name, sizeof(name), "%.15s %.170s", r->method, r->path_template);
	root = span_add(t, NULL, name, SPAN_KIND_SERVER, r->t_in_start ? r->t_in_start : r->t_in,
			r->t_out, off);
	if (!root)
		return;
	span_attr_str(root, "http.request.method", r->method);
	span_attr_str(root, "url.path", r->path);
	span_attr_str(root, "http.route", r->path_template);
	span_attr_int(root, "http.response.status_code", r->status);
	span_attr_str(root, "podscope.direction", req_direction_name(r->direction));
	span_attr_str(root, "client.address", r->client);
	span_attr_int(root, "process.pid", r->pid);
	span_attr_int(root, "thread.id", r->tid);
	root->status = r->status >= 500 ? SPAN_STATUS_ERROR : SPAN_STATUS_UNSET;
	root_copy = *root;
	if (r->t_in_start && r->t_in_start < r->t_in)
		span_add(t, &root_copy, "read request (downstream)", SPAN_KIND_INTERNAL,
			 r->t_in_start, r->t_in, off);
	if (r->upstream) {
		struct span_rec up_copy;

		span_add(t, &root_copy, "sidecar inbound processing", SPAN_KIND_INTERNAL, r->t_in,
			 r->t_up_out, off);
		snprintf(name, sizeof(name), "upstream %.15s %.160s", r->method, r->path_template);
		up = span_add(t, &root_copy, name, SPAN_KIND_CLIENT, r->t_up_out, r->t_up_in, off);
		if (up) {
			span_attr_str(up, "server.address", r->upstream_peer);
			span_attr_int(up, "http.response.status_code", r->upstream_status);
			span_attr_int(up, "podscope.new_connection", r->new_upstream_conn);
			up_copy = *up;
			s = span_add(t, &up_copy, "app", SPAN_KIND_INTERNAL, r->t_up_out,
				     r->t_up_in, off);
			if (s)
				span_attr_str(s, "podscope.note",
					      "upstream time as the sidecar sees it");
		}
		span_add(t, &root_copy, "sidecar outbound processing", SPAN_KIND_INTERNAL,
			 r->t_up_in,
			 r->t_out_start && r->t_out_start > r->t_up_in ? r->t_out_start : r->t_out,
			 off);
	}
	if (r->t_out_start && r->t_out_start < r->t_out)
		span_add(t, &root_copy, "write response (downstream)", SPAN_KIND_INTERNAL,
			 r->t_out_start, r->t_out, off);
}
