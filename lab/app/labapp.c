/* podscope-labapp — the pod lab's application: a small HTTP/1.1 server.
 *
 * Thread per connection, HTTP/1.1 keep-alive with Content-Length framing,
 * pipelining and partial reads handled, garbage answered with 400 + close.
 * Optionally calls one upstream (GET over a per-connection-thread keep-alive
 * connection) for every request it serves, like a bookinfo service calling
 * the next one.
 *
 *   --listen ADDR:PORT      listen address (default 0.0.0.0:9080)
 *   --size BYTES            response body size (default 1024); body is
 *                           'a'..'z' repeated, byte i = 'a' + i % 26
 *   --delay-us N            processing delay per request, in microseconds
 *   --upstream URL          http://IPv4:PORT/PATH called once per request
 *   --name NAME             value of the X-Labapp response header
 *   --max-conns N           concurrent connection limit (default 1024)
 *
 * Per-request query overrides: ?size=N&delay_us=N
 * Paths not counted and never calling upstream: /healthz, /labapp/stats
 * (JSON counters). Every other path is a normal request.
 * On SIGTERM/SIGINT, one line of counters is written to stderr and it exits.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define REQ_BUF	       16384
#define MAX_BODY_SIZE  (256L * 1024 * 1024)
#define MAX_DELAY_US   10000000L
#define PATTERN_LEN    (26 * 2520) /* 65520, a multiple of 26 */
#define IDLE_TIMEOUT_S 120
#define UP_TIMEOUT_S   10

static const char *prog = "podscope-labapp";
static long g_size = 1024;
static long g_delay_us;
static const char *g_name = "labapp";
static long g_max_conns = 1024;
static int g_have_upstream;
static struct sockaddr_in g_up_addr;
static char g_up_hostport[64];
static char g_up_path[1024] = "/";
static char g_pattern[PATTERN_LEN + 26];

static atomic_long st_requests, st_upstream_calls, st_upstream_errors, st_bad, st_conns_total;
static atomic_long st_conns_open;

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see --help)\n");
	exit(2);
}

static void usage(void)
{
	printf("usage: %s [--listen ADDR:PORT] [--size BYTES] [--delay-us N]\n"
	       "       [--upstream http://IP:PORT/PATH] [--name NAME] [--max-conns N]\n"
	       "query overrides: ?size=N&delay_us=N ; /healthz and /labapp/stats are\n"
	       "not counted and never call upstream.\n",
	       prog);
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_addrport(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host) || colon == s)
		return -1;
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	if (parse_long(colon + 1, 1, 65535, &port))
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return -1;
	return 0;
}

static int parse_upstream(const char *url)
{
	const char *p, *slash;
	char hp[64];

	if (strncmp(url, "http://", 7))
		return -1;
	p = url + 7;
	slash = strchr(p, '/');
	if (!slash)
		slash = p + strlen(p);
	if ((size_t)(slash - p) >= sizeof(hp) || slash == p)
		return -1;
	memcpy(hp, p, slash - p);
	hp[slash - p] = 0;
	if (parse_addrport(hp, &g_up_addr))
		return -1;
	snprintf(g_up_hostport, sizeof(g_up_hostport), "%s", hp);
	if (*slash) {
		if (strlen(slash) >= sizeof(g_up_path))
			return -1;
		for (const char *c = slash; *c; c++)
			if ((unsigned char)*c <= 0x20 || *c == 0x7f)
				return -1;
		snprintf(g_up_path, sizeof(g_up_path), "%s", slash);
	}
	return 0;
}

/* ---------- I/O helpers ---------- */

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_body(int fd, long size)
{
	long off = 0;

	while (off < size) {
		long chunk = size - off;
		if (chunk > PATTERN_LEN)
			chunk = PATTERN_LEN;
		if (write_all(fd, g_pattern + (off % 26), (size_t)chunk))
			return -1;
		off += chunk;
	}
	return 0;
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Find end of header block; returns offset just past "\r\n\r\n" or 0. */
static size_t find_hdr_end(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Header value lookup in a NUL-terminated header block (lines end \r\n).
 * Copies the trimmed value into out. Returns 1 if found, 0 if not, -1 on
 * duplicate (for Content-Length). */
static int header_get(const char *hdrs, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);
	const char *line = hdrs;
	int found = 0;

	while (*line) {
		const char *eol = strstr(line, "\r\n");
		if (!eol)
			break;
		if ((size_t)(eol - line) > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
			const char *v = line + nl + 1;
			const char *e = eol;
			size_t vl;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			vl = (size_t)(e - v);
			if (found)
				return -1;
			if (vl >= outsz)
				vl = outsz - 1;
			memcpy(out, v, vl);
			out[vl] = 0;
			found = 1;
		}
		line = eol + 2;
	}
	return found;
}

static int has_token(const char *v, const char *tok)
{
	size_t tl = strlen(tok);
	const char *p = v;

	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (!strncasecmp(p, tok, tl) &&
		    (p[tl] == 0 || p[tl] == ',' || p[tl] == ' ' || p[tl] == '\t'))
			return 1;
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

/* ---------- upstream client (one per connection thread) ---------- */

struct upstream {
	int fd;
	char buf[REQ_BUF];
	size_t len;
};

static int up_connect(struct upstream *u)
{
	struct timeval tv = {UP_TIMEOUT_S, 0};
	int one = 1;

	u->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (u->fd < 0)
		return -1;
	setsockopt(u->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(u->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(u->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(u->fd, (struct sockaddr *)&g_up_addr, sizeof(g_up_addr))) {
		close(u->fd);
		u->fd = -1;
		return -1;
	}
	u->len = 0;
	return 0;
}

static void up_close(struct upstream *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	u->len = 0;
}

/* One GET upstream. Returns HTTP status, or -1 on transport failure.
 * *got_any tells whether any response byte arrived (for retry decisions). */
static int up_once(struct upstream *u, int *got_any)
{
	char req[1400];
	int n, status = -1, close_after = 0;
	size_t hend;
	long clen = -1;
	char hv[128];

	*got_any = 0;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s/%s\r\n\r\n",
		     g_up_path, g_up_hostport, prog, g_name);
	if (write_all(u->fd, req, (size_t)n))
		return -1;
	for (;;) {
		hend = find_hdr_end(u->buf, u->len);
		if (hend)
			break;
		if (u->len >= sizeof(u->buf) - 1)
			return -1;
		ssize_t r = recv(u->fd, u->buf + u->len, sizeof(u->buf) - 1 - u->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		*got_any = 1;
		u->len += (size_t)r;
	}
	{
		char save = u->buf[hend];
		int maj, min;
		u->buf[hend] = 0;
		if (sscanf(u->buf, "HTTP/%d.%d %d", &maj, &min, &status) != 3 || status < 100 ||
		    status > 599) {
			u->buf[hend] = save;
			return -1;
		}
		const char *hdrs = strstr(u->buf, "\r\n") + 2;
		int f = header_get(hdrs, "Content-Length", hv, sizeof(hv));
		if (f < 0 || (f == 1 && parse_long(hv, 0, LONG_MAX / 2, &clen))) {
			u->buf[hend] = save;
			return -1;
		}
		if (header_get(hdrs, "Transfer-Encoding", hv, sizeof(hv)) == 1) {
			u->buf[hend] = save; /* chunked upstream not supported */
			return -1;
		}
		if (header_get(hdrs, "Connection", hv, sizeof(hv)) == 1 && has_token(hv, "close"))
			close_after = 1;
		if (maj == 1 && min == 0)
			close_after = 1;
		u->buf[hend] = save;
	}
	if (clen < 0) {
		if (status == 204 || status == 304 || status < 200)
			clen = 0;
		else
			return -1; /* read-until-close framing: not supported */
	}
	/* consume header + body */
	{
		size_t have = u->len - hend;
		long need = clen;
		if ((long)have >= need) {
			size_t rest = have - (size_t)need;
			memmove(u->buf, u->buf + hend + need, rest);
			u->len = rest;
		} else {
			need -= (long)have;
			u->len = 0;
			while (need > 0) {
				size_t want = need > (long)sizeof(u->buf) ? sizeof(u->buf)
									  : (size_t)need;
				ssize_t r = recv(u->fd, u->buf, want, 0);
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0)
					return -1;
				need -= r;
			}
		}
	}
	if (close_after)
		up_close(u);
	return status;
}

static int up_call(struct upstream *u)
{
	int got_any, st;
	int reused = u->fd >= 0;

	atomic_fetch_add(&st_upstream_calls, 1);
	if (u->fd < 0 && up_connect(u))
		goto fail;
	st = up_once(u, &got_any);
	if (st < 0 && reused && !got_any) {
		/* pooled connection was closed by the peer: retry once, fresh */
		up_close(u);
		if (up_connect(u))
			goto fail;
		st = up_once(u, &got_any);
	}
	if (st < 0) {
		up_close(u);
		goto fail;
	}
	return st;
fail:
	atomic_fetch_add(&st_upstream_errors, 1);
	return -1;
}

/* ---------- server ---------- */

static void send_simple(int fd, int code, const char *reason, int close_conn, const char *body)
{
	char hdr[512];
	size_t bl = strlen(body);
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %d %s\r\nServer: podscope-labapp\r\nX-Labapp: %s\r\n"
			 "Content-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
			 code, reason, g_name, bl, close_conn ? "Connection: close\r\n" : "");
	if (write_all(fd, hdr, (size_t)n) == 0)
		write_all(fd, body, bl);
}

static void query_overrides(const char *q, long *size, long *delay)
{
	/* q points after '?', up to end of target (NUL-terminated) */
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		char kv[64], *eq;
		long v;
		if (len < sizeof(kv)) {
			memcpy(kv, q, len);
			kv[len] = 0;
			eq = strchr(kv, '=');
			if (eq) {
				*eq = 0;
				if (!strcmp(kv, "size") &&
				    !parse_long(eq + 1, 0, MAX_BODY_SIZE, &v))
					*size = v;
				else if (!strcmp(kv, "delay_us") &&
					 !parse_long(eq + 1, 0, MAX_DELAY_US, &v))
					*delay = v;
			}
		}
		q = amp ? amp + 1 : NULL;
	}
}

/* Discard n body bytes: first from buffer, then from socket. */
static int discard_body(int fd, char *buf, size_t *len, size_t *pos, long n)
{
	size_t have = *len - *pos;

	if ((long)have >= n) {
		*pos += (size_t)n;
		return 0;
	}
	n -= (long)have;
	*pos = *len;
	while (n > 0) {
		char tmp[8192];
		size_t want = n > (long)sizeof(tmp) ? sizeof(tmp) : (size_t)n;
		ssize_t r = recv(fd, tmp, want, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n -= r;
	}
	(void)buf;
	return 0;
}

static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char *buf = malloc(REQ_BUF + 1);
	struct upstream *up = g_have_upstream ? malloc(sizeof(*up)) : NULL;
	size_t len = 0, pos = 0;
	struct timeval tv = {IDLE_TIMEOUT_S, 0};
	int one = 1;

	if (!buf || (g_have_upstream && !up))
		goto out;
	if (up) {
		up->fd = -1;
		up->len = 0;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	for (;;) {
		size_t hend;
		char method[16], target[2048], version[16], hv[128];
		char *hdrs, *q;
		int close_conn = 0, sp = 0;
		long clen = 0, size = g_size, delay = g_delay_us;

		/* compact */
		if (pos > 0) {
			memmove(buf, buf + pos, len - pos);
			len -= pos;
			pos = 0;
		}
		while (!(hend = find_hdr_end(buf, len))) {
			if (len >= REQ_BUF) {
				atomic_fetch_add(&st_bad, 1);
				send_simple(fd, 431, "Request Header Fields Too Large", 1,
					    "request header too large\n");
				goto out;
			}
			ssize_t r = recv(fd, buf + len, REQ_BUF - len, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				goto out;
			len += (size_t)r;
		}
		/* tolerate leading CRLFs between pipelined requests (RFC 9112 2.2) */
		{
			size_t s = 0;
			while (s + 1 < hend && buf[s] == '\r' && buf[s + 1] == '\n')
				s += 2;
			if (s) {
				pos = s;
				continue;
			}
		}
		{
			char save = buf[hend];
			buf[hend] = 0;
			char *eol = strstr(buf, "\r\n");
			/* request line: METHOD SP TARGET SP HTTP/1.x */
			for (char *c = buf; c < eol; c++) {
				if (*c == ' ')
					sp++;
				else if ((unsigned char)*c < 0x21 || *c == 0x7f)
					sp = 100;
			}
			if (sp != 2 ||
			    sscanf(buf, "%15s %2047s %15s", method, target, version) != 3 ||
			    strlen(method) + strlen(target) + strlen(version) + 2 !=
				    (size_t)(eol - buf) ||
			    (strcmp(version, "HTTP/1.1") && strcmp(version, "HTTP/1.0")) ||
			    target[0] != '/') {
				buf[hend] = save;
				atomic_fetch_add(&st_bad, 1);
				send_simple(fd, 400, "Bad Request", 1, "bad request\n");
				goto out;
			}
			for (const char *m = method; *m; m++)
				if (*m < 'A' || *m > 'Z') {
					buf[hend] = save;
					atomic_fetch_add(&st_bad, 1);
					send_simple(fd, 400, "Bad Request", 1, "bad method\n");
					goto out;
				}
			hdrs = eol + 2;
			int f = header_get(hdrs, "Content-Length", hv, sizeof(hv));
			if (f < 0 || (f == 1 && parse_long(hv, 0, MAX_BODY_SIZE, &clen)) ||
			    header_get(hdrs, "Transfer-Encoding", hv, sizeof(hv)) != 0) {
				buf[hend] = save;
				atomic_fetch_add(&st_bad, 1);
				send_simple(fd, 400, "Bad Request", 1,
					    "bad or unsupported body framing\n");
				goto out;
			}
			if (!strcmp(version, "HTTP/1.0"))
				close_conn =
					!(header_get(hdrs, "Connection", hv, sizeof(hv)) == 1 &&
					  has_token(hv, "keep-alive"));
			else
				close_conn = header_get(hdrs, "Connection", hv, sizeof(hv)) == 1 &&
					     has_token(hv, "close");
			buf[hend] = save;
		}
		pos = hend;
		if (clen && discard_body(fd, buf, &len, &pos, clen))
			goto out;

		q = strchr(target, '?');
		if (q)
			*q++ = 0;

		if (!strcmp(target, "/healthz")) {
			send_simple(fd, 200, "OK", close_conn, "ok\n");
		} else if (!strcmp(target, "/labapp/stats")) {
			char body[512];
			snprintf(body, sizeof(body),
				 "{\"name\":\"%s\",\"requests\":%ld,\"upstream_calls\":%ld,"
				 "\"upstream_errors\":%ld,\"bad_requests\":%ld,"
				 "\"connections_total\":%ld,\"connections_open\":%ld}\n",
				 g_name, atomic_load(&st_requests), atomic_load(&st_upstream_calls),
				 atomic_load(&st_upstream_errors), atomic_load(&st_bad),
				 atomic_load(&st_conns_total), atomic_load(&st_conns_open));
			send_simple(fd, 200, "OK", close_conn, body);
		} else {
			char hdr[512];
			int n, code = 200, ust = 0;
			const char *reason = "OK";

			atomic_fetch_add(&st_requests, 1);
			query_overrides(q, &size, &delay);
			if (delay > 0)
				sleep_us(delay);
			if (up) {
				ust = up_call(up);
				if (ust < 200 || ust > 399) {
					code = 502;
					reason = "Bad Gateway";
				}
			}
			if (code != 200) {
				n = snprintf(hdr, sizeof(hdr),
					     "HTTP/1.1 502 Bad Gateway\r\nServer: "
					     "podscope-labapp\r\n"
					     "X-Labapp: %s\r\nX-Upstream-Status: %03d\r\n"
					     "Content-Type: text/plain\r\nContent-Length: "
					     "16\r\n%s\r\n"
					     "upstream failed\n",
					     g_name, ust < 0 ? 0 : ust,
					     close_conn ? "Connection: close\r\n" : "");
				(void)reason;
				if (write_all(fd, hdr, (size_t)n))
					goto out;
			} else {
				char ushdr[48] = "";
				if (up)
					snprintf(ushdr, sizeof(ushdr), "X-Upstream-Status: %d\r\n",
						 ust);
				n = snprintf(hdr, sizeof(hdr),
					     "HTTP/1.1 200 OK\r\nServer: podscope-labapp\r\n"
					     "X-Labapp: %s\r\n%sContent-Type: text/plain\r\n"
					     "Content-Length: %ld\r\n%s\r\n",
					     g_name, ushdr, size,
					     close_conn ? "Connection: close\r\n" : "");
				if (write_all(fd, hdr, (size_t)n) || write_body(fd, size))
					goto out;
			}
		}
		if (close_conn)
			goto out;
	}
out:
	if (up) {
		up_close(up);
		free(up);
	}
	free(buf);
	shutdown(fd, SHUT_WR);
	close(fd);
	atomic_fetch_sub(&st_conns_open, 1);
	return NULL;
}

static void fmt_num(char **p, long v)
{
	char tmp[24];
	int i = 0;

	if (v < 0)
		v = 0;
	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		*(*p)++ = tmp[--i];
}

static void on_term(int sig)
{
	char line[256], *p = line;
	const char *s;

	(void)sig;
	for (s = "podscope-labapp: exit requests="; *s; s++)
		*p++ = *s;
	fmt_num(&p, atomic_load(&st_requests));
	for (s = " upstream_calls="; *s; s++)
		*p++ = *s;
	fmt_num(&p, atomic_load(&st_upstream_calls));
	for (s = " upstream_errors="; *s; s++)
		*p++ = *s;
	fmt_num(&p, atomic_load(&st_upstream_errors));
	*p++ = '\n';
	if (write(2, line, (size_t)(p - line)) < 0) {
		/* nothing to do */
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_in la;
	const char *listen_s = "0.0.0.0:9080";
	int lfd, one = 1;
	struct sigaction sa;
	pthread_attr_t attr;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage();
			return 0;
		}
		if (strcmp(a, "--listen") && strcmp(a, "--size") && strcmp(a, "--delay-us") &&
		    strcmp(a, "--upstream") && strcmp(a, "--name") && strcmp(a, "--max-conns"))
			die_usage("unknown argument '%s'", a);
		if (!v)
			die_usage("option %s needs a value", a);
		i++;
		if (!strcmp(a, "--listen")) {
			if (parse_addrport(v, &la))
				die_usage("bad --listen '%s' (want IPv4:PORT)", v);
			listen_s = v;
		} else if (!strcmp(a, "--size")) {
			if (parse_long(v, 0, MAX_BODY_SIZE, &g_size))
				die_usage("bad --size '%s' (0..268435456)", v);
		} else if (!strcmp(a, "--delay-us")) {
			if (parse_long(v, 0, MAX_DELAY_US, &g_delay_us))
				die_usage("bad --delay-us '%s' (0..10000000)", v);
		} else if (!strcmp(a, "--upstream")) {
			if (parse_upstream(v))
				die_usage("bad --upstream '%s' (want http://IPv4:PORT/PATH)", v);
			g_have_upstream = 1;
		} else if (!strcmp(a, "--name")) {
			for (const char *c = v; *c; c++)
				if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
				      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' ||
				      *c == '.'))
					die_usage("bad --name '%s' ([A-Za-z0-9._-])", v);
			if (!*v || strlen(v) > 63)
				die_usage("bad --name '%s' (1..63 chars)", v);
			g_name = v;
		} else if (!strcmp(a, "--max-conns")) {
			if (parse_long(v, 1, 100000, &g_max_conns))
				die_usage("bad --max-conns '%s' (1..100000)", v);
		}
	}
	if (parse_addrport(listen_s, &la))
		die_usage("bad --listen '%s'", listen_s);

	for (int i = 0; i < (int)sizeof(g_pattern); i++)
		g_pattern[i] = (char)('a' + i % 26);

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&la, sizeof(la)) || listen(lfd, 1024)) {
		fprintf(stderr, "%s: cannot listen on %s: %s\n", prog, listen_s, strerror(errno));
		return 1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);

	for (;;) {
		pthread_t t;
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
				sleep_us(10000);
				continue;
			}
			fprintf(stderr, "%s: accept: %s\n", prog, strerror(errno));
			return 1;
		}
		if (atomic_load(&st_conns_open) >= g_max_conns) {
			send_simple(cfd, 503, "Service Unavailable", 1, "too many connections\n");
			close(cfd);
			continue;
		}
		atomic_fetch_add(&st_conns_total, 1);
		atomic_fetch_add(&st_conns_open, 1);
		if (pthread_create(&t, &attr, serve_conn, (void *)(intptr_t)cfd)) {
			atomic_fetch_sub(&st_conns_open, 1);
			close(cfd);
		}
	}
}
