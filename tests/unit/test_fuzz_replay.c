/* Every fuzzing harness (tests/fuzz/fuzz_NAME.c) replays its seeds
 * (tests/fuzz/seeds/NAME) and every finding kept from past runs
 * (tests/fuzz/regress/NAME): with the normal compiler, under SANITIZE=1
 * with ASan and UBSan, and under valgrind, so a fixed crash stays fixed
 * without clang. The harnesses abort on a broken property. */
#include "unit.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FUZZ_REPLAY 1
#define LLVMFuzzerTestOneInput fuzz_diag_entry
#include "../fuzz/fuzz_diag.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_cli_entry
#include "../fuzz/fuzz_cli.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_query_entry
#include "../fuzz/fuzz_query.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_status_entry
#include "../fuzz/fuzz_status.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_fdinfo_entry
#include "../fuzz/fuzz_fdinfo.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_maps_entry
#include "../fuzz/fuzz_maps.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_environ_entry
#include "../fuzz/fuzz_environ.c"
#undef LLVMFuzzerTestOneInput

typedef int (*entry_fn)(const uint8_t *, size_t);

/* Feed every file of dir to fn; how many. */
static size_t replay_dir(const char *dir, entry_fn fn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[512];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		FILE *f = fopen(path, "rb");
		if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
			if (f)
				fclose(f);
			continue;
		}
		uint8_t *buf = malloc((size_t)st.st_size + 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		fclose(f);
		fn(buf, (size_t)st.st_size);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void replay(const char *name, entry_fn fn)
{
	char seeds[128], regress[128];
	snprintf(seeds, sizeof(seeds), "tests/fuzz/seeds/%s", name);
	snprintf(regress, sizeof(regress), "tests/fuzz/regress/%s", name);
	size_t n = replay_dir(seeds, fn);
	if (n == 0)
		fail_msg("no seeds in %s (run the unit tests from the repository root)", seeds);
	replay_dir(regress, fn);
	/* and the edge cases no corpus holds */
	static const uint8_t zeros[64];
	fn(zeros, 0);
	fn(zeros, 1);
	fn(zeros, sizeof(zeros));
}

static void test_diag(void **state) { replay("diag", fuzz_diag_entry); }
static void test_cli(void **state) { replay("cli", fuzz_cli_entry); }
static void test_query(void **state) { replay("query", fuzz_query_entry); }
static void test_status(void **state) { replay("status", fuzz_status_entry); }
static void test_fdinfo(void **state) { replay("fdinfo", fuzz_fdinfo_entry); }
static void test_maps(void **state) { replay("maps", fuzz_maps_entry); }
static void test_environ(void **state) { replay("environ", fuzz_environ_entry); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag),   cmocka_unit_test(test_cli),  cmocka_unit_test(test_query),
		cmocka_unit_test(test_status), cmocka_unit_test(test_fdinfo), cmocka_unit_test(test_maps),
		cmocka_unit_test(test_environ),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
