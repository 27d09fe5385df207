/* The injection engine against a fake tracee: a scripted process whose
 * threads stop, run injected system calls, and record what the engine did
 * to them. Covers the restart rules on restore, the signal mask, signals
 * held during the stop, and every error path still detaching everything. */
#include "unit.h"

#include <linux/ptrace.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "fake_tracee.h"
#include "inject.h"
#include "util.h"

/* A process of n threads; the main one (tid 100) blocked in read(). */
static int setup(void **state)
{
	fake_threads(3);
	F.regs[0].r.rip = 0x401000;
	return 0;
}

static void assert_all_detached_once(void)
{
	for (int i = 0; i < F.nth; i++) {
		assert_int_equal(F.detached[i], 1);
		/* left from a stop inside signal delivery, never from one of
		 * our syscall stops; no signal handed to a stop that drops it */
		assert_int_equal(F.detach_stop[i], F_SIGNAL_PATH);
		assert_int_equal(F.ignored_sig[i], 0);
	}
	sigset_t own;
	sigprocmask(SIG_BLOCK, NULL, &own);
	assert_false(sigismember(&own, SIGINT));
}

static void test_call_and_restore(void **state)
{
	struct inj t;
	struct arch_regs before = F.regs[0];
	uint64_t mask = F.mask[0];
	static const uint64_t args[6] = { 5 };
	long ret = 1;

	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(F.seize_opts & PTRACE_O_SUSPEND_SECCOMP, 0);
	assert_int_equal(F.nsuspend, 0); /* no CAP_SYS_ADMIN here */
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(ret, 0);
	assert_int_equal(F.ncalls, 1);
	assert_int_equal(F.call[0].nr, 3); /* __NR_close */
	assert_int_equal(F.call[0].sys, ASYS_CLOSE);
	assert_int_equal(F.call[0].a[0], 5);
	assert_true(F.mask_blocked_during_call);
	assert_true(F.own_sigint_blocked_during_call);
	assert_int_equal(inj_release(&t), 0);

	/* Restored exactly (rax = -ERESTARTSYS, orig_rax = read), from a
	 * stop inside signal delivery (the engine leaves its syscall-exit stop
	 * for one first), where the kernel applies the restart rules itself on
	 * resume (and turns the call into EINTR if a handler runs then). */
	assert_true(t.nth == 0);
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	assert_int_equal(F.mask[0], mask);
	assert_all_detached_once();
}

static void test_finished_call_restored_exactly(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 7 };
	long ret;
	F.regs[0].r.rax = 3; /* read returned 3 bytes: nothing to restart */
	struct arch_regs before = F.regs[0];
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(inj_call(&t, ASYS_SHUTDOWN, args, &ret), 0);
	assert_int_equal(F.call[1].nr, 48); /* __NR_shutdown */
	assert_int_equal(inj_release(&t), 0);
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	assert_all_detached_once();
}

/* A signal taken at the attach's stop is delivered from that stop at
 * once (the thread stops again right after), not held in sockreap until
 * the detach: a sockreap that died in between would lose it. A stop
 * signal stays held: it goes with the detach. */
static void test_signal_held_and_redelivered(void **state)
{
	struct inj t;
	F.stop_sig[1] = SIGUSR1;
	F.stop_sig[2] = SIGTSTP;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(F.delivered[1], SIGUSR1);
	assert_int_equal(t.th[1].pending_sig, 0); /* nothing of it left in sockreap */
	assert_true(t.th[1].stopped && t.th[1].in_signal_path);
	assert_int_equal(t.th[2].pending_sig, SIGTSTP);
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(F.detach_sig[1], 0);
	assert_int_equal(F.detach_sig[2], SIGTSTP);
	assert_int_equal(F.detach_sig[0], 0);
	assert_int_equal(F.nsetregs, 0); /* no call, nothing touched */
	assert_all_detached_once();
}

static void test_already_traced(void **state)
{
	struct inj t;
	F.tracer = 4242;
	assert_int_equal(inj_attach(&t, &fake, 100), -EBUSY);
	assert_non_null(strstr(t.why, "4242"));
	assert_int_equal(F.nseize, 0);
}

static void test_seize_refused(void **state)
{
	struct inj t;
	F.seize_err = -EPERM;
	assert_int_equal(inj_attach(&t, &fake, 100), -EPERM);
	assert_non_null(strstr(t.why, "CAP_SYS_PTRACE"));
	for (int i = 0; i < F.nth; i++)
		assert_false(F.attached[i]);
}

/* A zombie refuses PTRACE_SEIZE with EPERM: that is "gone", not a
 * permission problem (issue 8, case 7). */
static void test_zombie_is_gone(void **state)
{
	struct inj t;
	F.zombie = true;
	assert_int_equal(inj_attach(&t, &fake, 100), -ESRCH);
	assert_non_null(strstr(t.why, "exited"));
	assert_null(strstr(t.why, "CAP_SYS_PTRACE"));
}

/* The pid names another process than the one planned (issue 8, case 11):
 * refused before any seize, or, reused between that check and the seize,
 * refused once stopped and every thread detached. Nothing else touched. */
static void test_pid_reused(void **state)
{
	struct inj t;
	F.start_time = 5000;
	assert_int_equal(inj_attach_checked(&t, &fake, 100, 4000), -ESRCH);
	assert_non_null(strstr(t.why, "PID reused"));
	assert_int_equal(F.nseize, 0);

	setup(state);
	F.start_time = 4000;
	F.reused_at_seize = true;
	assert_int_equal(inj_attach_checked(&t, &fake, 100, 4000), -ESRCH);
	assert_non_null(strstr(t.why, "PID reused"));
	assert_int_equal(F.nsetregs, 0);
	assert_all_detached_once();

	setup(state); /* the same process: attached */
	F.start_time = 4000;
	assert_int_equal(inj_attach_checked(&t, &fake, 100, 4000), 0);
	inj_release(&t);
	assert_all_detached_once();
}

/* A thread stops in PTRACE_EVENT_EXEC while we attach (issue 8, case 2):
 * the process is a new program; give up, everything detached, untouched. */
static void test_exec_while_attaching(void **state)
{
	struct inj t;
	F.exec_event[1] = true;
	assert_int_equal(inj_attach(&t, &fake, 100), -EAGAIN);
	assert_non_null(strstr(t.why, "execve"));
	assert_true(F.seize_opts & PTRACE_O_TRACEEXEC);
	assert_int_equal(F.nsetregs, 0);
	assert_all_detached_once();
}

/* A thread we had stopped dies (SIGKILL: an exec elsewhere, or an exit)
 * while another one has not stopped yet: it is reaped at once, so an
 * execve() waiting for it can finish, and the attach gives up well before
 * its deadline. */
static void test_stopped_thread_killed(void **state)
{
	struct inj t;
	F.killed[1] = true;
	F.never_stops[2] = true;
	uint64_t t0 = now_ns();
	assert_int_equal(inj_attach(&t, &fake, 100), -EAGAIN);
	assert_true(now_ns() - t0 < INJ_ATTACH_TIMEOUT_NS / 2);
	assert_non_null(strstr(t.why, "killed"));
	assert_true(F.exited[1]);
	assert_int_equal(F.detached[1], 0); /* gone */
	assert_int_equal(F.detached[0], 1);
}

/* Seccomp is suspended in the thread our calls run in, only while they
 * run: never while the threads run their own code (between batches, or
 * after). A target under seccomp without CAP_SYS_ADMIN is refused before
 * anything is seized. */
static void test_seccomp_suspended_or_refused(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.seccomp = 2;
	F.cap_sys_admin = true;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_false(F.seize_opts & PTRACE_O_SUSPEND_SECCOMP); /* not for every thread */
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_true(F.opts[t.it] & PTRACE_O_SUSPEND_SECCOMP);
	assert_int_equal(F.nsuspend, 1);
	assert_int_equal(inj_pause(&t), 0);
	for (int i = 0; i < F.nth; i++)
		assert_false(F.opts[i] & PTRACE_O_SUSPEND_SECCOMP);
	assert_false(F.ran_unsandboxed);
	assert_int_equal(inj_restop(&t), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(F.nsuspend, 2);
	assert_int_equal(inj_release(&t), 0);
	assert_false(F.ran_unsandboxed);
	assert_all_detached_once();

	setup(state);
	F.seccomp = 2; /* no CAP_SYS_ADMIN */
	assert_int_equal(inj_attach(&t, &fake, 100), -EPERM);
	assert_non_null(strstr(t.why, "CAP_SYS_ADMIN"));
	assert_int_equal(F.nseize, 0);
}

/* Suspended where sockreap may, even if the leader has no filter (a
 * filter is per thread, and may come between two batches). Where the
 * option is refused, each stop checks the thread our calls would run in,
 * as it does for syscall user dispatch: such a thread is passed over,
 * and with none left nothing is touched. */
static void test_seccomp_and_dispatch_per_thread(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.cap_sys_admin = true;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	F.thread_seccomp[1] = 2; /* suspended where the calls run: no matter */
	F.sud[0] = 1;            /* the main thread: dispatched */
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(t.th[t.it].tid, 101);
	assert_true(F.opts[1] & PTRACE_O_SUSPEND_SECCOMP);
	assert_false(F.opts[0] & PTRACE_O_SUSPEND_SECCOMP); /* passed over: put back */
	assert_int_equal(inj_release(&t), 0);

	setup(state);
	F.cap_sys_admin = true;
	F.suspend_refused = true; /* CAP_SYS_ADMIN of a user namespace only */
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	F.sud[0] = 1;            /* the main thread: dispatched */
	F.thread_seccomp[1] = 2; /* 101: a filter of its own */
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(t.th[t.it].tid, 102);
	assert_false(t.can_suspend);
	assert_int_equal(inj_release(&t), 0);
	assert_all_detached_once();

	setup(state);
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	F.sud[0] = 1;
	F.thread_seccomp[1] = F.thread_seccomp[2] = 2;
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), -EPERM);
	assert_non_null(strstr(t.why, "seccomp"));
	assert_int_equal(F.nsetregs, 0);
	assert_int_equal(F.ncalls, 0);
	assert_int_equal(inj_release(&t), 0);
	assert_all_detached_once();

	setup(state);
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	F.sud[0] = F.sud[1] = F.sud[2] = 1;
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), -EPERM);
	assert_non_null(strstr(t.why, "syscall user dispatch"));
	assert_int_equal(F.nsetregs, 0);
	assert_int_equal(inj_release(&t), 0);
	assert_all_detached_once();
}

/* A kernel that cannot say whether a thread uses syscall user dispatch
 * (before 6.4), in a process that maps Wine's ntdll.so: refused. And a
 * forced SIGSYS (or fault) at an injected call is ours: the call fails,
 * the signal is never passed on or sent again. */
static void test_dispatch_unknown_and_forced_sigsys(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.maps = "00400000-00401000 r-xp 00000000 08:01 1 /bin/app\n"
		 "00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n"
		 "7f0000000000-7f0000100000 r-xp 00000000 08:01 2 /usr/lib/wine/x86_64-unix/ntdll.so\n";
	F.sud[0] = F.sud[1] = F.sud[2] = -EIO;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), -EPERM);
	assert_non_null(strstr(t.why, "ntdll.so"));
	assert_int_equal(F.nsetregs, 0);
	assert_int_equal(inj_release(&t), 0);
	assert_all_detached_once();

	setup(state);
	F.sud[0] = F.sud[1] = F.sud[2] = -EIO; /* not Wine: let through */
	F.call_fault = SIGSYS;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), -EFAULT);
	assert_non_null(strstr(t.why, "signal 31"));
	assert_int_equal(t.th[t.it].resend_sig, 0);
	assert_int_equal(t.th[t.it].pending_sig, 0);
	assert_int_equal(inj_release(&t), 0);
	for (int i = 0; i < F.nth; i++)
		assert_int_equal(F.detach_sig[i], 0);
	assert_int_equal(F.mask[0], 0x4000);
}

/* A field safety depends on that cannot be read: nothing is touched, and
 * the reason names the field (fail closed). */
static void test_safety_field_unreadable(void **state)
{
	static const char *const fields[] = { "Seccomp", "TracerPid" };
	for (size_t i = 0; i < 2; i++) {
		struct inj t;
		setup(state);
		F.seccomp = 2;
		F.status_missing = fields[i];
		assert_int_equal(inj_attach(&t, &fake, 100), -EIO);
		assert_non_null(strstr(t.why, fields[i]));
		assert_non_null(strstr(t.why, "refused"));
		assert_int_equal(F.nseize, 0);
	}
}

static void test_thread_never_stops(void **state)
{
	struct inj t;
	F.never_stops[2] = true;
	assert_int_equal(inj_attach(&t, &fake, 100), -ETIMEDOUT);
	assert_non_null(strstr(t.why, "102"));
	assert_int_equal(F.nsetregs, 0);
	assert_int_equal(F.detached[0], 1);
	assert_int_equal(F.detached[1], 1);
	assert_int_equal(F.detached[2], 0); /* cannot: never stopped */
}

static void test_setregs_fails(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	uint64_t mask = F.mask[0];
	F.setregs_fails = true;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_true(inj_call(&t, ASYS_CLOSE, args, &ret) < 0);
	inj_release(&t);
	assert_int_equal(F.mask[0], mask);
	assert_int_equal(F.ncalls, 0);
	assert_all_detached_once();
}

static void test_exit_during_call(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.exit_on_call = true;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), -ESRCH);
	inj_release(&t);
	assert_int_equal(F.detached[0], 0); /* gone */
	assert_int_equal(F.detached[1], 1);
	assert_int_equal(F.detached[2], 1);
}

static void test_stops_before_the_call(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 9 };
	long ret;
	F.interrupts_before_exec = 2;
	F.ret = -EBADF;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(ret, -EBADF);
	assert_int_equal(F.ncalls, 1);
	inj_release(&t);
	assert_all_detached_once();
}

/* ---- inj_busy_fds: what blocked threads will look up again ---- */

#define MEM 0x10000ull

/* Thread 0 interrupted in call nr (to be restarted) with args a0..a3;
 * the busy fds, with the call's name, into out (at most 8). */
static size_t busy_of(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, int *out, const char **call)
{
	struct inj t;
	struct inj_busy *b = NULL;
	size_t n = 0;
	F.mem_addr = MEM;
	F.regs[0].r.orig_rax = (uint64_t)nr;
	F.regs[0].r.rax = (uint64_t)-514; /* -ERESTARTNOHAND */
	F.regs[0].r.rdi = a0;
	F.regs[0].r.rsi = a1;
	F.regs[0].r.rdx = a2;
	F.regs[0].r.r10 = a3;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_busy_fds(&t, &b, &n), 0);
	inj_release(&t);
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		out[i] = b[i].fd;
		assert_int_equal(b[i].tid, 100);
		assert_int_equal(b[i].nr, nr);
		if (i > 0)
			assert_true(out[i] > out[i - 1]); /* sorted, one entry per fd */
	}
	*call = n ? b[0].call : NULL;
	free(b);
	return n;
}

/* Once a call was injected in this stop, the injection thread's
 * registers are ours: which fd its own blocked call uses again is read
 * from the registers saved for it (a first stop makes the executor's
 * mapping before the fds are looked at). */
static void test_busy_fds_after_a_call(void **state)
{
	struct inj t;
	struct inj_busy *b = NULL;
	size_t n = 0;
	static const uint64_t args[6] = { 9 };
	long ret;
	F.regs[0].r.orig_rax = 0; /* read(7, ...) */
	F.regs[0].r.rax = (uint64_t)-512;
	F.regs[0].r.rdi = 7;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(inj_busy_fds(&t, &b, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(b[0].fd, 7);
	assert_int_equal(b[0].tid, 100);
	free(b);
	assert_int_equal(inj_release(&t), 0);
}

/* poll() with 100 entries: an fd at entry 80 counts as much as one at
 * entry 3 (only the first 64 were read before); negative fds are none. */
static void test_busy_poll_large(void **state)
{
	int fds[8];
	const char *call;
	struct { int32_t fd; int16_t ev, rev; } *pfd = (void *)F.mem;
	for (int i = 0; i < 100; i++)
		pfd[i].fd = -1;
	pfd[3].fd = 5;
	pfd[80].fd = 77;
	pfd[99].fd = 5; /* twice in the set: one entry */
	assert_int_equal(busy_of(7 /* poll */, MEM, 100, (uint64_t)-1, 0, fds, &call), 2);
	assert_int_equal(fds[0], 5);
	assert_int_equal(fds[1], 77);
	assert_string_equal(call, "poll");
	/* ppoll: the same array; entries past the count are not looked at */
	assert_int_equal(busy_of(271 /* ppoll */, MEM, 50, 0, 0, fds, &call), 1);
	assert_string_equal(call, "ppoll");
}

/* select(): the fds below nfds set in any of the three sets. */
static void test_busy_select(void **state)
{
	int fds[8];
	const char *call;
	uint64_t *rd = (void *)F.mem, *ex = (void *)(F.mem + 512);
	rd[0] = 1ull << 5;
	rd[1] = 1ull << (70 - 64);
	ex[1] = 1ull << (99 - 64) | 1ull << (120 - 64); /* 120 >= nfds: ignored */
	assert_int_equal(busy_of(23 /* select */, 100, MEM, 0, MEM + 512, fds, &call), 3);
	assert_int_equal(fds[0], 5);
	assert_int_equal(fds[1], 70);
	assert_int_equal(fds[2], 99);
	assert_string_equal(call, "select");
	assert_int_equal(busy_of(270 /* pselect6 */, 6, MEM, 0, 0, fds, &call), 1);
	assert_string_equal(call, "pselect6");
	assert_int_equal(busy_of(23, 0, MEM, 0, 0, fds, &call), 0); /* nfds 0: no fd */
}

/* A set that cannot be read: every open fd it could name is busy. */
static void test_busy_unreadable_fails_closed(void **state)
{
	int fds[8];
	const char *call;
	F.bad_addr = 0x20000;
	F.nopen = 5;
	memcpy(F.open_fds, (int[]){ 0, 1, 2, 50, 150 }, 5 * sizeof(int));
	assert_int_equal(busy_of(23 /* select */, 100, 0x20000, 0, 0, fds, &call), 4); /* below nfds */
	assert_int_equal(fds[3], 50);
	assert_int_equal(busy_of(7 /* poll */, 0x20000, 3, 0, 0, fds, &call), 5);
	assert_int_equal(fds[4], 150);
	/* a call the table does not know: all of them too */
	assert_int_equal(busy_of(39 /* getpid, as if it blocked */, 3, 0, 0, 0, fds, &call), 5);
	assert_null(call);
}

/* restart_syscall: a poll set if the first two arguments can be one. */
static void test_busy_restart_syscall(void **state)
{
	int fds[8];
	const char *call;
	struct { int32_t fd; int16_t ev, rev; } *pfd = (void *)F.mem;
	pfd[0].fd = 9;
	F.bad_addr = 0x20000;
	F.nopen = 2;
	assert_int_equal(busy_of(219, MEM, 1, 0, 0, fds, &call), 1);
	assert_int_equal(fds[0], 9);
	assert_string_equal(call, "restart_syscall");
	/* clock_nanosleep restarted: clock id and flags, no readable array */
	assert_int_equal(busy_of(219, 0x20000, 1, 0, 0, fds, &call), 0);
	assert_int_equal(busy_of(219, 0, 0, 0, 0, fds, &call), 0);
	/* nanosleep restarted: req and rem pointers, a count far too big */
	assert_int_equal(busy_of(219, MEM, 0x7ffc0000ull, 0, 0, fds, &call), 0);
}

/* Plain fd arguments, and a call that is not restarted. */
static void test_busy_plain(void **state)
{
	int fds[8];
	const char *call;
	assert_int_equal(busy_of(275 /* splice */, 3, 0, 9, 0, fds, &call), 2);
	assert_int_equal(fds[0], 3);
	assert_int_equal(fds[1], 9);
	assert_string_equal(call, "splice");
	F.regs[1].r.orig_rax = 0; /* thread 101 finished a read(): nothing */
	F.regs[1].r.rax = 3;
	assert_int_equal(busy_of(35 /* nanosleep */, 0, 0, 0, 0, fds, &call), 0);
}

static void test_find_syscall_insn(void **state)
{
	uint64_t addr = 0;
	assert_int_equal(inj_find_syscall_insn(&fake, 100, F.maps, &addr), 0);
	assert_int_equal(addr, INSN); /* the vdso is preferred */
	F.maps = "00500000-00501000 r-xp 00000000 08:01 1 /bin/app\n"
		 "00600000-00601000 rw-p 00000000 00:00 0 [heap]\n";
	assert_int_equal(inj_find_syscall_insn(&fake, 100, F.maps, &addr), 0);
	assert_int_equal(addr, 0x500010);
	F.maps = "00600000-00601000 rw-p 00000000 00:00 0 [heap]\n";
	assert_int_equal(inj_find_syscall_insn(&fake, 100, F.maps, &addr), -ENOENT);
}

/* The syscall instruction is looked for before the attach (the target
 * still runs), and read back at the stop: when it is no longer there,
 * another is found, and the call goes through that one. */
static void test_insn_found_before_attach_checked_at_stop(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(t.insn, INSN);
	F.maps = "00500000-00501000 r-xp 00000000 08:01 1 /bin/app\n"
		 "00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n";
	F.insn_moved = 0x500010;
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(t.insn, 0x500010);
	assert_int_equal(F.ncalls, 1);
	assert_int_equal(F.call[0].sys, ASYS_CLOSE);
	assert_int_equal(inj_release(&t), 0);
	assert_all_detached_once();
}

static void test_compat_task_refused(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.regs[0].r.cs = 0x23;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), -EOPNOTSUPP);
	assert_non_null(strstr(t.why, "32-bit"));
	inj_release(&t);
	assert_int_equal(F.nsetregs, 0);
	assert_all_detached_once();
}

/* Crash-only order: the target's signals are blocked only once its
 * registers are ours, and unblocked before its own go back. Either way a
 * death of sockreap in between never leaves the thread in its own code
 * with every signal blocked. */
static void test_mask_and_register_order(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_string_equal(F.log, "RM");
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(strncmp(F.log, "RMMR", 4), 0);
	assert_null(strchr(F.log + 3, 'M'));
	assert_all_detached_once();
}

/* A thread stopped in a clone event stop is inside clone(): the kernel
 * finishes clone() over whatever is in rax when it resumes, so nothing is
 * injected from there. The engine lets it finish and stop again inside
 * signal delivery, and injects from that stop. */
static void test_clone_stop_left_first(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.attach_stop[0] = CLONE_STOP;
	F.clone_ret = 777;
	F.regs[0].r.orig_rax = 56; /* clone */
	F.regs[0].r.rax = 0xdead;
	struct arch_regs before = F.regs[0];
	/* Another thread is in an interrupt stop: the engine uses that one
	 * and leaves the cloning thread alone. */
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_not_equal(t.th[t.it].tid, 100);
	assert_int_equal(inj_release(&t), 0);
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	/* The only thread is the cloning one. */
	setup(state);
	F.nth = 1;
	F.attach_stop[0] = CLONE_STOP;
	F.clone_ret = 777;
	F.regs[0].r.orig_rax = 56;
	F.regs[0].r.rax = 0xdead;
	before = F.regs[0];
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(t.saved.r.rax, 777); /* saved after clone() finished */
	assert_int_equal(F.ncalls, 1);
	assert_int_equal(inj_release(&t), 0);
	before.r.rax = 777;
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	assert_all_detached_once();
}

/* clone() without CLONE_THREAD, exit signal not SIGCHLD (a clone event
 * all the same): the child is another process, auto-attached. It is held
 * and detached, but never runs our calls (its fd table may be a copy),
 * even though the cloning thread's event stop makes the child's interrupt
 * stop look the better one. */
static void test_clone_child_process_never_picked(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.nth = 2;
	F.attach_stop[0] = CLONE_STOP;
	F.clone_child[0] = 101;
	F.unlisted[1] = true;
	F.tgid[1] = 101;
	F.clone_ret = 101;
	F.regs[0].r.orig_rax = 56; /* clone */
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(t.nth, 2); /* the child, seen */
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(t.th[t.it].tid, 100);
	assert_int_equal(F.ncalls, 1);
	assert_int_equal(inj_release(&t), 0);
	assert_all_detached_once();
}

/* A thread in a signal-delivery stop gets its signal from that very stop
 * (the kernel keeps its siginfo) before the engine uses it; never handed
 * to a later stop, where the kernel would drop it. */
static void delivered_from_its_stop(int sig)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	F.stop_sig[0] = sig;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(F.delivered[0], sig);
	assert_int_equal(F.ignored_sig[0], 0);
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(F.detach_sig[0], 0);
	assert_all_detached_once();
}

static void test_signal_stop_delivered_first(void **state) { delivered_from_its_stop(SIGUSR1); }

/* The same for SIGTRAP: the engine raises none, so a SIGTRAP stop is a
 * signal the application was sent, delivered from its stop, not dropped. */
static void test_sigtrap_stop_delivered_first(void **state) { delivered_from_its_stop(SIGTRAP); }

/* epoll_wait(-1) interrupted by our stop alone is re-entered; with a
 * timeout, or with a signal pending, its EINTR stays. */
static void eintr_case(uint64_t timeout, const char *sigpnd, bool reentered)
{
	struct inj t;
	F.regs[0].r.orig_rax = 232; /* epoll_wait */
	F.regs[0].r.rax = (uint64_t)-EINTR;
	F.regs[0].r.r10 = timeout;
	F.sigpnd = sigpnd;
	struct arch_regs before = F.regs[0];
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_release(&t), 0);
	if (reentered) {
		before.r.rax = 232;
		before.r.rip -= 2;
		before.r.orig_rax = (uint64_t)-1;
	}
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
}

static void test_epoll_wait_eintr(void **state)
{
	eintr_case((uint64_t)-1, NULL, true);
	setup(state);
	eintr_case(1000, NULL, false);
	setup(state);
	eintr_case((uint64_t)-1, "0000000000000200", false);
}

/* Between batches every thread runs (held signals delivered from their own
 * stops), then all stop again; the second batch injects and restores
 * exactly as the first. */
static void test_pause_and_restop(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	struct arch_regs before = F.regs[0];
	F.stop_sig[2] = SIGUSR2;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(inj_pause(&t), 0);
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	for (int i = 0; i < F.nth; i++)
		assert_int_equal(F.stop[i], F_RUNNING);
	assert_int_equal(F.delivered[2], SIGUSR2);
	assert_int_equal(F.npause, 1);
	assert_int_equal(F.nrestop, 0);
	assert_int_equal(inj_restop(&t), 0);
	assert_int_equal(F.nrestop, 1);
	for (int i = 0; i < F.nth; i++)
		assert_int_equal(F.stop[i], F_SIGNAL_PATH);
	assert_int_equal(inj_call(&t, ASYS_SHUTDOWN, args, &ret), 0);
	assert_int_equal(F.ncalls, 2);
	assert_int_equal(inj_release(&t), 0);
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	assert_all_detached_once();
}

/* A thread killed in its stop between two batches (an execve() in
 * another thread kills every other one): the process lives on with a new
 * program, so the next stop does nothing, says so, and our mapping (not
 * in the new address space) is never unmapped there. */
static void test_thread_killed_between_batches(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	t.scratch = 0x7000000, t.scratch_len = 4096; /* as if mapped */
	assert_int_equal(inj_pause(&t), 0);
	F.killed[1] = true;
	F.never_stops[2] = true; /* the thread in execve(), waiting for the others to be reaped */
	assert_true(inj_restop(&t) < 0);
	assert_non_null(strstr(t.why, "new program"));
	int calls = F.ncalls;
	F.never_stops[2] = false; /* its exec done, it stops */
	inj_release(&t);
	assert_int_equal(F.ncalls, calls); /* no munmap */
	assert_true(F.exited[1]);
	assert_int_equal(F.detached[0], 1);
	assert_int_equal(F.detached[2], 1);
}

/* The tracer runs first while it interrupts or resumes every thread
 * (they must not take its CPU meanwhile), and never while it waits: a
 * real-time waiter or spinner could starve the thread it waits for. */
static void test_boosted_only_around_requests(void **state)
{
	struct inj t;
	static const uint64_t args[6] = { 5 };
	long ret;
	assert_int_equal(inj_attach(&t, &fake, 100), 0);
	assert_int_equal(F.interrupts_boosted, F.nth);
	assert_false(F.boosted);
	assert_int_equal(inj_call(&t, ASYS_CLOSE, args, &ret), 0);
	assert_int_equal(F.resumes_boosted, 0); /* the call's own resumes wait */
	assert_int_equal(inj_pause(&t), 0);
	assert_int_equal(F.resumes_boosted, F.nth);
	assert_int_equal(inj_restop(&t), 0);
	assert_int_equal(F.interrupts_boosted, 2 * F.nth);
	int resumes = F.resumes_boosted;
	assert_int_equal(inj_release(&t), 0);
	assert_false(F.boosted);
	assert_int_equal(F.waits_boosted, 0);
	assert_int_equal(F.nboost, 4);
	assert_int_equal(F.resumes_boosted, resumes); /* detached, not resumed */
	assert_all_detached_once();
}

/* The real boost: SCHED_FIFO while on, and then the policy and the nice
 * value as they were; no flag left that only CAP_SYS_NICE could clear
 * (SCHED_RESET_ON_FORK). Needs the right to go real-time (root). */
static void test_real_boost_puts_policy_back(void **state)
{
	errno = 0;
	int nice_before = getpriority(PRIO_PROCESS, 0);
	assert_int_equal(errno, 0);
	assert_int_equal(setpriority(PRIO_PROCESS, 0, nice_before + 3), 0);
	int r = tracee_real.boost(true);
	if (r == -EPERM) {
		setpriority(PRIO_PROCESS, 0, nice_before);
		skip(); /* not allowed to go real-time here */
	}
	assert_int_equal(r, 0);
	assert_int_equal(sched_getscheduler(0), SCHED_FIFO);
	assert_int_equal(tracee_real.boost(false), 0);
	assert_int_equal(sched_getscheduler(0), SCHED_OTHER);
	assert_int_equal(getpriority(PRIO_PROCESS, 0), nice_before + 3);
	/* and again: the first restore left nothing behind */
	assert_int_equal(tracee_real.boost(true), 0);
	assert_int_equal(sched_getscheduler(0), SCHED_FIFO);
	assert_int_equal(tracee_real.boost(false), 0);
	assert_int_equal(sched_getscheduler(0), SCHED_OTHER);
	assert_int_equal(setpriority(PRIO_PROCESS, 0, nice_before), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_call_and_restore, setup),
		cmocka_unit_test_setup(test_finished_call_restored_exactly, setup),
		cmocka_unit_test_setup(test_signal_held_and_redelivered, setup),
		cmocka_unit_test_setup(test_already_traced, setup),
		cmocka_unit_test_setup(test_seize_refused, setup),
		cmocka_unit_test_setup(test_zombie_is_gone, setup),
		cmocka_unit_test_setup(test_pid_reused, setup),
		cmocka_unit_test_setup(test_exec_while_attaching, setup),
		cmocka_unit_test_setup(test_stopped_thread_killed, setup),
		cmocka_unit_test_setup(test_seccomp_suspended_or_refused, setup),
		cmocka_unit_test_setup(test_seccomp_and_dispatch_per_thread, setup),
		cmocka_unit_test_setup(test_dispatch_unknown_and_forced_sigsys, setup),
		cmocka_unit_test_setup(test_safety_field_unreadable, setup),
		cmocka_unit_test_setup(test_thread_never_stops, setup),
		cmocka_unit_test_setup(test_setregs_fails, setup),
		cmocka_unit_test_setup(test_exit_during_call, setup),
		cmocka_unit_test_setup(test_stops_before_the_call, setup),
		cmocka_unit_test_setup(test_busy_poll_large, setup),
		cmocka_unit_test_setup(test_busy_select, setup),
		cmocka_unit_test_setup(test_busy_unreadable_fails_closed, setup),
		cmocka_unit_test_setup(test_busy_restart_syscall, setup),
		cmocka_unit_test_setup(test_busy_plain, setup),
		cmocka_unit_test_setup(test_find_syscall_insn, setup),
		cmocka_unit_test_setup(test_insn_found_before_attach_checked_at_stop, setup),
		cmocka_unit_test_setup(test_busy_fds_after_a_call, setup),
		cmocka_unit_test_setup(test_compat_task_refused, setup),
		cmocka_unit_test_setup(test_mask_and_register_order, setup),
		cmocka_unit_test_setup(test_clone_stop_left_first, setup),
		cmocka_unit_test_setup(test_clone_child_process_never_picked, setup),
		cmocka_unit_test_setup(test_signal_stop_delivered_first, setup),
		cmocka_unit_test_setup(test_sigtrap_stop_delivered_first, setup),
		cmocka_unit_test_setup(test_epoll_wait_eintr, setup),
		cmocka_unit_test_setup(test_pause_and_restop, setup),
		cmocka_unit_test_setup(test_thread_killed_between_batches, setup),
		cmocka_unit_test_setup(test_boosted_only_around_requests, setup),
		cmocka_unit_test(test_real_boost_puts_policy_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
