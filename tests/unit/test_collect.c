// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for the collector's recursion-miss tally (src/collect.c): the
 * total follows the programs' own counters, and a program that goes away
 * (unloaded, reloaded under a new id) leaves its count behind, so the total
 * a Prometheus counter is built from never falls, not even when the list
 * of programs could not be read once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "collect.h"

static struct bpf_prog_stat prog(uint32_t id, uint64_t misses)
{
	struct bpf_prog_stat p = {.id = id, .recursion_misses = misses};

	return p;
}

static void test_follows_and_retires(void **state)
{
	struct prog_miss_tally t = {0};
	struct bpf_prog_stat p[3] = {0};

	(void)state;
	assert_int_equal(collect__tally_misses(&t, p, 0), 0);

	p[0] = prog(10, 0);
	p[1] = prog(11, 3);
	assert_int_equal(collect__tally_misses(&t, p, 2), 3);
	/* counters grow in place */
	p[0] = prog(10, 2);
	p[1] = prog(11, 5);
	assert_int_equal(collect__tally_misses(&t, p, 2), 7);
	/* the list could not be read: the same total, nothing retired */
	assert_int_equal(collect__tally_misses(&t, p, -EMFILE), 7);
	assert_int_equal(t.retired, 0);
	assert_int_equal(collect__tally_misses(&t, p, 2), 7);
	/* 11 unloaded, its 5 kept; a new program 12 appears (listed first) */
	p[0] = prog(12, 1);
	p[1] = prog(10, 2);
	assert_int_equal(collect__tally_misses(&t, p, 2), 8);
	assert_int_equal(t.retired, 5);
	/* everything unloaded: the total stays */
	assert_int_equal(collect__tally_misses(&t, p, 0), 8);
	assert_int_equal(collect__tally_misses(&t, p, 0), 8);
	/* a reload under new ids starts from 0 on top of it */
	p[0] = prog(20, 0);
	p[1] = prog(21, 4);
	p[2] = prog(22, 0);
	assert_int_equal(collect__tally_misses(&t, p, 3), 12);
}

static void test_full_list(void **state)
{
	static struct bpf_prog_stat p[AGENT_MAX_PROGS + 1];
	struct prog_miss_tally t = {0};
	int i;

	(void)state;
	for (i = 0; i <= AGENT_MAX_PROGS; i++)
		p[i] = prog((uint32_t)(100 + i), 1);
	/* one short of full: all listed */
	assert_int_equal(collect__tally_misses(&t, p, AGENT_MAX_PROGS - 1), AGENT_MAX_PROGS - 1);
	/* a full list may be cut short: nothing retired, the last total kept */
	assert_int_equal(collect__tally_misses(&t, p + 1, AGENT_MAX_PROGS), AGENT_MAX_PROGS - 1);
	assert_int_equal(t.retired, 0);
	assert_int_equal(t.nseen, AGENT_MAX_PROGS - 1);
	/* the first one goes: retired 1, the other 62 still listed */
	assert_int_equal(collect__tally_misses(&t, p + 1, AGENT_MAX_PROGS - 2),
			 AGENT_MAX_PROGS - 1);
	assert_int_equal(t.retired, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows_and_retires),
		cmocka_unit_test(test_full_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
