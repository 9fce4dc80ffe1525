// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Unit tests for src/cadvisor.c: which hierarchy each controller is read
 * from (/proc/self/mounts of v1, v2 and hybrid nodes), container usage from
 * fixture cgroup trees of both layouts (tests/fixtures/cgroup/), cAdvisor's
 * working-set arithmetic, and /proc/net/dev parsing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cadvisor.h"

#define CG "/kubepods/burstable/pod1/c1"

static const char *fixtures_dir(void)
{
	const char *dir = getenv("PODSCOPE_FIXTURES");

	return dir ? dir : "tests/fixtures";
}

static void root(char *dst, size_t len, const char *sub)
{
	snprintf(dst, len, "%s/cgroup/%s", fixtures_dir(), sub);
}

static void test_roots_hybrid(void **state)
{
	const char *mounts = "sysfs /sys sysfs rw 0 0\n"
			     "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
			     "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nsdelegate 0 0\n"
			     "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,relatime,cpu,cpuacct 0 "
			     "0\n"
			     "cgroup /sys/fs/cgroup/memory cgroup rw,relatime,memory 0 0\n"
			     "cgroup /sys/fs/cgroup/blkio cgroup rw,relatime,blkio 0 0\n"
			     "cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n";
	struct cgroup_roots r;

	(void)state;
	assert_int_equal(cgroup_roots_from_mounts(mounts, &r), 0);
	assert_string_equal(r.v2, "/sys/fs/cgroup/unified");
	assert_string_equal(r.cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	assert_string_equal(r.memory, "/sys/fs/cgroup/memory");
	assert_string_equal(r.blkio, "/sys/fs/cgroup/blkio");
}

static void test_roots_v2_only(void **state)
{
	struct cgroup_roots r;

	(void)state;
	assert_int_equal(cgroup_roots_from_mounts("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
						  "cgroup /x cgroup rw,cpuacctx 0 0\n",
						  &r),
			 0);
	assert_string_equal(r.v2, "/sys/fs/cgroup");
	assert_string_equal(r.cpuacct, ""); /* "cpuacctx" is not cpuacct */
	assert_string_equal(r.memory, "");
	assert_int_equal(cgroup_roots_from_mounts(NULL, &r), -EINVAL);
}

static void test_usage_v1(void **state)
{
	struct cgroup_roots r = {0};
	struct cgroup_usage u;

	(void)state;
	root(r.cpuacct, sizeof(r.cpuacct), "v1/cpuacct");
	root(r.memory, sizeof(r.memory), "v1/memory");
	root(r.blkio, sizeof(r.blkio), "v1/blkio");
	assert_int_equal(cgroup_usage_read(&r, CG, &u), 0);
	assert_true(u.has_cpu && u.has_memory && u.has_io);
	assert_int_equal(u.cpu_ns, 1500000000ULL);
	assert_int_equal(u.mem_usage_bytes, 10485760);
	assert_int_equal(u.mem_rss_bytes, 3145728);   /* total_rss, not rss */
	assert_int_equal(u.mem_cache_bytes, 4194304); /* total_cache */
	assert_int_equal(u.mem_working_set_bytes, 10485760 - 2097152);
	assert_int_equal(u.fs_read_bytes, 4096 + 1024);
	assert_int_equal(u.fs_write_bytes, 8192);
	assert_int_equal(u.fs_reads, 3);
	assert_int_equal(u.fs_writes, 3);
	assert_int_equal(cgroup_usage_read(&r, "/kubepods/none", &u), -ENOENT);
}

static void test_usage_v2(void **state)
{
	struct cgroup_roots r = {0};
	struct cgroup_usage u;

	(void)state;
	root(r.v2, sizeof(r.v2), "v2");
	assert_int_equal(cgroup_usage_read(&r, CG, &u), 0);
	assert_true(u.has_cpu && u.has_memory && u.has_io);
	assert_int_equal(u.cpu_ns, 2500000000ULL);
	assert_int_equal(u.mem_usage_bytes, 20971520);
	assert_int_equal(u.mem_rss_bytes, 6291456);
	assert_int_equal(u.mem_cache_bytes, 8388608);
	assert_int_equal(u.mem_working_set_bytes, 20971520 - 4194304);
	assert_int_equal(u.fs_read_bytes, 1024);
	assert_int_equal(u.fs_write_bytes, 2048);
	assert_int_equal(u.fs_reads, 5);
	assert_int_equal(u.fs_writes, 6);
}

/* Hybrid: cpuacct in v1 wins over v2's cpu.stat; memory (not mounted in v1) comes from v2. */
static void test_usage_hybrid(void **state)
{
	struct cgroup_roots r = {0};
	struct cgroup_usage u;

	(void)state;
	root(r.cpuacct, sizeof(r.cpuacct), "hybrid/cpuacct");
	root(r.v2, sizeof(r.v2), "hybrid/unified");
	assert_int_equal(cgroup_usage_read(&r, CG, &u), 0);
	assert_int_equal(u.cpu_ns, 700000000ULL);
	assert_true(u.has_memory);
	assert_int_equal(u.mem_usage_bytes, 12);
	assert_int_equal(u.mem_working_set_bytes, 12);
	assert_false(u.has_io);
}

static void test_netdev(void **state)
{
	const char *text =
		"Inter-|   Receive                                                |  Transmit\n"
		" face |bytes    packets errs drop fifo frame compressed multicast|bytes    "
		"packets errs drop fifo colls carrier compressed\n"
		"    lo:  123456     100    0    0    0     0          0         0   123456     "
		"100    0    0    0     0       0          0\n"
		"  eth0: 9876543   7000    1    2    0     0          0         0  5432100     "
		"6000    3    4    0     0       0          0\n";
	struct netdev_counters d[4];

	(void)state;
	assert_int_equal(netdev_parse(text, d, 4), 1);
	assert_string_equal(d[0].iface, "eth0");
	assert_int_equal(d[0].rx_bytes, 9876543);
	assert_int_equal(d[0].rx_packets, 7000);
	assert_int_equal(d[0].rx_errors, 1);
	assert_int_equal(d[0].rx_dropped, 2);
	assert_int_equal(d[0].tx_bytes, 5432100);
	assert_int_equal(d[0].tx_packets, 6000);
	assert_int_equal(d[0].tx_errors, 3);
	assert_int_equal(d[0].tx_dropped, 4);
	assert_int_equal(netdev_parse("garbage\n", d, 4), 0);
	assert_int_equal(netdev_parse(NULL, d, 4), -EINVAL);
}

static void test_sample_fill(void **state)
{
	struct target_container cs[] = {
		{.meta = {.name = "app"}, .cgroup_path = CG},
		{.meta = {.name = "gone"}, .cgroup_path = "/kubepods/none"},
	};
	struct target_pod pods[] = {
		{.meta = {.namespace_ = "default", .name = "reviews"},
		 .ncontainers = 2,
		 .containers = cs},
		{.meta = {.namespace_ = "default", .name = "other"},
		 .ncontainers = 1,
		 .containers = cs},
	};
	struct target_set set = {.npods = 2, .pods = pods};
	const bool keep[] = {true, false};
	struct cgroup_roots r = {0};
	struct resource_sample s;

	(void)state;
	root(r.v2, sizeof(r.v2), "v2");
	assert_int_equal(resource_sample__fill(&s, &r, "/nonexistent", &set, keep), 0);
	assert_int_equal(s.ncontainers, 1); /* "gone" has no files, "other" not kept */
	assert_string_equal(s.containers[0].pod, "reviews");
	assert_string_equal(s.containers[0].container, "app");
	assert_int_equal(s.npods, 0); /* no process to read net/dev through */
	resource_sample__clear(&s);
	resource_sample__clear(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots_hybrid), cmocka_unit_test(test_roots_v2_only),
		cmocka_unit_test(test_usage_v1),     cmocka_unit_test(test_usage_v2),
		cmocka_unit_test(test_usage_hybrid), cmocka_unit_test(test_netdev),
		cmocka_unit_test(test_sample_fill),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
