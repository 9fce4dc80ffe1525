// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * HTTP/1.x parser behind struct proto_ops (proto.h).
 *
 * The kernel hands us, for every read or write call on a connection, the
 * first few hundred bytes of the call and the number of bytes it moved. This
 * file keeps, per direction, the stream offset and where the parser stands in
 * the message framing (start line, headers, Content-Length body, chunked
 * body), so that it can count through the bytes it never sees and expect the
 * next message exactly where the framing puts it. Where a gap hides what the
 * framing needs (headers cut by the sample, chunk sizes inside a gap, garbage)
 * the direction goes out of sync and waits for a call whose sample begins with
 * a valid start line.
 *
 * A message is reported when its header block ends, or - when a gap cuts its
 * headers - at the gap, with what was seen (body_bytes -1 unless a
 * Content-Length was already read). body_bytes is the length of the body
 * that follows: 0 for requests without one and for responses that cannot
 * have one (HEAD, 1xx, 204, 304), -1 for chunked, to-the-close, cut or
 * tunnelled ones. Requests push their method on a small
 * per-connection FIFO that the response side reads to know HEAD and CONNECT
 * and to fill the response's method.
 *
 * Choices worth knowing:
 * - In sync inside a body, a call that begins with something looking like a
 *   start line is still body: the framing is trusted over the look of bytes
 *   (a body that happens to hold "GET / HTTP/1.1" must not make a message).
 *   Only an out-of-sync direction, or a response body delimited by the close
 *   of the connection, takes a call-initial start line as a new message.
 * - Re-synchronisation is only tried at the beginning of a call's sample,
 *   never in the middle of one.
 * - 1xx responses are reported (they are status lines); they do not consume
 *   the request from the FIFO. 101 and a 2xx answer to CONNECT turn both
 *   directions into an opaque tunnel for the rest of the connection.
 * - When the response side re-synchronises it cannot know how many responses
 *   it missed; it keeps only the newest pending request, the right guess for
 *   connections that do not pipeline.
 *
 * Memory: one allocation per connection (conn_new), nothing per call; work
 * per call is linear in the sample plus a bounded line parse; no recursion.
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "strutil.h"

#define H1_LINE_MAX	 320 /* bytes of one line kept: start line, header, chunk size */
#define H1_TAIL_MAX	 12  /* last bytes of an overlong line (the request's version) */
#define H1_FIFO_MAX	 32  /* requests awaiting their response */
#define H1_DIGITS_MAX	 18  /* Content-Length digits: fits int64_t */
#define H1_HEXDIGITS_MAX 15  /* chunk-size digits: fits in 60 bits */

enum h1_state {
	H1_START,	/* in sync: the next byte begins a message (CR/LF skipped) */
	H1_START_LINE,	/* inside the request or status line */
	H1_HEADERS,	/* inside the header block */
	H1_BODY,	/* counting a Content-Length body */
	H1_CHUNK_SIZE,	/* inside a chunk-size line */
	H1_CHUNK_DATA,	/* counting chunk data */
	H1_CHUNK_END,	/* the CRLF after chunk data */
	H1_TRAILERS,	/* trailer lines after the last chunk */
	H1_UNTIL_CLOSE, /* response body delimited by the close of the connection */
	H1_TUNNEL,	/* after 101 or CONNECT 2xx: no longer HTTP */
	H1_LOST,	/* out of sync until a call starts with a start line */
};

/* What a start line says; filled from a whole line or from a prefix of one. */
struct h1_start {
	char method[PROTO_METHOD_MAX];
	char path[PROTO_PATH_MAX];
	int status;
	int minor; /* HTTP/1.<minor>; 1 until the version is seen */
};

/* A request whose response has not been seen yet. */
struct h1_pending {
	char method[PROTO_METHOD_MAX];
	bool keep_alive;
};

/* One direction of a connection. */
struct h1_dir {
	uint64_t off; /* stream offset of the next byte */
	enum h1_state st;
	uint64_t remaining; /* H1_BODY, H1_CHUNK_DATA: bytes left */

	/* the current line; bytes past H1_LINE_MAX only feed the tail */
	char line[H1_LINE_MAX];
	size_t line_len;
	bool line_over;
	char tail[H1_TAIL_MAX];
	size_t tail_len;

	/* the message being parsed */
	uint64_t msg_off;
	uint64_t msg_ts_ns;
	struct h1_start start;
	int64_t content_length; /* -1: none seen */
	bool te_seen;
	bool te_chunked; /* the last Transfer-Encoding ends in "chunked" */
	bool conn_close;
	bool conn_keep_alive;
};

struct h1_conn {
	struct h1_dir dir[2];
	struct h1_pending fifo[H1_FIFO_MAX];
	unsigned int fifo_head;
	unsigned int fifo_len;
	struct proto_stats stats;
};

/* One feed() call: where reports go and how many were made. */
struct h1_call {
	struct h1_conn *c;
	enum proto_dir dir;
	uint64_t ts_ns;
	proto_msg_fn fn;
	void *ctx;
	int reported;
	/* the line line_done() is acting on: in the sample, or d->line */
	const char *ls;
	size_t ln;
};

enum h1_verdict {
	H1_INVALID, /* not a start line */
	H1_SHORT,   /* consistent so far, too short to say anything */
	H1_PREFIX,  /* a valid prefix that names the method and target, or the status */
	H1_COMPLETE /* a whole valid start line */
};

static const char *const h1_methods[] = {
	"GET",	 "HEAD",   "POST",     "PUT",	    "DELETE", "CONNECT", "OPTIONS",
	"TRACE", "PATCH",  "PROPFIND", "PROPPATCH", "MKCOL",  "COPY",	 "MOVE",
	"LOCK",	 "UNLOCK", "SEARCH",   "REPORT",    "PURGE",
};

static bool is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int hex_value(int ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/*
 * RFC 9110 tchar: what header names and methods are made of. Checked for
 * every byte of every header name: no strchr() for the punctuation, but a
 * bitmap of "!#$%&'*+-.^_`|~" over ASCII 0-63 and 64-127.
 */
static bool is_tchar(int ch)
{
	static const uint64_t punct_lo = 0x6cfa00000000ULL, punct_hi = 0x50000001c0000000ULL;

	if (is_digit(ch) || is_alpha(ch))
		return true;
	if (ch < 0 || ch > 127)
		return false;
	return ch < 64 ? (punct_lo >> ch) & 1 : (punct_hi >> (ch - 64)) & 1;
}

/* Bytes allowed inside a request target: visible, lenient about UTF-8. */
static bool is_target_char(int ch)
{
	return ch > 0x20 && ch != 0x7f;
}

/* Case-insensitive equality of @s[0..n) and the lower-case string literal @word. */
#define word_eq(s, n, word) ((n) == sizeof(word) - 1 && word_eq_n(s, word, sizeof(word) - 1))

static bool word_eq_n(const char *s, const char *word, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (lower((unsigned char)s[i]) != word[i])
			return false;
	}
	return true;
}

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/*
 * method_match - is @s[0..n) a known method (@whole) or a prefix of one?
 * Returns H1_COMPLETE for a known method, H1_SHORT for a proper prefix of
 * one, H1_INVALID otherwise.
 */
static enum h1_verdict method_match(const char *s, size_t n, bool whole)
{
	size_t i;

	for (i = 0; i < sizeof(h1_methods) / sizeof(h1_methods[0]); i++) {
		const char *m = h1_methods[i];
		size_t ml = strlen(m);

		if (n > ml || memcmp(s, m, n) != 0)
			continue;
		if (n == ml)
			return H1_COMPLETE;
		if (!whole)
			return H1_SHORT;
	}
	return H1_INVALID;
}

/*
 * match_version - compare @s[0..n) with "HTTP/1.<digit>". A complete match
 * stores the digit in @minor and returns H1_COMPLETE; a consistent shorter
 * prefix returns H1_SHORT; anything else H1_INVALID.
 */
static enum h1_verdict match_version(const char *s, size_t n, int *minor)
{
	static const char v[] = "HTTP/1.";
	size_t i;

	for (i = 0; i < n && i < sizeof(v) - 1; i++) {
		if (s[i] != v[i])
			return H1_INVALID;
	}
	if (n < sizeof(v))
		return H1_SHORT;
	if (!is_digit((unsigned char)s[sizeof(v) - 1]))
		return H1_INVALID;
	*minor = s[sizeof(v) - 1] - '0';
	return H1_COMPLETE;
}

/* Empty @st: fields, not a memset of the path (this runs for every message). */
static void start_reset(struct h1_start *st)
{
	st->method[0] = '\0';
	st->path[0] = '\0';
	st->status = 0;
	st->minor = 1;
}

/* Copy a request target into @path: the part before '?' or '#', truncated. */
static void copy_path(char *path, const char *t, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < PROTO_PATH_MAX - 1; i++) {
		if (t[i] == '?' || t[i] == '#')
			break;
		path[i] = t[i];
	}
	path[i] = '\0';
}

/*
 * parse_request_line - validate "METHOD SP target SP HTTP/1.x" in @s[0..n).
 * @whole: @s is the entire line (terminator stripped); otherwise it is a
 * prefix and may end anywhere. Fills @out as far as it got; returns the
 * verdict.
 */
static enum h1_verdict parse_request_line(const char *s, size_t n, bool whole, struct h1_start *out)
{
	const char *sp = memchr(s, ' ', n);
	size_t mlen = sp ? (size_t)(sp - s) : n;
	enum h1_verdict v;
	size_t i, t0, tlen;

	v = method_match(s, mlen, sp || whole);
	if (v != H1_COMPLETE)
		return v; /* H1_SHORT: a prefix of a method, no space yet */
	memcpy(out->method, s, mlen);
	out->method[mlen] = '\0';

	t0 = mlen + 1;
	if (t0 >= n)
		return whole ? H1_INVALID : H1_SHORT;
	if (s[t0] == '/') {
		/* origin-form */
	} else if (s[t0] == '*') {
		if (t0 + 1 < n && s[t0 + 1] != ' ')
			return H1_INVALID;
	} else if (is_alpha((unsigned char)s[t0])) {
		/* absolute-form "scheme://", or authority-form for CONNECT */
		for (i = t0;
		     i < n && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
			       s[i] == '+' || s[i] == '-' || s[i] == '.');
		     i++)
			;
		if (strcmp(out->method, "CONNECT") != 0) {
			static const char sep[] = "://";
			size_t k;

			for (k = 0; k < 3 && i + k < n; k++) {
				if (s[i + k] != sep[k])
					return H1_INVALID;
			}
			if (k < 3)
				return whole ? H1_INVALID : H1_SHORT;
		}
	} else if (!(strcmp(out->method, "CONNECT") == 0 &&
		     (is_digit((unsigned char)s[t0]) || s[t0] == '['))) {
		return H1_INVALID;
	}
	for (i = t0; i < n && s[i] != ' '; i++) {
		if (!is_target_char((unsigned char)s[i]))
			return H1_INVALID;
	}
	tlen = i - t0;
	copy_path(out->path, s + t0, tlen);
	if (i >= n)
		return whole ? H1_INVALID : H1_PREFIX;

	v = match_version(s + i + 1, n - i - 1, &out->minor);
	if (v == H1_INVALID)
		return H1_INVALID;
	if (whole)
		return v == H1_COMPLETE && n - i - 1 == 8 ? H1_COMPLETE : H1_INVALID;
	if (v == H1_COMPLETE && n - i - 1 > 8)
		return H1_INVALID; /* bytes after the version in one line */
	return H1_PREFIX;
}

/* parse_status_line - "HTTP/1.x SP 3DIGIT [SP reason]", like parse_request_line. */
static enum h1_verdict parse_status_line(const char *s, size_t n, bool whole, struct h1_start *out)
{
	enum h1_verdict v = match_version(s, n < 8 ? n : 8, &out->minor);
	size_t i;

	if (v != H1_COMPLETE)
		return v == H1_SHORT && !whole ? H1_SHORT : H1_INVALID;
	if (n <= 8)
		return whole ? H1_INVALID : H1_SHORT;
	if (s[8] != ' ')
		return H1_INVALID;
	if (n <= 9)
		return whole ? H1_INVALID : H1_SHORT;
	if (s[9] < '1' || s[9] > '5')
		return H1_INVALID;
	for (i = 10; i < 12 && i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return H1_INVALID;
	}
	if (n < 12)
		return whole ? H1_INVALID : H1_SHORT;
	out->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (n > 12 && s[12] != ' ')
		return H1_INVALID;
	for (i = 13; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return H1_INVALID;
	}
	return whole ? H1_COMPLETE : H1_PREFIX;
}

static enum h1_verdict parse_start_line(enum proto_dir dir, const char *s, size_t n, bool whole,
					struct h1_start *out)
{
	start_reset(out);
	if (dir == PROTO_DIR_REQUEST)
		return parse_request_line(s, n, whole, out);
	return parse_status_line(s, n, whole, out);
}

/*
 * sample_verdict - how the first bytes of a call, @data[0..len), read as a
 * start line: the first line if a LF ends it within @len, else the prefix
 * (one trailing CR ignored). Never reads past @len.
 */
static enum h1_verdict sample_verdict(enum proto_dir dir, const uint8_t *data, size_t len,
				      struct h1_start *out)
{
	const uint8_t *lf = memchr(data, '\n', len);
	size_t n = lf ? (size_t)(lf - data) : len;

	if (n && data[n - 1] == '\r')
		n--;
	return parse_start_line(dir, (const char *)data, n, lf != NULL, out);
}

/*
 * h1_detect - a start line, or a prefix of one long enough to tell: a known
 * method, a space and the start of a target ('/', '*', "scheme://", or an
 * authority for CONNECT), or "HTTP/1.x NNN". A line that ends (LF) within
 * @len must be whole and valid.
 */
static bool h1_detect(enum proto_dir dir, const uint8_t *data, size_t len)
{
	struct h1_start st;

	if (!data || (dir != PROTO_DIR_REQUEST && dir != PROTO_DIR_RESPONSE))
		return false;
	return sample_verdict(dir, data, len, &st) >= H1_PREFIX;
}

/* --- the pending-request FIFO ------------------------------------------- */

static struct h1_pending *fifo_front(struct h1_conn *c)
{
	return c->fifo_len ? &c->fifo[c->fifo_head] : NULL;
}

static void fifo_pop(struct h1_conn *c)
{
	if (!c->fifo_len)
		return;
	c->fifo_head = (c->fifo_head + 1) % H1_FIFO_MAX;
	c->fifo_len--;
}

/* Append a request; when full, the oldest (most likely stale) one goes. */
static void fifo_push(struct h1_conn *c, const char *method, bool keep_alive)
{
	struct h1_pending *p;

	if (c->fifo_len == H1_FIFO_MAX)
		fifo_pop(c);
	p = &c->fifo[(c->fifo_head + c->fifo_len) % H1_FIFO_MAX];
	str_copy(p->method, sizeof(p->method), method);
	p->keep_alive = keep_alive;
	c->fifo_len++;
}

/* Keep only the newest pending request (see the file comment). */
static void fifo_keep_newest(struct h1_conn *c)
{
	if (c->fifo_len <= 1)
		return;
	c->fifo_head = (c->fifo_head + c->fifo_len - 1) % H1_FIFO_MAX;
	c->fifo_len = 1;
}

/* --- state changes ------------------------------------------------------ */

static void line_reset(struct h1_dir *d)
{
	d->line_len = 0;
	d->line_over = false;
	d->tail_len = 0;
}

/* lose_sync - the direction no longer knows where messages start. */
static void lose_sync(struct h1_call *call, struct h1_dir *d, bool parse_error)
{
	if (parse_error)
		call->c->stats.parse_errors++;
	if (d->st != H1_LOST)
		call->c->stats.lost_sync++;
	d->st = H1_LOST;
	line_reset(d);
}

/* message_begin - the byte at stream offset @off starts a message. */
static void message_begin(struct h1_call *call, struct h1_dir *d, uint64_t off)
{
	d->st = H1_START_LINE;
	d->msg_off = off;
	d->msg_ts_ns = call->ts_ns;
	start_reset(&d->start);
	d->content_length = -1;
	d->te_seen = false;
	d->te_chunked = false;
	d->conn_close = false;
	d->conn_keep_alive = false;
	line_reset(d);
}

static bool message_keep_alive(const struct h1_dir *d)
{
	if (d->conn_close)
		return false;
	return d->conn_keep_alive || d->start.minor >= 1;
}

/*
 * report - hand the current message to the callback. Requests are pushed on
 * the FIFO; final responses (and 101) take theirs off it.
 */
static void report(struct h1_call *call, struct h1_dir *d, int64_t body_bytes)
{
	struct h1_conn *c = call->c;
	struct proto_msg m;

	/* fields one by one, the strings to their NUL: a memset of m costs more (per message) */
	m.dir = call->dir;
	m.ts_ns = d->msg_ts_ns;
	m.stream_off = d->msg_off;
	m.body_bytes = body_bytes;
	m.keep_alive = message_keep_alive(d);
	m.status = 0;
	m.method[0] = m.path[0] = m.path_template[0] = '\0';
	if (call->dir == PROTO_DIR_REQUEST) {
		str_copy(m.method, sizeof(m.method), d->start.method);
		str_copy(m.path, sizeof(m.path), d->start.path);
		path_template(m.path, m.path_template, sizeof(m.path_template));
		fifo_push(c, m.method, m.keep_alive);
	} else {
		struct h1_pending *p = fifo_front(c);

		m.status = d->start.status;
		if (p) {
			str_copy(m.method, sizeof(m.method), p->method);
			m.keep_alive = m.keep_alive && p->keep_alive;
			if (m.status >= 200 || m.status == 101)
				fifo_pop(c);
		}
	}
	c->stats.messages++;
	call->reported++;
	if (call->fn)
		call->fn(call->ctx, &m);
}

/* Does this response end HTTP on the connection (101, CONNECT 2xx)? */
static bool response_tunnels(const struct h1_conn *c, int status)
{
	const struct h1_pending *p = c->fifo_len ? &c->fifo[c->fifo_head] : NULL;

	return status == 101 || (p && strcmp(p->method, "CONNECT") == 0 && status / 100 == 2);
}

static void enter_tunnel(struct h1_conn *c)
{
	c->dir[PROTO_DIR_REQUEST].st = H1_TUNNEL;
	c->dir[PROTO_DIR_RESPONSE].st = H1_TUNNEL;
}

/*
 * headers_done - the empty line ended the header block: decide the body's
 * framing (RFC 9112 6.3), report the message and move to the body state.
 */
static void headers_done(struct h1_call *call, struct h1_dir *d)
{
	struct h1_conn *c = call->c;
	int status = d->start.status;

	if (call->dir == PROTO_DIR_REQUEST) {
		if (d->te_seen && !d->te_chunked) {
			/* RFC 9112 6.3: no way to find the end of this body */
			report(call, d, -1);
			lose_sync(call, d, true);
			return;
		}
		if (d->te_seen) {
			report(call, d, -1);
			d->st = H1_CHUNK_SIZE;
		} else if (d->content_length > 0) {
			report(call, d, d->content_length);
			d->st = H1_BODY;
			d->remaining = (uint64_t)d->content_length;
		} else {
			report(call, d, 0);
			d->st = H1_START;
		}
		return;
	}

	const struct h1_pending *p = fifo_front(c);
	bool head = p && strcmp(p->method, "HEAD") == 0;

	if (response_tunnels(c, status)) {
		report(call, d, -1);
		enter_tunnel(c);
	} else if (status < 200 || status == 204 || status == 304 || head) {
		report(call, d, 0);
		d->st = H1_START;
	} else if (d->te_seen) {
		report(call, d, -1);
		d->st = d->te_chunked ? H1_CHUNK_SIZE : H1_UNTIL_CLOSE;
	} else if (d->content_length >= 0) {
		report(call, d, d->content_length);
		d->st = d->content_length ? H1_BODY : H1_START;
		d->remaining = (uint64_t)d->content_length;
	} else {
		report(call, d, -1);
		d->st = H1_UNTIL_CLOSE;
	}
}

/* --- lines -------------------------------------------------------------- */

/* Append @n bytes to the current line; past H1_LINE_MAX only the tail is kept. */
static void line_append(struct h1_dir *d, const char *p, size_t n)
{
	size_t take = H1_LINE_MAX - d->line_len;

	if (take > n)
		take = n;
	memcpy(d->line + d->line_len, p, take);
	d->line_len += take;
	p += take;
	n -= take;
	if (!n)
		return;
	d->line_over = true;
	if (n >= H1_TAIL_MAX) {
		memcpy(d->tail, p + n - H1_TAIL_MAX, H1_TAIL_MAX);
		d->tail_len = H1_TAIL_MAX;
	} else {
		size_t keep = H1_TAIL_MAX - n < d->tail_len ? H1_TAIL_MAX - n : d->tail_len;

		memmove(d->tail, d->tail + d->tail_len - keep, keep);
		memcpy(d->tail + keep, p, n);
		d->tail_len = keep + n;
	}
}

/*
 * start_line_prefix - judge the unfinished start line in d->line as a prefix
 * (a CR at its end may be the first half of its CRLF). Fills d->start.
 */
static enum h1_verdict start_line_prefix(enum proto_dir dir, struct h1_dir *d)
{
	size_t n = d->line_len;

	if (!d->line_over && n && d->line[n - 1] == '\r')
		n--;
	return parse_start_line(dir, d->line, n, false, &d->start);
}

/*
 * start_line_done - a whole start line is call->ls[0..ln). An overlong
 * request line (in d->line and d->tail) is judged on its head (method,
 * target) and its tail (version). Returns false after losing sync.
 */
static bool start_line_done(struct h1_call *call, struct h1_dir *d)
{
	enum h1_verdict v;

	if (!d->line_over) {
		v = parse_start_line(call->dir, call->ls, call->ln, true, &d->start);
		if (v != H1_COMPLETE)
			goto invalid;
		return true;
	}
	v = start_line_prefix(call->dir, d);
	if (v < H1_PREFIX)
		goto invalid;
	if (call->dir == PROTO_DIR_REQUEST) {
		char end[H1_TAIL_MAX];
		size_t from_line = H1_TAIL_MAX - d->tail_len;

		/* the line's last H1_TAIL_MAX bytes: end of d->line, then the tail */
		memcpy(end, d->line + d->line_len - from_line, from_line);
		memcpy(end + from_line, d->tail, d->tail_len);
		if (end[H1_TAIL_MAX - 9] != ' ' ||
		    match_version(end + H1_TAIL_MAX - 8, 8, &d->start.minor) != H1_COMPLETE)
			goto invalid;
	}
	return true;
invalid:
	lose_sync(call, d, true);
	return false;
}

/* header_line - one header field line: note the three that matter. */
static bool header_line(struct h1_call *call, struct h1_dir *d)
{
	const char *s = call->ls, *colon, *val;
	size_t n = call->ln, name_len, vlen, i;

	if (s[0] == ' ' || s[0] == '\t')
		return true; /* obsolete line folding: continues an earlier value */
	colon = memchr(s, ':', n);
	if (!colon || colon == s)
		goto invalid;
	name_len = (size_t)(colon - s);
	for (i = 0; i < name_len; i++) {
		if (!is_tchar((unsigned char)s[i]))
			goto invalid;
	}
	val = colon + 1;
	vlen = n - name_len - 1;
	trim(&val, &vlen);

	if (word_eq(s, name_len, "content-length")) {
		/* a list of equal values ("5, 5") is tolerated, as RFC 9110 allows */
		if (!vlen || d->line_over)
			goto invalid;
		while (vlen) {
			const char *comma = memchr(val, ',', vlen);
			size_t el = comma ? (size_t)(comma - val) : vlen;
			size_t step = el + (comma ? 1 : 0);
			const char *e = val;
			int64_t v = 0;

			trim(&e, &el);
			if (!el || el > H1_DIGITS_MAX)
				goto invalid;
			for (i = 0; i < el; i++) {
				if (!is_digit((unsigned char)e[i]))
					goto invalid;
				v = v * 10 + (e[i] - '0');
			}
			if (d->content_length >= 0 && d->content_length != v)
				goto invalid;
			d->content_length = v;
			val += step;
			vlen -= step;
		}
	} else if (word_eq(s, name_len, "transfer-encoding")) {
		const char *last = memrchr(val, ',', vlen);
		const char *tok = last ? last + 1 : val;
		size_t tlen = vlen - (size_t)(tok - val);

		trim(&tok, &tlen);
		d->te_seen = true;
		d->te_chunked = word_eq(tok, tlen, "chunked");
	} else if (word_eq(s, name_len, "connection")) {
		while (vlen) {
			const char *comma = memchr(val, ',', vlen);
			size_t el = comma ? (size_t)(comma - val) : vlen;
			const char *e = val;
			size_t step = el + (comma ? 1 : 0);

			trim(&e, &el);
			if (word_eq(e, el, "close"))
				d->conn_close = true;
			else if (word_eq(e, el, "keep-alive"))
				d->conn_keep_alive = true;
			val += step;
			vlen -= step;
		}
	}
	return true;
invalid:
	lose_sync(call, d, true);
	return false;
}

/* chunk_size_line - "1a[;ext]": start the chunk's data, or the trailers. */
static bool chunk_size_line(struct h1_call *call, struct h1_dir *d)
{
	const char *s = call->ls;
	size_t n = call->ln, i;
	uint64_t size = 0;

	for (i = 0; i < n && hex_value((unsigned char)s[i]) >= 0; i++) {
		if (i == H1_HEXDIGITS_MAX) {
			lose_sync(call, d, true);
			return false;
		}
		size = size * 16 + (uint64_t)hex_value((unsigned char)s[i]);
	}
	if (i == 0 || (i < n && s[i] != ';' && s[i] != ' ' && s[i] != '\t')) {
		lose_sync(call, d, true);
		return false;
	}
	d->remaining = size;
	d->st = size ? H1_CHUNK_DATA : H1_TRAILERS;
	return true;
}

/*
 * line_done - the line @s[0..n) (LF excluded) ended in a line-oriented
 * state; act on it. @s is d->line, or the sample itself when the whole line
 * is in it (no copy).
 */
static void line_done(struct h1_call *call, struct h1_dir *d, const char *s, size_t n)
{
	if (d->line_over) {
		if (d->tail_len && d->tail[d->tail_len - 1] == '\r')
			d->tail_len--;
	} else if (n && s[n - 1] == '\r') {
		n--;
	}
	call->ls = s;
	call->ln = n;
	switch (d->st) {
	case H1_START_LINE:
		if (start_line_done(call, d))
			d->st = H1_HEADERS;
		break;
	case H1_HEADERS:
		if (n == 0 && !d->line_over)
			headers_done(call, d);
		else
			header_line(call, d);
		break;
	case H1_CHUNK_SIZE:
		chunk_size_line(call, d);
		break;
	case H1_CHUNK_END:
		if (n || d->line_over)
			lose_sync(call, d, true);
		else
			d->st = H1_CHUNK_SIZE;
		break;
	case H1_TRAILERS:
		if (n == 0 && !d->line_over)
			d->st = H1_START;
		break;
	default:
		break;
	}
	if (d->st != H1_LOST)
		line_reset(d);
}

/*
 * step - consume bytes of @p[0..n), which sit at stream offset @off, in the
 * current state. Returns how many were consumed; 0 only when the state
 * changed without consuming (the caller loops, or stops on a sink state).
 */
static size_t step(struct h1_call *call, struct h1_dir *d, const uint8_t *p, size_t n, uint64_t off)
{
	const uint8_t *lf;
	size_t take;

	switch (d->st) {
	case H1_START:
		if (p[0] == '\r' || p[0] == '\n')
			return 1;
		message_begin(call, d, off);
		return 0;
	case H1_START_LINE:
	case H1_HEADERS:
	case H1_CHUNK_SIZE:
	case H1_CHUNK_END:
	case H1_TRAILERS:
		lf = memchr(p, '\n', n);
		take = lf ? (size_t)(lf - p) : n;
		if (lf && !d->line_len && !d->line_over && take <= H1_LINE_MAX) {
			/* the whole line is in the sample: parse it there */
			line_done(call, d, (const char *)p, take);
			return take + 1;
		}
		line_append(d, (const char *)p, take);
		if (!lf)
			return n;
		line_done(call, d, d->line, d->line_len);
		return take + 1;
	case H1_BODY:
	case H1_CHUNK_DATA:
		take = d->remaining < n ? (size_t)d->remaining : n;
		d->remaining -= take;
		if (!d->remaining)
			d->st = d->st == H1_BODY ? H1_START : H1_CHUNK_END;
		return take;
	default:
		return n; /* sinks: H1_UNTIL_CLOSE, H1_TUNNEL, H1_LOST */
	}
}

/*
 * report_cut - a gap cut the start line or the headers: report the message
 * if its start line was seen far enough, then lose sync (or enter the tunnel
 * a 101 announces).
 */
static void report_cut(struct h1_call *call, struct h1_dir *d)
{
	struct h1_conn *c = call->c;

	if (d->st == H1_START_LINE) {
		enum h1_verdict v = start_line_prefix(call->dir, d);

		if (v < H1_PREFIX) {
			lose_sync(call, d, v == H1_INVALID);
			return;
		}
	}
	int64_t body = !d->te_seen ? d->content_length : -1;

	if (call->dir == PROTO_DIR_RESPONSE && response_tunnels(c, d->start.status)) {
		report(call, d, -1);
		enter_tunnel(c);
		return;
	}
	report(call, d, body);
	lose_sync(call, d, false);
}

/* gap - @gap bytes of the stream went by unseen. */
static void gap(struct h1_call *call, struct h1_dir *d, uint64_t gap)
{
	switch (d->st) {
	case H1_START:
	case H1_CHUNK_SIZE:
	case H1_CHUNK_END:
	case H1_TRAILERS:
		lose_sync(call, d, false);
		break;
	case H1_START_LINE:
	case H1_HEADERS:
		report_cut(call, d);
		break;
	case H1_BODY:
	case H1_CHUNK_DATA:
		if (gap > d->remaining) {
			lose_sync(call, d, false);
			break;
		}
		d->remaining -= gap;
		if (!d->remaining)
			d->st = d->st == H1_BODY ? H1_START : H1_CHUNK_END;
		break;
	default:
		break;
	}
}

static void *h1_conn_new(void)
{
	struct h1_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->dir[PROTO_DIR_REQUEST].st = H1_START;
	c->dir[PROTO_DIR_RESPONSE].st = H1_START;
	return c;
}

/*
 * h1_feed - see proto.h. Order of work for one call: (1) at the start of a
 * sample, an out-of-sync direction (or a response body running to the close)
 * takes a valid start line as a new message; (2) the sample's bytes run
 * through the state machine; (3) a start line left unfinished with no gap is
 * checked as a prefix so that garbage without a LF is caught now; (4) the
 * gap, if any, is counted through the framing.
 */
static int h1_feed(void *conn, enum proto_dir dir, const uint8_t *sample, size_t len,
		   uint64_t total, uint64_t ts_ns, proto_msg_fn fn, void *ctx)
{
	struct h1_conn *c = conn;
	struct h1_call call = {.c = c, .dir = dir, .ts_ns = ts_ns, .fn = fn, .ctx = ctx};
	struct h1_dir *d;
	struct h1_start st;
	size_t i = 0;

	if (!c || (dir != PROTO_DIR_REQUEST && dir != PROTO_DIR_RESPONSE))
		return 0;
	if (!sample)
		len = 0;
	if (total < len)
		total = len;
	d = &c->dir[dir];

	if (len && (d->st == H1_LOST || d->st == H1_UNTIL_CLOSE) &&
	    sample_verdict(dir, sample, len, &st) >= H1_PREFIX) {
		if (d->st == H1_LOST) {
			c->stats.resyncs++;
			if (dir == PROTO_DIR_RESPONSE)
				fifo_keep_newest(c);
		}
		d->st = H1_START;
	}

	while (i < len && d->st != H1_LOST && d->st != H1_TUNNEL && d->st != H1_UNTIL_CLOSE)
		i += step(&call, d, sample + i, len - i, d->off + i);

	if (total == len && d->st == H1_START_LINE && start_line_prefix(dir, d) == H1_INVALID)
		lose_sync(&call, d, true);
	if (total > len)
		gap(&call, d, total - len);
	d->off += total;
	return call.reported;
}

static void h1_stats(const void *conn, struct proto_stats *out)
{
	const struct h1_conn *c = conn;

	if (!out)
		return;
	if (!c) {
		memset(out, 0, sizeof(*out));
		return;
	}
	*out = c->stats;
}

static void h1_conn_free(void *conn)
{
	free(conn);
}

const struct proto_ops proto_http1 = {
	.name = "HTTP/1",
	.detect = h1_detect,
	.conn_new = h1_conn_new,
	.feed = h1_feed,
	.stats = h1_stats,
	.conn_free = h1_conn_free,
};

/* --- path templates ----------------------------------------------------- */

/* Is @s[0..n) an 8-4-4-4-12 hex UUID? */
static bool is_uuid(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return false;
	for (i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (hex_value((unsigned char)s[i]) < 0) {
			return false;
		}
	}
	return true;
}

/*
 * is_id_segment - does a path segment look like an identifier: all digits,
 * a UUID, or a hex/base64url-like token ([A-Za-z0-9_-], '=' padding at the
 * end) of 8 or more characters holding at least one digit?
 */
static bool is_id_segment(const char *s, size_t n)
{
	bool digit = false, all_digits = true;
	size_t i, pad = 0;

	if (!n)
		return false;
	if (is_uuid(s, n))
		return true;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '=') {
			pad++;
			all_digits = false;
			continue;
		}
		if (pad)
			return false; /* '=' only at the end */
		if (is_digit(ch))
			digit = true;
		else
			all_digits = false;
		if (!is_digit(ch) && !is_alpha(ch) && ch != '-' && ch != '_')
			return false;
	}
	if (all_digits)
		return true;
	return digit && n - pad >= 8;
}

/* Length of a URI scheme at the start of @s[0..n) followed by "://", or 0. */
static size_t scheme_len(const char *s, size_t n)
{
	size_t i;

	if (!n || !is_alpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!is_alpha(ch) && !is_digit(ch) && ch != '+' && ch != '-' && ch != '.')
			break;
	}
	if (n - i >= 3 && memcmp(s + i, "://", 3) == 0)
		return i;
	return 0;
}

/*
 * path_template - see proto.h. The output is the longest prefix of the full
 * template that fits in @n - 1 bytes. An absolute-form URI loses its
 * "scheme://authority" (an empty path becomes "/"); "*" and "" are kept.
 */
char *path_template(const char *path, char *out, size_t n)
{
	size_t end, i, o = 0, sl;

	if (!out || !n)
		return out;
	out[0] = '\0';
	if (!path)
		return out;
	end = strcspn(path, "?#");
	i = 0;
	sl = scheme_len(path, end);
	if (sl) {
		i = sl + 3;
		while (i < end && path[i] != '/')
			i++;
		if (i == end) {
			if (n > 1)
				out[o++] = '/';
			out[o] = '\0';
			return out;
		}
	}
	while (i < end && o + 1 < n) {
		size_t seg, k;
		const char *src;
		size_t src_len;

		if (path[i] == '/') {
			out[o++] = '/';
			i++;
			continue;
		}
		for (seg = i; seg < end && path[seg] != '/'; seg++)
			;
		if (is_id_segment(path + i, seg - i)) {
			src = "{id}";
			src_len = 4;
		} else {
			src = path + i;
			src_len = seg - i;
		}
		for (k = 0; k < src_len && o + 1 < n; k++)
			out[o++] = src[k];
		i = seg;
	}
	out[o] = '\0';
	return out;
}
