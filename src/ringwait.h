/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One wait on several libbpf ring buffers. Each ring_buffer has its own
 * epoll instance; waiting on them one after the other (up to a timeout
 * each) leaves a wakeup on the second unseen while the first waits. A
 * ring_wait holds those epoll fds in one epoll instance, so the caller sleeps
 * until any of them is woken (or the timeout), then drains each with a zero
 * timeout.
 */
#ifndef PODSCOPE_RINGWAIT_H
#define PODSCOPE_RINGWAIT_H

struct ring_wait {
	int epfd;
};

/* 0 or -errno. */
int ring_wait__init(struct ring_wait *w);

/* Add a ring_buffer__epoll_fd(); negative @fd is ignored. 0 or -errno. */
int ring_wait__add(struct ring_wait *w, int fd);

/*
 * Sleep until one of the rings has data and was woken, or @timeout_ms.
 * Returns the number of rings ready (0 on timeout or signal), or -errno.
 */
int ring_wait__wait(struct ring_wait *w, int timeout_ms);

void ring_wait__close(struct ring_wait *w);

#endif
