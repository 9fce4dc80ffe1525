// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fuzz target for the HTTP/1.x parser (src/http1.c), libFuzzer's entry
 * point. The input is a list of calls on one connection, each a 4-byte
 * header and its sample:
 *
 *   byte 0   bit 0: direction (0 request, 1 response)
 *            bit 1: also run detect() on the sample
 *            bit 2: the gap is in units of 256 bytes
 *            bit 3: unsampled call: no sample bytes follow, len 0
 *   byte 1   sample length (cut to what is left of the input)
 *   byte 2-3 gap: bytes the call moved past its sample (little endian)
 *
 * Every sample is copied to a buffer of exactly its length, so that ASan
 * catches any read past it. Invariants checked: feed() returns the number
 * of callbacks it made; messages carry the call's direction, NUL-terminated
 * strings, a valid status, a path_template equal to path_template(path),
 * stream offsets strictly increasing per direction and inside the bytes fed;
 * no more messages than bytes; counters consistent (resyncs and parse errors
 * never exceed losses). Differential check of the split logic: when no call
 * has a gap, the same bytes are fed again with consecutive same-direction
 * calls merged; if that run never lost sync and no response body ran to the
 * close (the two cases where call boundaries rightly matter), the original
 * run must report the same messages and never lose sync either.
 * path_template() itself is checked on each sample for termination and for
 * the prefix property under truncation.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

#define FUZZ_CALLS_MAX 2048
#define FUZZ_MSGS_MAX  4096

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz_http1: %s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                                          \
			abort();                                                           \
		}                                                                          \
	} while (0)

struct fuzz_call {
	enum proto_dir dir;
	bool detect;
	const uint8_t *sample;
	size_t len;
	uint64_t total;
};

struct fuzz_run {
	struct proto_msg msgs[FUZZ_MSGS_MAX];
	size_t n;	      /* messages seen (may exceed FUZZ_MSGS_MAX; then not stored) */
	int in_call;	      /* callbacks during the current feed() */
	enum proto_dir dir;   /* the current call's direction */
	uint64_t ts_ns;	      /* the current call's timestamp */
	uint64_t end_off[2];  /* bytes fed per direction, the current call included */
	uint64_t last_off[2]; /* stream_off of the last message per direction */
	bool any[2];
	bool resp_unknown_body; /* a response reported body_bytes -1 */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool nul_within(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static void on_msg(void *ctx, const struct proto_msg *m)
{
	struct fuzz_run *r = ctx;
	char tmpl[PROTO_PATH_MAX];
	int d = m->dir == PROTO_DIR_RESPONSE;

	CHECK(m->dir == r->dir);
	CHECK(nul_within(m->method, sizeof(m->method)));
	CHECK(nul_within(m->path, sizeof(m->path)));
	CHECK(nul_within(m->path_template, sizeof(m->path_template)));
	CHECK(m->ts_ns <= r->ts_ns);
	CHECK(m->body_bytes >= -1);
	if (m->dir == PROTO_DIR_REQUEST) {
		CHECK(m->status == 0);
		CHECK(m->method[0] != '\0');
		path_template(m->path, tmpl, sizeof(tmpl));
		CHECK(strcmp(tmpl, m->path_template) == 0);
	} else {
		CHECK(m->status >= 100 && m->status <= 599);
		CHECK(m->path[0] == '\0');
		if (m->body_bytes == -1)
			r->resp_unknown_body = true;
	}
	CHECK(m->stream_off < r->end_off[d]);
	if (r->any[d])
		CHECK(m->stream_off > r->last_off[d]);
	r->last_off[d] = m->stream_off;
	r->any[d] = true;
	if (r->n < FUZZ_MSGS_MAX)
		r->msgs[r->n] = *m;
	r->n++;
	r->in_call++;
}

/* Split the input into calls; returns how many. */
static size_t parse_calls(const uint8_t *data, size_t size, struct fuzz_call *calls)
{
	size_t i = 0, n = 0;

	while (size - i >= 4 && n < FUZZ_CALLS_MAX) {
		uint8_t flags = data[i];
		size_t len = data[i + 1];
		uint64_t gap = (uint64_t)data[i + 2] | (uint64_t)data[i + 3] << 8;

		i += 4;
		if (flags & 4)
			gap <<= 8;
		if (flags & 8)
			len = 0;
		if (len > size - i)
			len = size - i;
		calls[n].dir = flags & 1 ? PROTO_DIR_RESPONSE : PROTO_DIR_REQUEST;
		calls[n].detect = flags & 2;
		calls[n].sample = data + i;
		calls[n].len = len;
		calls[n].total = len + gap;
		i += len;
		n++;
	}
	return n;
}

/* path_template on a sample: terminated, bounded, and a prefix when cut. */
static void check_template(const uint8_t *sample, size_t len)
{
	char path[300], full[400], cut[64];
	size_t n = len < sizeof(path) - 1 ? len : sizeof(path) - 1, lim;

	memcpy(path, sample, n);
	path[n] = '\0';
	path_template(path, full, sizeof(full));
	CHECK(strlen(full) < sizeof(full));
	lim = 1 + (len ? sample[0] % sizeof(cut) : 0);
	path_template(path, cut, lim);
	CHECK(strlen(cut) < lim);
	CHECK(strncmp(cut, full, strlen(cut)) == 0);
	CHECK(strlen(cut) == (strlen(full) < lim - 1 ? strlen(full) : lim - 1));
}

/*
 * run_calls - feed @calls to a new connection, checking invariants as it
 * goes; the messages land in @r and the counters in @st.
 */
static void run_calls(const struct fuzz_call *calls, size_t n, struct fuzz_run *r,
		      struct proto_stats *st)
{
	void *c = proto_http1.conn_new();
	uint64_t fed[2] = {0, 0};
	size_t i;

	CHECK(c != NULL);
	r->n = 0;
	for (i = 0; i < 2; i++) {
		r->end_off[i] = 0;
		r->last_off[i] = 0;
		r->any[i] = false;
	}
	r->resp_unknown_body = false;
	for (i = 0; i < n; i++) {
		const struct fuzz_call *k = &calls[i];
		int d = k->dir == PROTO_DIR_RESPONSE;
		uint8_t *buf = k->len ? malloc(k->len) : NULL;
		int ret;

		if (k->len) {
			CHECK(buf != NULL);
			memcpy(buf, k->sample, k->len);
		}
		if (k->detect)
			(void)proto_http1.detect(k->dir, buf, k->len);
		r->dir = k->dir;
		r->ts_ns = i + 1;
		r->in_call = 0;
		r->end_off[d] = fed[d] + k->total;
		ret = proto_http1.feed(c, k->dir, buf, k->len, k->total, i + 1, on_msg, r);
		CHECK(ret == r->in_call);
		CHECK(ret >= 0);
		fed[d] += k->total;
		free(buf);
	}
	proto_http1.stats(c, st);
	CHECK(st->messages == r->n);
	CHECK(st->resyncs <= st->lost_sync);
	CHECK(st->parse_errors <= st->lost_sync);
	CHECK(r->n <= fed[0] + fed[1]);
	proto_http1.conn_free(c);
}

static struct fuzz_call calls[FUZZ_CALLS_MAX], merged[FUZZ_CALLS_MAX];
static struct fuzz_run run1, run2;
static uint8_t joined[1 << 20];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_stats st1, st2;
	size_t n, i, m = 0, used = 0;
	bool gapless = true;

	n = parse_calls(data, size, calls);
	for (i = 0; i < n; i++) {
		if (calls[i].detect)
			check_template(calls[i].sample, calls[i].len);
		if (calls[i].total != calls[i].len)
			gapless = false;
	}
	run_calls(calls, n, &run1, &st1);
	if (!gapless || size > sizeof(joined))
		return 0;

	/* the same bytes, consecutive calls in one direction merged into one */
	for (i = 0; i < n; i++) {
		if (m && merged[m - 1].dir == calls[i].dir) {
			merged[m - 1].len += calls[i].len;
			merged[m - 1].total += calls[i].len;
		} else {
			merged[m].dir = calls[i].dir;
			merged[m].detect = false;
			merged[m].sample = joined + used;
			merged[m].len = calls[i].len;
			merged[m].total = calls[i].len;
			m++;
		}
		memcpy(joined + used, calls[i].sample, calls[i].len);
		used += calls[i].len;
	}
	run_calls(merged, m, &run2, &st2);
	if (st2.lost_sync || run2.resp_unknown_body || run2.n > FUZZ_MSGS_MAX)
		return 0; /* call boundaries may then rightly matter: resync, body to the close */
	CHECK(run1.n == run2.n);
	CHECK(st1.messages == st2.messages && st1.lost_sync == 0 && st1.parse_errors == 0);
	for (i = 0; i < run1.n; i++) {
		const struct proto_msg *a = &run1.msgs[i], *b = &run2.msgs[i];

		CHECK(a->dir == b->dir && a->stream_off == b->stream_off);
		CHECK(a->status == b->status && a->body_bytes == b->body_bytes);
		CHECK(a->keep_alive == b->keep_alive);
		CHECK(strcmp(a->method, b->method) == 0 && strcmp(a->path, b->path) == 0);
	}
	return 0;
}
