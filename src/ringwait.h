/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One wait on several libbpf ring buffers. Each ring_buffer has its own
 * epoll instance; waiting on them one after the other (up to a timeout
 * each) leaves a wakeup on the second unseen while the first waits. A
 * ring_wait holds those epoll fds in one epoll instance, so the caller sleeps
 * until any of them is woken (or the timeout), then drains each with a zero
 * timeout.
 *
 * Edge-triggered: a ring counts as woken only when its producer woke it.
 * Level-triggered, a ring that is never empty under load (samples submitted
 * without a wakeup keep arriving) would end every wait at once, and the
 * reader would spin through small batches instead of sleeping until the
 * next batch wakeup.
 */
#ifndef PODSCOPE_RINGWAIT_H
#define PODSCOPE_RINGWAIT_H

struct ring_wait {
	int epfd;
};

/* 0 or -errno. */
int ring_wait__init(struct ring_wait *w);

/* Add a ring_buffer__epoll_fd() (any pollable fd); negative @fd is ignored. 0 or -errno. */
int ring_wait__add(struct ring_wait *w, int fd);

/*
 * Sleep until one of the rings is woken (since the last wait), or
 * @timeout_ms. Returns the number of rings woken (0 on timeout or signal),
 * or -errno.
 */
int ring_wait__wait(struct ring_wait *w, int timeout_ms);

void ring_wait__close(struct ring_wait *w);

#endif
