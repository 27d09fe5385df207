/* /proc/PID/status and /proc/PID/stat parsing: whole files however long
 * (a status with 1,000 supplementary groups passes 4 KiB before the
 * Seccomp and CapEff lines), exact field names, values that do not fit
 * refused rather than truncated, stat lines whose comm holds ") ". */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procinfo.h"

/* A status text shaped like the kernel's, with ngroups groups. */
static char *status_text(int ngroups)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	fputs("Name:\tsrv\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nPid:\t4242\nPPid:\t1\n"
	      "TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t", f);
	for (int i = 0; i < ngroups; i++)
		fprintf(f, "%d ", 100000 + i);
	fputs("\nNStgid:\t4242\nSigBlk:\t0000000000000000\nCapEff:\t000001ffffffffff\n"
	      "NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\nvoluntary_ctxt_switches:\t5\n", f);
	fclose(f);
	return buf;
}

static void test_status_fields(void **state)
{
	char v[64];
	char *text = status_text(3);
	assert_int_equal(procinfo_status_field(text, "State", v, sizeof(v)), 0);
	assert_string_equal(v, "S (sleeping)");
	assert_int_equal(procinfo_status_field(text, "TracerPid", v, sizeof(v)), 0);
	assert_string_equal(v, "0");
	/* "Seccomp" is not "Seccomp_filters", nor the other way round */
	assert_int_equal(procinfo_status_field(text, "Seccomp", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	assert_int_equal(procinfo_status_field(text, "Seccomp_filters", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	/* a prefix of a name is no match */
	assert_int_equal(procinfo_status_field(text, "Secc", v, sizeof(v)), -ENOENT);
	assert_int_equal(procinfo_status_field(text, "Missing", v, sizeof(v)), -ENOENT);
	/* the last line may lack its newline */
	assert_int_equal(procinfo_status_field("A:\t1\nB:\t22", "B", v, sizeof(v)), 0);
	assert_string_equal(v, "22");
	free(text);
}

static void test_status_value_too_long(void **state)
{
	char v[8] = "junk";
	char *text = status_text(3);
	assert_int_equal(procinfo_status_field(text, "CapEff", v, sizeof(v)), -ENOBUFS);
	assert_string_equal(v, ""); /* never a truncated value */
	free(text);
}

/* The file is read whole: the fields after a 6 KiB Groups line are found. */
static void test_status_long_file(void **state)
{
	char path[] = "/tmp/sockreap-procinfo.XXXXXX", v[64];
	char *text = status_text(1000), *back = NULL;
	size_t len = 0;
	assert_true(strlen(text) > 4096 + 2048);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(procinfo_read_file(AT_FDCWD, path, &back, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_string_equal(back, text);
	assert_int_equal(procinfo_status_field(back, "Seccomp", v, sizeof(v)), 0);
	assert_string_equal(v, "2");
	assert_int_equal(procinfo_status_field(back, "CapEff", v, sizeof(v)), 0);
	assert_string_equal(v, "000001ffffffffff");
	unlink(path);
	free(back);
	free(text);
	assert_int_equal(procinfo_read_file(AT_FDCWD, "/nonexistent/status", &back, NULL), -ENOENT);
}

/* This process's own status, through the pid-level helper. */
static void test_own_status(void **state)
{
	char v[64];
	assert_int_equal(procinfo_pid_status_field("/proc", getpid(), "State", v, sizeof(v)), 0);
	assert_int_equal(v[0], 'R');
	assert_int_equal(procinfo_pid_status_field("/proc", getpid(), "NoSuchField", v, sizeof(v)), -ENOENT);
	assert_true(procinfo_pid_status_field("/nonexistent", 1, "State", v, sizeof(v)) < 0);
}

static void test_stat_start_time(void **state)
{
	/* 52 fields as in Linux 6.x; comm "a) (b c" holds ") (" and spaces */
	static const char stat[] =
		"4242 (a) (b c) S 1 4242 4242 0 -1 4194560 1045 0 0 0 3 1 0 0 20 0 3 0 "
		"987654321 10000000 500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 "
		"0 0 0 0 0 0 0 0\n";
	uint64_t st = 0;
	const char *f = procinfo_stat_fields(stat);
	assert_non_null(f);
	assert_int_equal(f[0], 'S');
	assert_int_equal(procinfo_stat_start_time(stat, &st), 0);
	assert_int_equal(st, 987654321ull);
	/* malformed: no comm, too few fields, not a number */
	assert_null(procinfo_stat_fields("4242 srv S 1"));
	assert_int_equal(procinfo_stat_start_time("4242 (srv) S 1 2 3", &st), -EINVAL);
	assert_int_equal(procinfo_stat_start_time("4242 (srv) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x1 9",
						  &st), -EINVAL);
	/* field 9, the task's flags (PF_EXITING is 0x4); 1-3 are no numbers */
	uint64_t flags = 0;
	assert_int_equal(procinfo_stat_u64(stat, 9, &flags), 0);
	assert_int_equal(flags, 4194560ull);
	assert_int_equal(procinfo_stat_u64("4242 (srv) R 1 2 3 4 5 4194564 1", 9, &flags), 0);
	assert_true(flags & 0x4);
	assert_int_equal(procinfo_stat_u64(stat, 3, &flags), -EINVAL);
	assert_int_equal(procinfo_stat_u64("4242 (srv) S 1 2", 9, &flags), -EINVAL);
}

/* A live process's stat, read twice the same. A child of ours, not
 * ourselves: qemu-user, which runs the arm64 build's unit tests, fakes the
 * reading process's own /proc/PID/stat (state "0", start time 0). */
static void test_live_start_time(void **state)
{
	uint64_t a = 0, b = 0;
	char st = 0;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	int ra = procinfo_pid_start_time("/proc", pid, &a, &st);
	int rb = procinfo_pid_start_time("/proc", pid, &b, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(ra, 0);
	assert_int_equal(rb, 0);
	assert_true(st == 'R' || st == 'S');
	assert_true(a > 0);
	assert_int_equal(a, b);
	assert_true(procinfo_pid_start_time("/proc", 0, &a, NULL) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_fields),     cmocka_unit_test(test_status_value_too_long),
		cmocka_unit_test(test_status_long_file),  cmocka_unit_test(test_own_status),
		cmocka_unit_test(test_stat_start_time),   cmocka_unit_test(test_live_start_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
