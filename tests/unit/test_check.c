/* --check's answer on syscall user dispatch (check_dispatch): the engine
 * reads it per thread on Linux 6.4 and later; before that only a target
 * that maps Wine's ntdll.so is known to use it, and is refused. */
#include "unit.h"

#include <string.h>

#include "check.h"

static void test_dispatch_by_kernel(void **state)
{
	char d[320];
	assert_int_equal(check_dispatch("6.18.0", false, d, sizeof(d)), CHECK_OK);
	assert_non_null(strstr(d, "per thread"));
	assert_int_equal(check_dispatch("6.4.0-1-amd64", false, d, sizeof(d)), CHECK_OK);
	assert_int_equal(check_dispatch("7.0", false, d, sizeof(d)), CHECK_OK);
	/* Wine on a kernel that tells: its threads with dispatch on are
	 * passed over, the others used */
	assert_int_equal(check_dispatch("6.4.0", true, d, sizeof(d)), CHECK_INFO);
	assert_non_null(strstr(d, "ntdll.so"));
	/* before 6.4: Wine is refused, anything else said so */
	assert_int_equal(check_dispatch("6.3.13", true, d, sizeof(d)), CHECK_FAIL);
	assert_non_null(strstr(d, "6.3.13"));
	assert_non_null(strstr(d, "refused"));
	assert_int_equal(check_dispatch("5.10.0-28-amd64", true, d, sizeof(d)), CHECK_FAIL);
	assert_int_equal(check_dispatch("5.15.0", false, d, sizeof(d)), CHECK_INFO);
	assert_non_null(strstr(d, "6.4"));
	/* a release that cannot be read: as an old one */
	assert_int_equal(check_dispatch("unknown", true, d, sizeof(d)), CHECK_FAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_by_kernel),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
