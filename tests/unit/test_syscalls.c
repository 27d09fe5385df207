/* The table of system call semantics (syscalls.c) and the x86_64 numbers
 * that map to it: names, which arguments are fds, which calls keep fd sets
 * in memory; every id is reachable from some number. */
#include "unit.h"

#include <asm/unistd_64.h>
#include <string.h>

#include "arch/arch.h"
#include "syscalls.h"

static void test_names(void **state)
{
	assert_string_equal(syscall_name(__NR_select), "select");
	assert_string_equal(syscall_name(__NR_pselect6), "pselect6");
	assert_string_equal(syscall_name(__NR_poll), "poll");
	assert_string_equal(syscall_name(__NR_read), "read");
	assert_string_equal(syscall_name(__NR_epoll_wait), "epoll_wait");
	assert_string_equal(syscall_name(__NR_restart_syscall), "restart_syscall");
	assert_string_equal(syscall_name(__NR_clock_nanosleep), "clock_nanosleep");
	assert_null(syscall_name(__NR_getpid)); /* not in the table */
	assert_null(syscall_name(-1));
	assert_null(syscall_name(100000));
	assert_null(sc_info(SC_UNKNOWN)->name);
	assert_null(sc_info((enum sc)12345)->name);
}

/* Every id has a name, and the x86_64 file maps some number to each one
 * (a table row nobody can reach is a mistake in one of the two). */
static void test_every_id_mapped(void **state)
{
	bool seen[SC__MAX] = { false };
	for (long nr = 0; nr < 1024; nr++)
		seen[arch_sc_native(nr)] = true;
	for (int id = SC_UNKNOWN + 1; id < SC__MAX; id++) {
		assert_non_null(sc_info((enum sc)id)->name);
		if (!seen[id])
			fail_msg("no x86_64 number maps to %s", sc_info((enum sc)id)->name);
	}
}

static size_t fds_of(long nr, const uint64_t args[6], int *fds)
{
	return sc_fd_args(arch_sc_native(nr), args, fds, 6);
}

static void test_fd_args(void **state)
{
	int fds[6];
	const uint64_t args[6] = { 3, 4, 5, 6, 7, 8 };
	static const struct { long nr; size_t n; int fd0, fd1; } cases[] = {
		{ __NR_read, 1, 3, -1 },          { __NR_recvmmsg, 1, 3, -1 },
		{ __NR_sendmmsg, 1, 3, -1 },      { __NR_accept4, 1, 3, -1 },
		{ __NR_sendfile, 2, 3, 4 },       /* out_fd, in_fd */
		{ __NR_splice, 2, 3, 5 },         /* fd_in, fd_out */
		{ __NR_tee, 2, 3, 4 },            { __NR_copy_file_range, 2, 3, 5 },
		{ __NR_epoll_ctl, 2, 3, 5 },      /* epfd, fd */
		{ __NR_epoll_pwait, 1, 3, -1 },   { __NR_renameat2, 2, 3, 5 },
		{ __NR_linkat, 2, 3, 5 },         { __NR_symlinkat, 1, 4, -1 }, /* target, newdirfd */
		{ __NR_fanotify_mark, 2, 3, 6 },  { __NR_mmap, 1, 7, -1 },
		{ __NR_nanosleep, 0, -1, -1 },    { __NR_futex, 0, -1, -1 },
		{ __NR_select, 0, -1, -1 },       /* the sets are in memory */
		{ __NR_poll, 0, -1, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = fds_of(cases[i].nr, args, fds);
		if (n != cases[i].n)
			fail_msg("%s: %zu fds, expected %zu", syscall_name(cases[i].nr), n, cases[i].n);
		if (n > 0)
			assert_int_equal(fds[0], cases[i].fd0);
		if (n > 1)
			assert_int_equal(fds[1], cases[i].fd1);
	}
}

/* AT_FDCWD (-100) and other negative values are no fds. */
static void test_at_fdcwd(void **state)
{
	int fds[6];
	const uint64_t cwd[6] = { (uint64_t)-100, 0x1000, (uint64_t)-100, 0x2000 };
	assert_int_equal(fds_of(__NR_openat, cwd, fds), 0);
	assert_int_equal(fds_of(__NR_renameat2, cwd, fds), 0);
	const uint64_t half[6] = { (uint64_t)-100, 0x1000, 7, 0x2000 };
	assert_int_equal(fds_of(__NR_renameat, half, fds), 1);
	assert_int_equal(fds[0], 7);
}

/* waitid(P_PIDFD, fd, ...) looks the pidfd up; other idtypes name pids. */
static void test_waitid_pidfd(void **state)
{
	int fds[6];
	const uint64_t pidfd[6] = { 3 /* P_PIDFD */, 9 };
	const uint64_t pid[6] = { 1 /* P_PID */, 9 };
	assert_int_equal(fds_of(__NR_waitid, pidfd, fds), 1);
	assert_int_equal(fds[0], 9);
	assert_int_equal(fds_of(__NR_waitid, pid, fds), 0);
}

static void test_fd_sets(void **state)
{
	assert_int_equal(sc_info(arch_sc_native(__NR_poll))->fdset, SC_FDSET_POLL);
	assert_int_equal(sc_info(arch_sc_native(__NR_ppoll))->fdset, SC_FDSET_POLL);
	assert_int_equal(sc_info(arch_sc_native(__NR_select))->fdset, SC_FDSET_SELECT);
	assert_int_equal(sc_info(arch_sc_native(__NR_pselect6))->fdset, SC_FDSET_SELECT);
	assert_int_equal(sc_info(arch_sc_native(__NR_restart_syscall))->fdset, SC_FDSET_MAYBE_POLL);
	assert_int_equal(sc_info(arch_sc_native(__NR_read))->fdset, SC_FDSET_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),      cmocka_unit_test(test_every_id_mapped),
		cmocka_unit_test(test_fd_args),    cmocka_unit_test(test_at_fdcwd),
		cmocka_unit_test(test_waitid_pidfd), cmocka_unit_test(test_fd_sets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
