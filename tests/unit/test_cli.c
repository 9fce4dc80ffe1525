// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for the shared command-line parsers (src/cli.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli.h"

static void test_duration_units(void **state)
{
	uint64_t ns = 0;

	(void)state;
	assert_int_equal(cli_parse_duration_ns("10s", &ns), 0);
	assert_int_equal(ns, 10000000000ULL);
	assert_int_equal(cli_parse_duration_ns("250ms", &ns), 0);
	assert_int_equal(ns, 250000000ULL);
	assert_int_equal(cli_parse_duration_ns("1500us", &ns), 0);
	assert_int_equal(ns, 1500000ULL);
	assert_int_equal(cli_parse_duration_ns("2m", &ns), 0);
	assert_int_equal(ns, 120000000000ULL);
	assert_int_equal(cli_parse_duration_ns("3", &ns), 0);
	assert_int_equal(ns, 3000000000ULL);
	assert_int_equal(cli_parse_duration_ns("0.5s", &ns), 0);
	assert_int_equal(ns, 500000000ULL);
}

static void test_duration_rejects_garbage(void **state)
{
	uint64_t ns = 42;

	(void)state;
	assert_int_equal(cli_parse_duration_ns("", &ns), -EINVAL);
	assert_int_equal(cli_parse_duration_ns("s", &ns), -EINVAL);
	assert_int_equal(cli_parse_duration_ns("-1s", &ns), -EINVAL);
	assert_int_equal(cli_parse_duration_ns("10 s", &ns), -EINVAL);
	assert_int_equal(cli_parse_duration_ns("10sec", &ns), -EINVAL);
	assert_int_equal(cli_parse_duration_ns(NULL, &ns), -EINVAL);
	assert_int_equal(cli_parse_duration_ns("99999999999h", &ns), -ERANGE);
	assert_int_equal(ns, 42);
}

static void test_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(cli_parse_u64("1337", 0, 65535, &v), 0);
	assert_int_equal(v, 1337);
	assert_int_equal(cli_parse_u64("65536", 0, 65535, &v), -ERANGE);
	assert_int_equal(cli_parse_u64("12a", 0, 65535, &v), -EINVAL);
	assert_int_equal(cli_parse_u64("-1", 0, 65535, &v), -EINVAL);
	assert_int_equal(cli_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
}

static void test_size(void **state)
{
	uint64_t v = 42;

	(void)state;
	assert_int_equal(cli_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cli_parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cli_parse_size("8M", &v), 0);
	assert_int_equal(v, 8388608);
	assert_int_equal(cli_parse_size("2g", &v), 0);
	assert_int_equal(v, 2147483648ULL);
	assert_int_equal(cli_parse_size("1024G", &v), 0);
	assert_int_equal(v, 1ULL << 40);
	v = 42;
	assert_int_equal(cli_parse_size("1025G", &v), -ERANGE);
	assert_int_equal(cli_parse_size("99999999999999999999999", &v), -ERANGE);
	assert_int_equal(cli_parse_size("", &v), -EINVAL);
	assert_int_equal(cli_parse_size("M", &v), -EINVAL);
	assert_int_equal(cli_parse_size("-1M", &v), -EINVAL);
	assert_int_equal(cli_parse_size("8MB", &v), -EINVAL);
	assert_int_equal(cli_parse_size("8 M", &v), -EINVAL);
	assert_int_equal(cli_parse_size("1.5M", &v), -EINVAL);
	assert_int_equal(v, 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_rejects_garbage),
		cmocka_unit_test(test_u64),
		cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
