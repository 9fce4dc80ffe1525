// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ringwait.h"

int ring_wait__init(struct ring_wait *w)
{
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	return w->epfd < 0 ? -errno : 0;
}

int ring_wait__add(struct ring_wait *w, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = fd};

	if (fd < 0)
		return 0;
	return epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int ring_wait__wait(struct ring_wait *w, int timeout_ms)
{
	struct epoll_event ev[8];
	int n = epoll_wait(w->epfd, ev, 8, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

void ring_wait__close(struct ring_wait *w)
{
	if (w->epfd >= 0)
		close(w->epfd);
	w->epfd = -1;
}
