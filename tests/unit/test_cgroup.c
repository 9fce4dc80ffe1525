// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Unit tests for cgroup layout detection from mountinfo (src/cgroup.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cgroup.h"

/* As on this project's CI machine: v1 controllers plus cgroup2 at .../unified. */
static const char hybrid[] =
	"22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	"25 22 0:23 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
	"26 25 0:24 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	"27 25 0:25 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"28 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
	"29 25 0:27 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n";

/* A systemd unified host (Debian 12 default). */
static const char unified[] = "24 1 0:22 / /sys rw - sysfs sysfs rw\n"
			      "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime "
			      "shared:4 - cgroup2 cgroup2 "
			      "rw,nsdelegate,memory_recursiveprot\n";

static const char v1_only[] = "27 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup "
			      "rw,cpu,cpuacct\n"
			      "28 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
			      "rw,memory\n";

static void test_hybrid(void **state)
{
	struct cgroup_info ci;

	(void)state;
	assert_int_equal(cgroup_info_from_mountinfo(hybrid, &ci), 0);
	assert_int_equal(ci.layout, CGROUP_LAYOUT_HYBRID);
	assert_string_equal(ci.v2_path, "/sys/fs/cgroup/unified");
	assert_int_equal(ci.v1_count, 3);
	assert_string_equal(ci.v1_names, "cpu,memory,systemd");
	assert_string_equal(cgroup_layout_name(ci.layout), "hybrid");
}

static void test_unified(void **state)
{
	struct cgroup_info ci;

	(void)state;
	assert_int_equal(cgroup_info_from_mountinfo(unified, &ci), 0);
	assert_int_equal(ci.layout, CGROUP_LAYOUT_V2);
	assert_string_equal(ci.v2_path, "/sys/fs/cgroup");
	assert_int_equal(ci.v1_count, 0);
}

static void test_v1(void **state)
{
	struct cgroup_info ci;

	(void)state;
	assert_int_equal(cgroup_info_from_mountinfo(v1_only, &ci), 0);
	assert_int_equal(ci.layout, CGROUP_LAYOUT_V1);
	assert_string_equal(ci.v2_path, "");
	assert_int_equal(ci.v1_count, 2);
}

static void test_garbage(void **state)
{
	struct cgroup_info ci;

	(void)state;
	assert_int_equal(cgroup_info_from_mountinfo("", &ci), -EINVAL);
	assert_int_equal(cgroup_info_from_mountinfo("not a mountinfo line\n", &ci), -EINVAL);
	/* truncated before the separator */
	assert_int_equal(cgroup_info_from_mountinfo("26 25 0:24 / /sys/fs/cgroup/unified rw\n",
						    &ci),
			 -EINVAL);
	assert_int_equal(cgroup_info_from_mountinfo(NULL, &ci), -EINVAL);
}

static void test_live_mountinfo(void **state)
{
	struct cgroup_info ci;

	(void)state;
	/* whatever this machine is, its own mountinfo must parse */
	assert_int_equal(cgroup_info_read(&ci), 0);
	assert_int_not_equal(ci.layout, CGROUP_LAYOUT_UNKNOWN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hybrid),
		cmocka_unit_test(test_unified),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_live_mountinfo),
	};

	return cmocka_run_group_tests_name("cgroup", tests, NULL, NULL);
}
