// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pingpong: TCP request/response latency between two processes, for the
 * acceleration benchmark. `pingpong server ADDR:PORT` echoes messages back;
 * `pingpong client ADDR:PORT SIZE COUNT` sends COUNT messages of SIZE bytes
 * one at a time over one connection (opened after start, so it is eligible
 * for redirection), waits for each echo, and prints
 * "size=S count=N p50_us=.. p90_us=.. p99_us=.. mean_us=..".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int io_all(int fd, char *buf, size_t len, int sending)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = sending ? send(fd, buf + done, len - done, 0)
				    : recv(fd, buf + done, len - done, 0);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return x < y ? -1 : x > y;
}

static int serve(struct sockaddr_in *sa)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)sa, sizeof(*sa)) || listen(ls, 16)) {
		perror("pingpong: bind/listen");
		return 1;
	}
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		char buf[65536];
		ssize_t n;

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
			if (io_all(fd, buf, (size_t)n, 1))
				break;
		close(fd);
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	unsigned long long *lat, sum = 0;
	size_t size;
	long count, i;
	char *buf;
	int fd, one = 1;

	if (argc < 3 || parse_addr(argv[2], &sa)) {
		fprintf(stderr, "usage: pingpong server ADDR:PORT | client ADDR:PORT SIZE COUNT\n");
		return 2;
	}
	if (!strcmp(argv[1], "server"))
		return serve(&sa);
	if (argc != 5 || strcmp(argv[1], "client")) {
		fprintf(stderr, "usage: pingpong server ADDR:PORT | client ADDR:PORT SIZE COUNT\n");
		return 2;
	}
	size = strtoul(argv[3], NULL, 10);
	count = strtol(argv[4], NULL, 10);
	if (!size || size > 65536 || count <= 0 || count > 10000000) {
		fprintf(stderr, "pingpong: SIZE must be 1..65536 and COUNT positive\n");
		return 2;
	}
	buf = malloc(size);
	lat = calloc((size_t)count, sizeof(*lat));
	if (!buf || !lat)
		return 1;
	memset(buf, 'p', size);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("pingpong: connect");
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		if (io_all(fd, buf, size, 1) || io_all(fd, buf, size, 0)) {
			fprintf(stderr, "pingpong: connection failed after %ld messages\n", i);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		lat[i] = (unsigned long long)((b.tv_sec - a.tv_sec) * 1000000000LL +
					      (b.tv_nsec - a.tv_nsec));
		sum += lat[i];
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
	printf("size=%zu count=%ld p50_us=%.1f p90_us=%.1f p99_us=%.1f mean_us=%.1f\n", size, count,
	       lat[count / 2] / 1e3, lat[count * 9 / 10] / 1e3, lat[count * 99 / 100] / 1e3,
	       (double)sum / (double)count / 1e3);
	close(fd);
	return 0;
}
