// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the HTTP/1.x parser (src/http1.c): framing through sampled
 * calls and gaps, keep-alive and pipelining offsets, no-body responses,
 * loss and recovery of sync with exact counters, and path templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"

#define REQ	PROTO_DIR_REQUEST
#define RESP	PROTO_DIR_RESPONSE

#define REC_MAX 256

struct rec {
	struct proto_msg m[REC_MAX];
	int n;
};

static void collect(void *ctx, const struct proto_msg *msg)
{
	struct rec *r = ctx;

	if (r->n < REC_MAX)
		r->m[r->n++] = *msg;
}

/*
 * Feed one call whose sample is the first @len bytes of @s and which moved
 * @total bytes. The sample is copied to a buffer of exactly @len bytes so
 * that ASan sees any read past it.
 */
static int feed_call(void *c, enum proto_dir dir, const char *s, size_t len, uint64_t total,
		     uint64_t ts, struct rec *r)
{
	uint8_t *buf = len ? malloc(len) : NULL;
	int n;

	if (len)
		memcpy(buf, s, len);
	n = proto_http1.feed(c, dir, buf, len, total, ts, collect, r);
	free(buf);
	return n;
}

/* A fully sampled call. */
static int feed_str(void *c, enum proto_dir dir, const char *s, uint64_t ts, struct rec *r)
{
	return feed_call(c, dir, s, strlen(s), strlen(s), ts, r);
}

/* Field-by-field: padding inside struct proto_msg is not compared. */
static void assert_msg_equal(const struct proto_msg *a, const struct proto_msg *b)
{
	assert_int_equal(a->dir, b->dir);
	assert_int_equal(a->ts_ns, b->ts_ns);
	assert_int_equal(a->stream_off, b->stream_off);
	assert_string_equal(a->method, b->method);
	assert_string_equal(a->path, b->path);
	assert_string_equal(a->path_template, b->path_template);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->body_bytes, b->body_bytes);
	assert_int_equal(a->keep_alive, b->keep_alive);
}

static struct proto_stats stats_of(void *c)
{
	struct proto_stats st;

	proto_http1.stats(c, &st);
	return st;
}

static void assert_stats(void *c, uint64_t messages, uint64_t resyncs, uint64_t lost,
			 uint64_t errors)
{
	struct proto_stats st = stats_of(c);

	assert_int_equal(st.messages, messages);
	assert_int_equal(st.resyncs, resyncs);
	assert_int_equal(st.lost_sync, lost);
	assert_int_equal(st.parse_errors, errors);
}

static void test_simple_get(void **state)
{
	const char *req = "GET /users/42/orders/7f3a9c2e1b?x=1 HTTP/1.1\r\nHost: a\r\n\r\n";
	const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	struct rec r = {0};
	void *c = proto_http1.conn_new();

	(void)state;
	assert_non_null(c);
	assert_int_equal(feed_str(c, REQ, req, 1000, &r), 1);
	assert_int_equal(r.m[0].dir, REQ);
	assert_string_equal(r.m[0].method, "GET");
	assert_string_equal(r.m[0].path, "/users/42/orders/7f3a9c2e1b");
	assert_string_equal(r.m[0].path_template, "/users/{id}/orders/{id}");
	assert_int_equal(r.m[0].status, 0);
	assert_int_equal(r.m[0].body_bytes, 0);
	assert_true(r.m[0].keep_alive);
	assert_int_equal(r.m[0].stream_off, 0);
	assert_int_equal(r.m[0].ts_ns, 1000);

	assert_int_equal(feed_str(c, RESP, resp, 2000, &r), 1);
	assert_int_equal(r.m[1].dir, RESP);
	assert_int_equal(r.m[1].status, 200);
	assert_string_equal(r.m[1].method, "GET");
	assert_string_equal(r.m[1].path, "");
	assert_int_equal(r.m[1].body_bytes, 5);
	assert_true(r.m[1].keep_alive);
	assert_int_equal(r.m[1].stream_off, 0);
	assert_int_equal(r.m[1].ts_ns, 2000);

	/* the next exchange starts right after the first */
	assert_int_equal(feed_str(c, REQ, "DELETE /x HTTP/1.1\r\n\r\n", 3000, &r), 1);
	assert_int_equal(r.m[2].stream_off, strlen(req));
	assert_int_equal(feed_str(c, RESP, "HTTP/1.1 204 No Content\r\n\r\n", 4000, &r), 1);
	assert_int_equal(r.m[3].stream_off, strlen(resp));
	assert_string_equal(r.m[3].method, "DELETE");
	assert_int_equal(r.m[3].body_bytes, 0);
	assert_stats(c, 4, 0, 0, 0);
	proto_http1.conn_free(c);
}

static void test_post_body_through_gaps(void **state)
{
	char head[128];
	struct rec r = {0};
	void *c = proto_http1.conn_new();
	size_t hl;

	(void)state;
	hl = (size_t)snprintf(head, sizeof(head),
			      "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n");
	/* headers and 40 body bytes sampled, 4000 moved */
	char first[256];
	memcpy(first, head, hl);
	memset(first + hl, 'x', 40);
	assert_int_equal(feed_call(c, REQ, first, hl + 40, hl + 4000, 1, &r), 1);
	assert_int_equal(r.m[0].body_bytes, 10000);
	assert_string_equal(r.m[0].method, "POST");
	/* unsampled calls carry the rest of the body: 4000 + 3000 + 3000 = 10000 */
	assert_int_equal(feed_call(c, REQ, NULL, 0, 3000, 2, &r), 0);
	/* a sampled call in the middle of the body that looks like a start line is body */
	assert_int_equal(feed_call(c, REQ, "GET / HTTP/1.1\r\n\r\n", 18, 2000, 3, &r), 0);
	assert_int_equal(feed_call(c, REQ, NULL, 0, 1000, 4, &r), 0);
	assert_int_equal(feed_str(c, REQ, "GET /next HTTP/1.1\r\n\r\n", 5, &r), 1);
	assert_int_equal(r.m[1].stream_off, hl + 10000);
	assert_string_equal(r.m[1].path, "/next");
	assert_stats(c, 2, 0, 0, 0);

	/* a gap larger than the body swallows the next start: sync is lost */
	hl = (size_t)snprintf(head, sizeof(head), "PUT /k HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
	assert_int_equal(feed_call(c, REQ, head, hl, hl + 50, 6, &r), 1);
	assert_stats(c, 3, 0, 1, 0);
	/* and found again on the next call that starts a request */
	assert_int_equal(feed_str(c, REQ, "GET /again HTTP/1.1\r\n\r\n", 7, &r), 1);
	assert_string_equal(r.m[3].path, "/again");
	assert_stats(c, 4, 1, 1, 0);
	proto_http1.conn_free(c);
}

static void test_chunked(void **state)
{
	const char *two = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			  "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\nX-Trailer: y\r\n\r\n"
			  "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
			  "A\r\n0123456789\r\n0\r\n\r\n";
	const char *tail = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	struct rec r = {0};
	void *c = proto_http1.conn_new();
	char buf[512];
	size_t hl;

	(void)state;
	memset(buf, 'b', sizeof(buf));
	assert_int_equal(feed_str(c, RESP, two, 1, &r), 2);
	assert_int_equal(r.m[0].status, 200);
	assert_int_equal(r.m[0].body_bytes, -1);
	assert_int_equal(r.m[1].status, 404);
	assert_int_equal(r.m[1].body_bytes, -1);
	assert_int_equal(r.m[1].stream_off, strstr(two, "HTTP/1.1 404") - two);

	/* chunk data counted through a gap, then the end of the body sampled */
	uint64_t off = strlen(two);
	hl = (size_t)snprintf(buf, sizeof(buf),
			      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n");
	assert_int_equal(feed_call(c, RESP, buf, hl + 10, hl + 4096, 2, &r), 1);
	assert_int_equal(r.m[2].stream_off, off);
	off += hl + 4096;
	/* the rest of the 4096-byte chunk is the gap above; now CRLF, last chunk */
	snprintf(buf, sizeof(buf), "\r\n0\r\n\r\n%s", tail);
	assert_int_equal(feed_str(c, RESP, buf, 3, &r), 1);
	assert_int_equal(r.m[3].stream_off, off + 7);
	assert_int_equal(r.m[3].body_bytes, 2);
	assert_stats(c, 4, 0, 0, 0);

	/* a chunked request */
	assert_int_equal(feed_str(c, REQ,
				  "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "4\r\nabcd\r\n0\r\n\r\nGET /d HTTP/1.1\r\n\r\n",
				  4, &r),
			 2);
	assert_int_equal(r.m[4].body_bytes, -1);
	assert_string_equal(r.m[5].path, "/d");

	/* a gap that runs past the chunk's end loses sync */
	hl = (size_t)snprintf(buf, sizeof(buf),
			      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n");
	assert_int_equal(feed_call(c, RESP, buf, hl, hl + 100, 5, &r), 1);
	assert_stats(c, 7, 0, 1, 0);
	/* a bad chunk size is a parse error */
	assert_int_equal(feed_str(c, RESP, tail, 6, &r), 1);
	assert_stats(c, 8, 1, 1, 0);
	assert_int_equal(feed_str(c, RESP,
				  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 7,
				  &r),
			 1);
	assert_stats(c, 9, 1, 2, 1);
	proto_http1.conn_free(c);
}

static void test_keep_alive_100(void **state)
{
	static struct rec r;
	void *c = proto_http1.conn_new();
	uint64_t req_off = 0, resp_off = 0;
	char buf[256];
	int i;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (i = 0; i < 100; i++) {
		size_t n;
		size_t body = (size_t)(i % 7) * 100;

		/* requests: odd ones carry a body that mostly sits in a gap */
		if (i % 2) {
			n = (size_t)snprintf(buf, sizeof(buf),
					     "PUT /items/%d HTTP/1.1\r\nContent-Length: "
					     "%zu\r\n\r\n",
					     i, body + 1);
			assert_int_equal(feed_call(c, REQ, buf, n, n + body + 1, (uint64_t)i, &r),
					 1);
			n += body + 1;
		} else {
			n = (size_t)snprintf(buf, sizeof(buf),
					     "GET /items/%d?q=%d HTTP/1.1\r\n\r\n", i, i);
			assert_int_equal(feed_str(c, REQ, buf, (uint64_t)i, &r), 1);
		}
		assert_int_equal(r.m[r.n - 1].stream_off, req_off);
		snprintf(buf, sizeof(buf), "/items/%d", i);
		assert_string_equal(r.m[r.n - 1].path, buf);
		assert_string_equal(r.m[r.n - 1].path_template, "/items/{id}");
		req_off += n;

		/* responses: headers sampled, body in the gap, sometimes in two calls */
		n = (size_t)snprintf(buf, sizeof(buf),
				     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", body);
		if (i % 3 == 0 && body > 10) {
			assert_int_equal(feed_call(c, RESP, buf, n, n + 10, (uint64_t)i, &r), 1);
			assert_int_equal(feed_call(c, RESP, NULL, 0, body - 10, (uint64_t)i, &r),
					 0);
		} else {
			assert_int_equal(feed_call(c, RESP, buf, n, n + body, (uint64_t)i, &r), 1);
		}
		assert_int_equal(r.m[r.n - 1].stream_off, resp_off);
		assert_int_equal(r.m[r.n - 1].body_bytes, (int64_t)body);
		assert_string_equal(r.m[r.n - 1].method, i % 2 ? "PUT" : "GET");
		resp_off += n + body;
	}
	assert_int_equal(r.n, 200);
	assert_stats(c, 200, 0, 0, 0);
	proto_http1.conn_free(c);
}

static void test_pipelining(void **state)
{
	const char *reqs = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
			   "HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n"
			   "POST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
	const char *resps = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
			    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
			    "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	struct rec r = {0};
	void *c = proto_http1.conn_new();

	(void)state;
	assert_int_equal(feed_str(c, REQ, reqs, 1, &r), 3);
	assert_string_equal(r.m[0].path, "/a");
	assert_string_equal(r.m[1].method, "HEAD");
	assert_string_equal(r.m[2].method, "POST");
	assert_int_equal(r.m[1].stream_off, strstr(reqs, "HEAD") - reqs);
	assert_int_equal(r.m[2].stream_off, strstr(reqs, "POST") - reqs);
	assert_int_equal(r.m[2].body_bytes, 3);

	assert_int_equal(feed_str(c, RESP, resps, 2, &r), 3);
	assert_string_equal(r.m[3].method, "GET");
	assert_int_equal(r.m[3].body_bytes, 2);
	/* the response to HEAD has no body whatever its Content-Length says */
	assert_string_equal(r.m[4].method, "HEAD");
	assert_int_equal(r.m[4].body_bytes, 0);
	assert_int_equal(r.m[4].stream_off,
			 strstr(resps, "HTTP/1.1 200 OK\r\nContent-Length: 1000") - resps);
	assert_string_equal(r.m[5].method, "POST");
	assert_int_equal(r.m[5].status, 201);
	assert_int_equal(r.m[5].stream_off, strstr(resps, "HTTP/1.1 201") - resps);
	assert_stats(c, 6, 0, 0, 0);
	proto_http1.conn_free(c);
}

static void test_no_body_responses(void **state)
{
	struct rec r = {0};
	void *c = proto_http1.conn_new();

	(void)state;
	assert_int_equal(feed_str(c, REQ,
				  "HEAD /h HTTP/1.1\r\n\r\nGET /n HTTP/1.1\r\n\r\n"
				  "GET /m HTTP/1.1\r\n\r\n"
				  "POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: "
				  "4\r\n\r\n",
				  1, &r),
			 4);
	/* each response is followed at once by the next: none of them has a body */
	assert_int_equal(feed_str(c, RESP,
				  "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"
				  "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n"
				  "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "HTTP/1.1 100 Continue\r\n\r\n",
				  2, &r),
			 4);
	assert_int_equal(r.m[4].body_bytes, 0);
	assert_string_equal(r.m[4].method, "HEAD");
	assert_int_equal(r.m[5].status, 204);
	assert_int_equal(r.m[5].body_bytes, 0);
	assert_int_equal(r.m[6].status, 304);
	assert_int_equal(r.m[6].body_bytes, 0);
	assert_int_equal(r.m[7].status, 100);
	assert_string_equal(r.m[7].method, "POST");
	/* the body follows the 100; the final response still belongs to POST */
	assert_int_equal(feed_str(c, REQ, "data", 3, &r), 0);
	assert_int_equal(
		feed_str(c, RESP, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 4, &r), 1);
	assert_string_equal(r.m[8].method, "POST");
	assert_int_equal(r.m[8].status, 201);
	assert_stats(c, 9, 0, 0, 0);
	proto_http1.conn_free(c);
}

static void test_http10_and_connection(void **state)
{
	struct rec r = {0};
	void *c = proto_http1.conn_new();

	(void)state;
	assert_int_equal(feed_str(c, REQ, "GET /old HTTP/1.0\r\n\r\n", 1, &r), 1);
	assert_false(r.m[0].keep_alive);
	/* no length: the body runs until the close, everything after it is body */
	assert_int_equal(feed_str(c, RESP, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nabc", 2, &r), 1);
	assert_false(r.m[1].keep_alive);
	assert_int_equal(r.m[1].body_bytes, -1);
	assert_int_equal(feed_call(c, RESP, "more body", 9, 5000, 3, &r), 0);
	assert_int_equal(feed_call(c, RESP, NULL, 0, 5000, 4, &r), 0);
	assert_stats(c, 2, 0, 0, 0);
	proto_http1.conn_free(c);

	c = proto_http1.conn_new();
	memset(&r, 0, sizeof(r));
	assert_int_equal(
		feed_str(c, REQ, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 1, &r), 1);
	assert_true(r.m[0].keep_alive);
	assert_int_equal(feed_str(c, RESP,
				  "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: "
				  "0\r\n\r\n",
				  2, &r),
			 1);
	assert_true(r.m[1].keep_alive);
	/* HTTP/1.1 with Connection: close on the request closes the exchange */
	assert_int_equal(
		feed_str(c, REQ, "GET / HTTP/1.1\r\nconnection: foo, close\r\n\r\n", 3, &r), 1);
	assert_false(r.m[2].keep_alive);
	assert_int_equal(feed_str(c, RESP, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4, &r),
			 1);
	assert_false(r.m[3].keep_alive);
	assert_stats(c, 4, 0, 0, 0);
	proto_http1.conn_free(c);
}

static void test_headers_split(void **state)
{
	const char *req = "POST /a/b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
	const char *next = "GET /c HTTP/1.1\r\n\r\n";
	size_t cut[] = {3, 12, 22, 30, 40, 48, 49};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		struct rec r = {0};
		void *c = proto_http1.conn_new();

		assert_int_equal(feed_call(c, REQ, req, cut[i], cut[i], 10, &r), 0);
		assert_int_equal(feed_str(c, REQ, req + cut[i], 20, &r), 1);
		assert_int_equal(r.m[0].ts_ns, 10); /* the call that carried the start */
		assert_int_equal(r.m[0].body_bytes, 3);
		assert_string_equal(r.m[0].path, "/a/b");
		assert_int_equal(feed_str(c, REQ, next, 30, &r), 1);
		assert_int_equal(r.m[1].stream_off, strlen(req));
		assert_stats(c, 2, 0, 0, 0);
		proto_http1.conn_free(c);
	}
}

static void test_lost_and_resync(void **state)
{
	char big[1024];
	struct rec r = {0};
	void *c = proto_http1.conn_new();
	size_t n, resp_total;

	(void)state;
	n = (size_t)snprintf(big, sizeof(big),
			     "HTTP/1.1 200 OK\r\nX-Pad: %0400d\r\nContent-Length: 20\r\n\r\n", 0);
	resp_total = n + 20;
	assert_int_equal(feed_str(c, REQ, "GET /one HTTP/1.1\r\n\r\n", 1, &r), 1);
	/* only 64 bytes of the response's headers sampled: reported, then lost */
	assert_int_equal(feed_call(c, RESP, big, 64, n + 20, 2, &r), 1);
	assert_int_equal(r.m[1].status, 200);
	assert_string_equal(r.m[1].method, "GET");
	assert_int_equal(r.m[1].body_bytes, -1);
	assert_stats(c, 2, 0, 1, 0);
	/* unsampled and mid-body calls keep it lost without counting again */
	assert_int_equal(feed_call(c, RESP, NULL, 0, 500, 3, &r), 0);
	assert_int_equal(feed_call(c, RESP, "xyz", 3, 100, 4, &r), 0);
	assert_stats(c, 2, 0, 1, 0);

	/* the request side: a request line longer than the sample */
	n = (size_t)snprintf(big, sizeof(big), "GET /two/%0300d HTTP/1.1\r\nHost: a\r\n\r\n", 7);
	assert_int_equal(feed_call(c, REQ, big, 200, n, 5, &r), 1);
	assert_string_equal(r.m[2].method, "GET");
	assert_int_equal(strlen(r.m[2].path), PROTO_PATH_MAX - 1);
	assert_string_equal(r.m[2].path_template, "/two/{id}");
	assert_int_equal(r.m[2].stream_off, strlen("GET /one HTTP/1.1\r\n\r\n"));
	assert_stats(c, 3, 0, 2, 0);

	/* the next sampled calls begin with start lines: both directions resync */
	assert_int_equal(feed_str(c, REQ, "GET /three HTTP/1.1\r\n\r\n", 6, &r), 1);
	assert_int_equal(r.m[3].stream_off, strlen("GET /one HTTP/1.1\r\n\r\n") + n);
	assert_stats(c, 4, 1, 2, 0);
	assert_int_equal(feed_str(c, RESP, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", 7, &r),
			 1);
	assert_int_equal(r.m[4].status, 500);
	/* the response-side FIFO kept only the newest request */
	assert_string_equal(r.m[4].method, "GET");
	assert_int_equal(r.m[4].stream_off, resp_total + 500 + 100);
	assert_stats(c, 5, 2, 2, 0);
	proto_http1.conn_free(c);
}

static void test_resync_fifo(void **state)
{
	struct rec r = {0};
	void *c = proto_http1.conn_new();

	(void)state;
	/* responses lost in a gap leave stale requests; resync keeps the newest */
	assert_int_equal(feed_str(c, REQ, "HEAD /1 HTTP/1.1\r\n\r\n", 1, &r), 1);
	assert_int_equal(feed_call(c, RESP, "HT", 2, 300, 2, &r), 0);
	assert_stats(c, 1, 0, 1, 0);
	assert_int_equal(feed_str(c, REQ, "POST /2 HTTP/1.1\r\n\r\n", 3, &r), 1);
	assert_int_equal(feed_str(c, RESP, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 4, &r),
			 1);
	assert_string_equal(r.m[2].method, "POST");
	assert_int_equal(r.m[2].body_bytes, 2);
	assert_stats(c, 3, 1, 1, 0);
	proto_http1.conn_free(c);
}

static void test_garbage(void **state)
{
	const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	struct rec r = {0};
	void *c = proto_http1.conn_new();

	(void)state;
	assert_int_equal(feed_call(c, REQ, tls, sizeof(tls) - 1, 517, 1, &r), 0);
	assert_stats(c, 0, 0, 1, 1);
	assert_int_equal(feed_call(c, REQ, tls, sizeof(tls) - 1, 100, 2, &r), 0);
	assert_int_equal(feed_str(c, REQ, "get / HTTP/1.1\r\n\r\n", 3, &r), 0);
	assert_stats(c, 0, 0, 1, 1);
	assert_int_equal(feed_str(c, REQ, "GET / HTTP/1.1\r\n\r\n", 4, &r), 1);
	assert_stats(c, 1, 1, 1, 1);
	/* a header line without a colon */
	assert_int_equal(feed_str(c, REQ, "GET / HTTP/1.1\r\nbad header\r\n\r\n", 5, &r), 0);
	assert_stats(c, 1, 1, 2, 2);
	/* conflicting Content-Length values */
	assert_int_equal(feed_str(c, REQ,
				  "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: "
				  "2\r\n\r\n",
				  6, &r),
			 0);
	assert_stats(c, 1, 2, 3, 3);
	/* a bad version is no resync; a bad status on a fresh direction is an error */
	assert_int_equal(feed_str(c, REQ, "GET / HTTP/2.0\r\n\r\n", 7, &r), 0);
	assert_stats(c, 1, 2, 3, 3);
	assert_int_equal(feed_str(c, RESP, "HTTP/1.1 999 No\r\n\r\n", 8, &r), 0);
	assert_stats(c, 1, 2, 4, 4);
	/* a response-looking call in the request direction is not a resync */
	assert_int_equal(feed_str(c, REQ, "HTTP/1.1 200 OK\r\n\r\n", 9, &r), 0);
	assert_stats(c, 1, 2, 4, 4);
	/* no LF at all: caught at the end of the call */
	void *c2 = proto_http1.conn_new();
	assert_int_equal(feed_str(c2, RESP, "HTTP/1.1 200 OK\x01", 1, &r), 0);
	assert_stats(c2, 0, 0, 1, 1);
	proto_http1.conn_free(c2);
	proto_http1.conn_free(c);
}

/*
 * Feeding the first k bytes as one sampled call and the rest as a second
 * must report exactly what one call with everything reports; and every
 * prefix fed as a sample with the rest in a gap must not crash.
 */
static void test_every_prefix(void **state)
{
	const char *dirs[2] = {
		"GET /a?b HTTP/1.1\r\nHost: h\r\n\r\n"
		"POST /users/12345678-1234-1234-1234-123456789abc HTTP/1.1\r\n"
		"Content-Length: 5\r\n\r\nhello"
		"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
		"OPTIONS * HTTP/1.0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
		"HTTP/1.1 100 Continue\r\n\r\n"
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
		"HTTP/1.1 204 No Content\r\n\r\n"
		"HTTP/1.0 200 OK\r\n\r\ntrailing body",
	};
	static struct rec whole, split;
	int d;

	(void)state;
	for (d = 0; d < 2; d++) {
		enum proto_dir dir = d ? RESP : REQ;
		const char *s = dirs[d];
		size_t len = strlen(s), k;
		void *c;

		memset(&whole, 0, sizeof(whole));
		c = proto_http1.conn_new();
		feed_str(c, dir, s, 1, &whole);
		assert_int_equal(whole.n, 4 + d);
		assert_stats(c, (uint64_t)whole.n, 0, 0, 0);
		proto_http1.conn_free(c);

		for (k = 0; k <= len; k++) {
			memset(&split, 0, sizeof(split));
			c = proto_http1.conn_new();
			feed_call(c, dir, s, k, k, 1, &split);
			feed_call(c, dir, s + k, len - k, len - k, 1, &split);
			if (split.n != whole.n)
				fail_msg("dir %d split at %zu: %d messages, want %d", d, k, split.n,
					 whole.n);
			for (int i = 0; i < whole.n; i++)
				assert_msg_equal(&split.m[i], &whole.m[i]);
			proto_http1.conn_free(c);

			/* the prefix as the sample of a call that moved everything */
			c = proto_http1.conn_new();
			memset(&split, 0, sizeof(split));
			feed_call(c, dir, s, k, len, 1, &split);
			assert_true(split.n <= whole.n);
			proto_http1.conn_free(c);

			/* and as a whole call on its own */
			c = proto_http1.conn_new();
			feed_call(c, dir, s, k, k, 1, &split);
			proto_http1.conn_free(c);
		}
	}
}

/* Lines longer than the parser keeps, split over sampled calls. */
static void test_long_lines(void **state)
{
	static char req[2048];
	struct rec r = {0};
	void *c = proto_http1.conn_new();
	size_t n, i;

	(void)state;
	/* a 400-byte target: the version is judged from the end of the line */
	n = (size_t)snprintf(req, sizeof(req),
			     "GET /q/%0400d?x=1 HTTP/1.0\r\nCookie: %0700d\r\n"
			     "Content-Length: 4\r\n\r\nbody",
			     5, 6);
	for (i = 0; i < n; i += 200)
		feed_call(c, REQ, req + i, n - i < 200 ? n - i : 200, n - i < 200 ? n - i : 200, 1,
			  &r);
	assert_int_equal(r.n, 1);
	assert_false(r.m[0].keep_alive); /* HTTP/1.0, read from the line's tail */
	assert_int_equal(strlen(r.m[0].path), PROTO_PATH_MAX - 1);
	assert_string_equal(r.m[0].path_template, "/q/{id}");
	assert_int_equal(r.m[0].body_bytes, 4);
	assert_stats(c, 1, 0, 0, 0);
	/*
	 * the same in one call: lines longer than the parser keeps, though whole
	 * in the sample, take the buffered path (head and tail) like split ones
	 */
	{
		struct rec one = {0};
		void *c1 = proto_http1.conn_new();

		assert_int_equal(feed_call(c1, REQ, req, n, n, 1, &one), 1);
		assert_msg_equal(&one.m[0], &r.m[0]);
		assert_stats(c1, 1, 0, 0, 0);
		proto_http1.conn_free(c1);
	}
	/* the same with a bad version at the end is a parse error */
	n = (size_t)snprintf(req, sizeof(req), "GET /q/%0400d HTTP/9.9\r\n\r\n", 5);
	feed_call(c, REQ, req, 200, 200, 2, &r);
	feed_call(c, REQ, req + 200, n - 200, n - 200, 2, &r);
	assert_stats(c, 1, 0, 1, 1);
	proto_http1.conn_free(c);

	/* a request with a Transfer-Encoding that is not chunked: reported, then lost */
	c = proto_http1.conn_new();
	memset(&r, 0, sizeof(r));
	assert_int_equal(feed_str(c, REQ, "POST /z HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nxx",
				  1, &r),
			 1);
	assert_int_equal(r.m[0].body_bytes, -1);
	assert_stats(c, 1, 0, 1, 1);
	proto_http1.conn_free(c);
}

static void test_detect(void **state)
{
	static const struct {
		enum proto_dir dir;
		const char *s;
		bool ok;
	} cases[] = {
		{REQ, "GET / HTTP/1.1\r\n", true},
		{REQ, "GET /x", true},
		{REQ, "POST http://example.com/x HTTP/1.1\r\n", true},
		{REQ, "OPTIONS * HTTP/1.1\r\n", true},
		{REQ, "CONNECT example.com:443 HTTP/1.1\r\n", true},
		{REQ, "GET / HTTP/1.1\r", true},
		{REQ, "GET ", false},
		{REQ, "GE", false},
		{REQ, "", false},
		{REQ, "FOO / HTTP/1.1\r\n", false},
		{REQ, "get / HTTP/1.1\r\n", false},
		{REQ, "GET x HTTP/1.1\r\n", false},
		{REQ, "GET http:/x HTTP/1.1\r\n", false},
		{REQ, "GET / HTTP/2\r\n", false},
		{REQ, "GET / HTTP/1.1 x\r\n", false},
		{REQ, "GET /\x01 HTTP/1.1\r\n", false},
		{REQ, "PRI * HTTP/2.0\r\n", false},
		{REQ, "HTTP/1.1 200 OK\r\n", false},
		{RESP, "HTTP/1.1 200 ", true},
		{RESP, "HTTP/1.0 404 Not Found\r\n", true},
		{RESP, "HTTP/1.1 200\r\n", true},
		{RESP, "HTTP/1.1 200", true},
		{RESP, "HTTP/1.1 20", false},
		{RESP, "HTTP/1.1 600 X\r\n", false},
		{RESP, "HTTP/1.1 2000\r\n", false},
		{RESP, "HTTP/2 200\r\n", false},
		{RESP, "GET / HTTP/1.1\r\n", false},
		{RESP, "\x16\x03\x01", false},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].s);
		uint8_t *buf = malloc(n ? n : 1);

		memcpy(buf, cases[i].s, n);
		if (proto_http1.detect(cases[i].dir, buf, n) != cases[i].ok)
			fail_msg("detect(%d, \"%s\") != %d", cases[i].dir, cases[i].s, cases[i].ok);
		free(buf);
	}
	assert_false(proto_http1.detect(REQ, NULL, 0));
	assert_string_equal(proto_http1.name, "HTTP/1");
}

static void test_path_template(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{"/users/42/orders/7f3a9c2e1b?x=1", "/users/{id}/orders/{id}"},
		{"/", "/"},
		{"", ""},
		{"*", "*"},
		{"/a/b/c/", "/a/b/c/"},
		{"//x", "//x"},
		{"/v1/items", "/v1/items"},
		{"/api/v2beta1", "/api/v2beta1"},
		{"/u/123e4567-e89b-12d3-a456-426614174000/x", "/u/{id}/x"},
		{"/u/abcdefab-abcd-abcd-abcd-abcdefabcdef", "/u/{id}"},
		{"/t/dGVzdDEyMzQ1Ng==", "/t/{id}"},
		{"/t/abcdefghij", "/t/abcdefghij"},
		{"/t/abc1234", "/t/abc1234"},
		{"/t/abc12345", "/t/{id}"},
		{"/pods/web-7d9f8c6b5-x2kqz/logs", "/pods/{id}/logs"},
		{"/files/report.2024.pdf", "/files/report.2024.pdf"},
		{"/0", "/{id}"},
		{"/a#frag/1", "/a"},
		{"/a/1?b/2", "/a/{id}"},
		{"http://example.com:8080/users/7?x", "/users/{id}"},
		{"https://h", "/"},
		{"http://h?q=1", "/"},
		{"example.com:443", "example.com:443"},
	};
	char out[PROTO_PATH_MAX];
	char small[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ptr_equal(path_template(cases[i].in, out, sizeof(out)), out);
		if (strcmp(out, cases[i].out) != 0)
			fail_msg("path_template(\"%s\") = \"%s\", want \"%s\"", cases[i].in, out,
				 cases[i].out);
	}
	/* truncation: the longest prefix of the template that fits */
	path_template("/users/42/orders", small, sizeof(small));
	assert_string_equal(small, "/users/");
	path_template("/a/12345", small, 6);
	assert_string_equal(small, "/a/{i");
	path_template("/abc", small, 1);
	assert_string_equal(small, "");
	path_template("https://host/x", small, 2);
	assert_string_equal(small, "/");
	path_template(NULL, small, sizeof(small));
	assert_string_equal(small, "");

	/* a full-size path */
	char longp[400];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	path_template(longp, out, sizeof(out));
	assert_int_equal(strlen(out), sizeof(out) - 1);
}

static void test_null_safety(void **state)
{
	struct proto_stats st;
	void *c = proto_http1.conn_new();

	(void)state;
	memset(&st, 0xff, sizeof(st));
	proto_http1.stats(NULL, &st);
	assert_int_equal(st.messages, 0);
	proto_http1.conn_free(NULL);
	/* no callback, bad direction, NULL sample with a length */
	assert_int_equal(proto_http1.feed(c, REQ, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18, 18,
					  1, NULL, NULL),
			 1);
	assert_int_equal(proto_http1.feed(c, (enum proto_dir)7, (const uint8_t *)"x", 1, 1, 1, NULL,
					  NULL),
			 0);
	assert_int_equal(proto_http1.feed(c, REQ, NULL, 5, 5, 1, NULL, NULL), 0);
	assert_int_equal(proto_http1.feed(NULL, REQ, NULL, 0, 5, 1, NULL, NULL), 0);
	proto_http1.conn_free(c);
}

static void test_upgrade_tunnel(void **state)
{
	struct rec r = {0};
	void *c = proto_http1.conn_new();

	(void)state;
	assert_int_equal(feed_str(c, REQ,
				  "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: "
				  "websocket\r\n\r\n",
				  1, &r),
			 1);
	assert_int_equal(feed_str(c, RESP, "HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x05hello",
				  2, &r),
			 1);
	assert_string_equal(r.m[1].method, "GET");
	/* frames in both directions are not HTTP, and do not count as lost */
	assert_int_equal(feed_str(c, REQ, "\x81\x85....GET / HTTP/1.1\r\n\r\n", 3, &r), 0);
	assert_int_equal(feed_str(c, RESP, "HTTP/1.1 200 OK\r\n\r\n", 4, &r), 0);
	assert_stats(c, 2, 0, 0, 0);
	proto_http1.conn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_post_body_through_gaps),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_keep_alive_100),
		cmocka_unit_test(test_pipelining),
		cmocka_unit_test(test_no_body_responses),
		cmocka_unit_test(test_http10_and_connection),
		cmocka_unit_test(test_headers_split),
		cmocka_unit_test(test_lost_and_resync),
		cmocka_unit_test(test_resync_fifo),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_detect),
		cmocka_unit_test(test_path_template),
		cmocka_unit_test(test_null_safety),
		cmocka_unit_test(test_upgrade_tunnel),
	};

	return cmocka_run_group_tests_name("http1", tests, NULL, NULL);
}
