// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for ring_wait (src/ringwait.c): one sleep on several pollable
 * fds, edge-triggered. eventfds stand in for the rings' epoll fds (a write
 * is a producer's wakeup).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ringwait.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_wakes_on_either(void **state)
{
	struct ring_wait w;
	int a = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), b = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t one = 1, t0, v;

	(void)state;
	assert_true(a >= 0 && b >= 0);
	assert_int_equal(ring_wait__init(&w), 0);
	assert_int_equal(ring_wait__add(&w, a), 0);
	assert_int_equal(ring_wait__add(&w, -1), 0); /* ignored */
	assert_int_equal(ring_wait__add(&w, b), 0);
	/* nothing ready: the timeout */
	t0 = now_ms();
	assert_int_equal(ring_wait__wait(&w, 30), 0);
	assert_true(now_ms() - t0 >= 25);
	/* the second fd ready: returns at once, long before a 5 s timeout */
	assert_int_equal(write(b, &one, sizeof(one)), sizeof(one));
	t0 = now_ms();
	assert_int_equal(ring_wait__wait(&w, 5000), 1);
	assert_true(now_ms() - t0 < 1000);
	/* edge-triggered: data left unread does not end the next wait, a new wakeup does */
	assert_int_equal(ring_wait__wait(&w, 0), 0);
	assert_int_equal(write(b, &one, sizeof(one)), sizeof(one));
	assert_int_equal(ring_wait__wait(&w, 0), 1);
	assert_int_equal(read(b, &v, sizeof(v)), sizeof(v));
	assert_int_equal(v, 2);
	assert_int_equal(ring_wait__wait(&w, 0), 0);
	/* both ready */
	assert_int_equal(write(a, &one, sizeof(one)), sizeof(one));
	assert_int_equal(write(b, &one, sizeof(one)), sizeof(one));
	assert_int_equal(ring_wait__wait(&w, 5000), 2);
	ring_wait__close(&w);
	assert_int_equal(w.epfd, -1);
	ring_wait__close(&w); /* twice is harmless */
	close(a);
	close(b);
}

static void test_bad_fd(void **state)
{
	struct ring_wait w;

	(void)state;
	assert_int_equal(ring_wait__init(&w), 0);
	assert_int_equal(ring_wait__add(&w, 1000000), -EBADF);
	ring_wait__close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wakes_on_either),
		cmocka_unit_test(test_bad_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
