/* x86_64: the kernel's restart rules as the engine applies them on restore,
 * and injected-call register setup that touches only what it must. */
#include "unit.h"

#include <asm/unistd_64.h>
#include <string.h>

#include "arch/arch.h"

static struct arch_regs sample(long orig, long rax)
{
	struct arch_regs r;
	uint64_t *w = (uint64_t *)&r.r;
	for (size_t k = 0; k < sizeof(r.r) / 8; k++)
		w[k] = 0x0101010101010101ull * (uint64_t)(k + 1);
	r.r.cs = 0x33;
	r.r.orig_rax = (uint64_t)orig;
	r.r.rax = (uint64_t)rax;
	r.r.rip = 0x401002;
	return r;
}

static void test_restart_table(void **state)
{
	static const struct { long orig, rax; bool changes; long new_rax; } cases[] = {
		{ __NR_read, -K_ERESTARTSYS, true, __NR_read },
		{ __NR_accept, -K_ERESTARTNOINTR, true, __NR_accept },
		{ __NR_pause, -K_ERESTARTNOHAND, true, __NR_pause },
		{ __NR_nanosleep, -K_ERESTART_RESTARTBLOCK, true, __NR_restart_syscall },
		{ __NR_ioctl, -K_ENOIOCTLCMD, false, 0 },
		{ __NR_read, -EINTR, false, 0 },
		{ __NR_read, 0, false, 0 },
		{ __NR_read, 42, false, 0 },
		{ -1, -K_ERESTARTSYS, false, 0 }, /* not in a system call */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arch_regs r = sample(cases[i].orig, cases[i].rax), before = r;
		assert_int_equal(arch_restart_fixup(&r), cases[i].changes);
		if (!cases[i].changes) {
			assert_memory_equal(&r, &before, sizeof(r));
			continue;
		}
		assert_int_equal((long)r.r.rax, cases[i].new_rax);
		assert_int_equal(r.r.rip, 0x401000);
		assert_int_equal((long)r.r.orig_rax, -1);
		/* nothing else moved */
		before.r.rax = r.r.rax;
		before.r.rip = r.r.rip;
		before.r.orig_rax = r.r.orig_rax;
		assert_memory_equal(&r, &before, sizeof(r));
		/* applying it twice changes nothing more */
		assert_false(arch_restart_fixup(&r));
	}
}

static void test_set_syscall(void **state)
{
	struct arch_regs r = sample(__NR_read, -K_ERESTARTSYS), before = r;
	static const uint64_t args[6] = { 1, 2, 3, 4, 5, 6 };
	arch_set_syscall(&r, 0x7000, __NR_close, args);
	assert_int_equal(r.r.rip, 0x7000);
	assert_int_equal(r.r.rax, __NR_close);
	assert_int_equal((long)r.r.orig_rax, -1);
	assert_int_equal(r.r.rdi, 1);
	assert_int_equal(r.r.rsi, 2);
	assert_int_equal(r.r.rdx, 3);
	assert_int_equal(r.r.r10, 4);
	assert_int_equal(r.r.r8, 5);
	assert_int_equal(r.r.r9, 6);
	before.r.rip = r.r.rip;
	before.r.rax = r.r.rax;
	before.r.orig_rax = r.r.orig_rax;
	before.r.rdi = r.r.rdi;
	before.r.rsi = r.r.rsi;
	before.r.rdx = r.r.rdx;
	before.r.r10 = r.r.r10;
	before.r.r8 = r.r.r8;
	before.r.r9 = r.r.r9;
	assert_memory_equal(&r, &before, sizeof(r)); /* rsp, rbx, rbp, r12-15, flags, segments kept */
}

static void test_sysno_and_mode(void **state)
{
	struct arch_regs r = sample(-1, 0);
	assert_int_equal(arch_sysno(&r, ASYS_CLOSE), __NR_close);
	assert_int_equal(arch_sysno(&r, ASYS_SHUTDOWN), __NR_shutdown);
	assert_int_equal(arch_sysno(&r, ASYS_CLOSE_RANGE), 436);
	r.r.cs = 0x23; /* ia32 compat task */
	assert_int_equal(arch_sysno(&r, ASYS_CLOSE), -1);
	assert_non_null(strstr(arch_mode_name(&r), "32-bit"));
}

/* A thread inside a call the kernel will restart: its number and args;
 * what those mean is in the arch-neutral table (test_syscalls.c). */
static void test_interrupted_call(void **state)
{
	long nr = -1;
	uint64_t args[6];
	struct arch_regs r = sample(__NR_splice, -K_ERESTARTSYS);
	r.r.rdi = 3;
	r.r.rsi = 4;
	r.r.rdx = 9;
	r.r.r10 = 10;
	r.r.r8 = 11;
	r.r.r9 = 12;
	assert_true(arch_interrupted_call(&r, &nr, args));
	assert_int_equal(nr, __NR_splice);
	assert_int_equal(args[0], 3);
	assert_int_equal(args[1], 4);
	assert_int_equal(args[2], 9);
	assert_int_equal(args[3], 10); /* the fourth argument is r10, not rcx */
	assert_int_equal(args[4], 11);
	assert_int_equal(args[5], 12);
	assert_int_equal(arch_sc(&r, nr), SC_SPLICE);
	r = sample(__NR_read, 5); /* finished: nothing will be looked up */
	assert_false(arch_interrupted_call(&r, &nr, args));
	r = sample(__NR_ioctl, -K_ENOIOCTLCMD); /* never restarted */
	assert_false(arch_interrupted_call(&r, &nr, args));
	r = sample(-1, -K_ERESTARTSYS); /* not in a system call */
	assert_false(arch_interrupted_call(&r, &nr, args));
	r = sample(__NR_poll, -K_ERESTART_RESTARTBLOCK);
	assert_true(arch_interrupted_call(&r, &nr, args));
	assert_int_equal(arch_sc(&r, nr), SC_POLL);
	r.r.cs = 0x23; /* ia32 numbers mean other calls: unknown, not misread */
	assert_int_equal(arch_sc(&r, __NR_poll), SC_UNKNOWN);
}

static void test_close_loop_code(void **state)
{
	struct arch_regs r = sample(__NR_read, -K_ERESTARTSYS);
	uint64_t left;
	arch_set_close_loop(&r, 0x9000, 0xa000, 0xb000, 12);
	assert_int_equal(r.r.rip, 0x9000);
	assert_int_equal((long)r.r.orig_rax, -1);
	assert_false(arch_close_loop_done(&r, 0x9000, &left));
	assert_int_equal(left, 12);
	/* the loop ends in int3, after which rip is past the code */
	assert_int_equal(arch_close_loop[arch_close_loop_len - 1], 0xcc);
	r.r.rip = 0x9000 + arch_close_loop_len;
	r.r.r13 = 0;
	assert_true(arch_close_loop_done(&r, 0x9000, &left));
	assert_int_equal(left, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_table), cmocka_unit_test(test_set_syscall),
		cmocka_unit_test(test_sysno_and_mode), cmocka_unit_test(test_interrupted_call),
		cmocka_unit_test(test_close_loop_code),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
