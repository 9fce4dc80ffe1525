/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The protocol interface: one parser file per protocol (src/http1.c for
 * HTTP/1.x; HTTP/2 and others later) behind one set of operations, so that
 * the request stitcher never knows which protocol it reads.
 *
 * Input is what the kernel samples: for each read or write call on a
 * connection, the first bytes of the call (at most a few hundred) and the
 * total number of bytes the call moved. Bytes past the sample are a gap:
 * the parser counts through them (framing by Content-Length or chunk
 * sizes where it knows them) without seeing them. When a gap swallows a
 * message boundary the parser loses its place and re-synchronises on the
 * next call that starts with a valid start line.
 *
 * Output: one struct proto_msg per message *start* found (request line or
 * status line), in stream order, through a callback.
 */
#ifndef PODSCOPE_PROTO_H
#define PODSCOPE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTO_METHOD_MAX 16
#define PROTO_PATH_MAX	 192

/* Direction of the bytes on a connection. */
enum proto_dir {
	PROTO_DIR_REQUEST = 0,	/* client -> server */
	PROTO_DIR_RESPONSE = 1, /* server -> client */
};

struct proto_msg {
	enum proto_dir dir;
	uint64_t ts_ns;		       /* timestamp passed with the call that carried the start */
	uint64_t stream_off;	       /* offset of the first byte in this direction's stream */
	char method[PROTO_METHOD_MAX]; /* requests: "GET"; responses: the request's method if known */
	char path[PROTO_PATH_MAX];     /* requests: path without query, truncated */
	char path_template[PROTO_PATH_MAX]; /* requests: path_template(path) */
	int status;			    /* responses: 100..599; requests: 0 */
	int64_t body_bytes; /* declared body length; -1 chunked/unknown/until close */
	bool keep_alive;    /* false: the connection closes after this exchange */
};

struct proto_stats {
	uint64_t messages;     /* message starts reported */
	uint64_t resyncs;      /* times the parser found its place again after losing it */
	uint64_t lost_sync;    /* times a gap or garbage made it lose its place */
	uint64_t parse_errors; /* start lines or headers that were not valid */
};

typedef void (*proto_msg_fn)(void *ctx, const struct proto_msg *msg);

struct proto_ops {
	const char *name; /* "HTTP/1" */
	/*
	 * detect - does @data (the first bytes seen in @dir on a new
	 * connection) look like this protocol? Returns true only on a
	 * complete, valid start line prefix ("GET / HTTP/1.1\r\n" or
	 * "HTTP/1.1 200 ").
	 */
	bool (*detect)(enum proto_dir dir, const uint8_t *data, size_t len);
	/* conn_new - parser state for one connection (both directions); NULL on ENOMEM. */
	void *(*conn_new)(void);
	/*
	 * feed - one read/write call on the connection: @sample holds the
	 * first @len bytes of the @total bytes the call moved (@len <= @total;
	 * @len == 0 for calls that were not sampled). Calls @fn for each message
	 * start found, in order. Never reads past @len. Returns the number of
	 * message starts reported.
	 */
	int (*feed)(void *conn, enum proto_dir dir, const uint8_t *sample, size_t len,
		    uint64_t total, uint64_t ts_ns, proto_msg_fn fn, void *ctx);
	/* stats - counters of this connection's parser (may be NULL-safe on @conn). */
	void (*stats)(const void *conn, struct proto_stats *out);
	void (*conn_free)(void *conn); /* NULL-safe */
};

/* The HTTP/1.x parser (src/http1.c). */
extern const struct proto_ops proto_http1;

/*
 * path_template - bound the cardinality of a request path: the query string
 * is dropped, segments that are numbers, UUIDs, or hex/base64-like ids of 8
 * or more characters become "{id}". "/users/42/orders/7f3a9c2e1b?x=1" ->
 * "/users/{id}/orders/{id}". Always NUL-terminates @out (@n >= 1); returns
 * @out.
 */
char *path_template(const char *path, char *out, size_t n);

#endif /* PODSCOPE_PROTO_H */
