// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * connfan: many TCP connections between two processes, for bench/conns-scaling.
 *
 *   connfan server PORT
 *       Echo server on 127.0.0.1:PORT (epoll, any number of connections).
 *   connfan client PORT K ROUNDS one|all STEPFILE
 *       Waits for STEPFILE to exist, opens K connections, writes "connected"
 *       into STEPFILE.ready, waits for STEPFILE.go, then makes ROUNDS round
 *       trips of 64 bytes: all on the first connection (one) or on each
 *       connection in turn (all). Prints "rounds=N seconds=S" and exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MSG 64

static int die(const char *what)
{
	fprintf(stderr, "connfan: %s: %s\n", what, strerror(errno));
	return 1;
}

static struct sockaddr_in addr_of(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static void wait_file(const char *path)
{
	struct stat st;

	while (stat(path, &st))
		usleep(20000);
}

static int io_all(int fd, char *buf, size_t len, int sending)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = sending ? send(fd, buf + done, len - done, 0)
				    : recv(fd, buf + done, len - done, 0);

		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int server(int port)
{
	struct sockaddr_in sa = addr_of(port);
	struct epoll_event ev = {.events = EPOLLIN}, evs[256];
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), ep = epoll_create1(0);
	char buf[4096];

	if (l < 0 || ep < 0)
		return die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4096))
		return die("bind/listen");
	ev.data.fd = l;
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == l) {
				int c = accept(l, NULL, NULL);

				if (c < 0)
					continue;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			ssize_t r = recv(fd, buf, sizeof(buf), 0);

			if (r <= 0 || io_all(fd, buf, (size_t)r, 1)) {
				epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
			}
		}
	}
}

static int client(int port, long k, long rounds, int all, const char *step)
{
	struct sockaddr_in sa = addr_of(port);
	char path[4096], buf[MSG] = {0};
	struct timespec t0, t1;
	int one = 1, *fds = calloc((size_t)k, sizeof(int));
	FILE *f;

	if (!fds)
		return die("calloc");
	wait_file(step);
	for (long i = 0; i < k; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)))
			return die("connect");
		setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	snprintf(path, sizeof(path), "%s.ready", step);
	f = fopen(path, "w");
	if (!f)
		return die(path);
	fputs("connected\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s.go", step);
	wait_file(path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long r = 0; r < rounds; r++) {
		int fd = fds[all ? r % k : 0];

		if (io_all(fd, buf, MSG, 1) || io_all(fd, buf, MSG, 0))
			return die("round trip");
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("rounds=%ld seconds=%.3f\n", rounds,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]));
	if (argc == 7 && !strcmp(argv[1], "client") && atol(argv[3]) > 0 && atol(argv[4]) > 0 &&
	    (!strcmp(argv[5], "one") || !strcmp(argv[5], "all")))
		return client(atoi(argv[2]), atol(argv[3]), atol(argv[4]), !strcmp(argv[5], "all"),
			      argv[6]);
	fprintf(stderr, "usage: connfan server PORT | connfan client PORT K ROUNDS one|all "
			"STEPFILE\n");
	return 2;
}
