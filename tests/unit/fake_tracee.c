#include "fake_tracee.h"

#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stddef.h>
#include <ucontext.h>

#include "exec_abi.h"
#include <linux/ptrace.h>

struct fake F;


static int idx(pid_t tid)
{
	for (int i = 0; i < F.nth; i++)
		if (F.tid[i] == tid)
			return i;
	fail_msg("unknown tid %d", (int)tid);
	return -1;
}

static void logc(char c)
{
	size_t n = strlen(F.log);
	if (n + 1 < sizeof(F.log))
		F.log[n] = c;
}

static int f_seize(pid_t tid, unsigned long opts)
{
	F.seize_opts = opts;
	if (F.reused_at_seize && F.nseize == 0)
		F.start_time++;
	if (F.zombie)
		return -EPERM;
	F.nseize++;
	if (F.suspend_refused && (opts & PTRACE_O_SUSPEND_SECCOMP))
		return -EPERM;
	F.opts[idx(tid)] = opts;
	if (F.seize_err && tid == F.tid[0]) /* the main thread, however often asked */
		return F.seize_err;
	F.attached[idx(tid)] = true;
	return 0;
}

/* Stopped again after every thread ran between batches (the first
 * interrupt of a thread that runs on its own): the test's hook first. */
static void restop_seen(int i)
{
	if (!F.free_run[i])
		return;
	for (int k = 0; k < F.nth; k++)
		F.free_run[k] = false;
	F.nrestop++;
	if (F.between_batches)
		F.between_batches();
}

static int f_interrupt(pid_t tid)
{
	int i = idx(tid);
	F.interrupts_boosted += F.boosted;
	if (F.exited[i])
		return -ESRCH;
	restop_seen(i);
	if (F.never_stops[i])
		return 0;
	if (F.stop[i] != F_RUNNING) {
		F.interrupt_pending[i] = true; /* taken when it next leaves its stop */
		return 0;
	}
	if (F.exec_event[i])
		F.queued[i] = 0x7f | SIGTRAP << 8 | PTRACE_EVENT_EXEC << 16;
	else
		F.queued[i] = F.attach_stop[i] ? F.attach_stop[i] : F.stop_sig[i] ? SIG_STOP(F.stop_sig[i]) : EV_STOP;
	F.attach_stop[i] = F.stop_sig[i] = 0;
	return 0;
}

static int f_wait(pid_t tid, int *status, uint64_t deadline)
{
	int i = idx(tid);
	F.waits_boosted += F.boosted && deadline; /* 0: it does not wait */
	if (!F.queued[i])
		return F.exited[i] ? -ECHILD : -ETIMEDOUT;
	*status = F.queued[i];
	F.queued[i] = 0;
	if (*status == EV_STOP && F.npause == 0 && F.slow_first_stop_ns) {
		uint64_t ns = F.slow_first_stop_ns;
		F.slow_first_stop_ns = 0;
		nanosleep(&(struct timespec){ (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) }, NULL);
	}
	if (WIFSTOPPED(*status))
		F.stop[i] = *status == SYSCALL_STOP ? (F.regs[i].r.orig_rax == (uint64_t)-1 ? F_EXIT : F_ENTRY)
			  : (*status >> 16) == PTRACE_EVENT_CLONE ? F_EVENT : F_SIGNAL_PATH;
	return 0;
}

static int f_getregs(pid_t tid, struct arch_regs *r) { *r = F.regs[idx(tid)]; return 0; }

static int f_setregs(pid_t tid, const struct arch_regs *r)
{
	if (F.on_setregs)
		F.on_setregs(idx(tid), r);
	F.nsetregs++;
	logc('R');
	if (F.setregs_fails)
		return -EIO;
	F.regs[idx(tid)] = *r;
	return 0;
}

static int f_getsigmask(pid_t tid, uint64_t *m) { *m = F.mask[idx(tid)]; return 0; }
static int f_setsigmask(pid_t tid, uint64_t m) { logc('M'); F.mask[idx(tid)] = m; return 0; }

static uint8_t *mem_at(uint64_t addr, size_t len)
{
	if (F.gadgets && addr >= STACK_LO && addr + len <= STACK_HI)
		return F.stack + (addr - STACK_LO);
	if (!F.mem_addr || addr < F.mem_addr || addr + len > F.mem_addr + sizeof(F.mem))
		return NULL;
	return F.mem + (addr - F.mem_addr);
}

bool fake_frame_context(uint64_t frame_sp, const struct arch_regs *live, struct arch_regs *r, uint64_t *mask)
{
#if defined(__x86_64__)
	/* the kernel's struct ucontext is where rt_sigreturn's rsp points
	 * (past the return address); glibc's ucontext_t has its layout up to
	 * uc_sigmask (of which the kernel uses the first 8 bytes) */
	const uint8_t *uc = mem_at(frame_sp, sizeof(ucontext_t));
	if (!uc)
		return false;
	arch_frame_context(uc + offsetof(ucontext_t, uc_mcontext), live, r);
	memcpy(mask, uc + offsetof(ucontext_t, uc_sigmask), sizeof(*mask));
	/* its XSAVE area: where fpregs points, the thread's legacy state */
	uint64_t fp;
	memcpy(&fp, uc + offsetof(ucontext_t, uc_mcontext.fpregs), sizeof(fp));
	const uint8_t *x = mem_at(fp, sizeof(F.xstate));
	F.exec_frame_checked = x && !memcmp(x, F.xstate, 464); /* the rest: the kernel's sw bytes */
	return true;
#else
	return false;
#endif
}

/* Call nr with r's arguments, as the process would run it (on_call or
 * ret), recorded in F.call: its result. */
static long run_call(const struct arch_regs *r, long nr)
{
	struct fake_call c = { .nr = nr, .sys = ASYS__MAX };
	for (int s = 0; s < ASYS__MAX; s++)
		if (arch_sysno(r, (enum arch_sys)s) == c.nr)
			c.sys = (enum arch_sys)s;
	for (int k = 0; k < 6; k++)
		c.a[k] = arch_syscall_arg(r, k);
	c.ret = F.on_call ? F.on_call(&c) : F.ret;
	if (F.ncalls < FAKE_CALLS)
		F.call[F.ncalls] = c;
	F.ncalls++;
	return c.ret;
}

bool fake_run_on(int i)
{
#if defined(__x86_64__)
	struct arch_regs *r = &F.regs[i];
	if (!F.gadgets || (r->r.rip != GUARD_CALL && r->r.rip != GUARD_CALL + 2))
		return false;
	if (r->r.rip == GUARD_CALL) /* the call, as the kernel runs it */
		r->r.rax = (uint64_t)run_call(r, (long)r->r.rax);
	uint64_t ret_to;
	const uint8_t *sp = mem_at(r->r.rsp, sizeof(ret_to));
	if (!sp)
		return false;
	memcpy(&ret_to, sp, sizeof(ret_to));
	if (ret_to != GUARD_RET)
		return false;
	struct arch_regs back;
	uint64_t mask;
	if (!fake_frame_context(r->r.rsp + 8, r, &back, &mask))
		return false;
	*r = back;
	F.mask[i] = mask;
	return true;
#else
	return false;
#endif
}

/* The executor, played: the job's ops all "run", then (exec_self_restore)
 * its wait for sockreap times out and it restores the thread itself. */
static void play_executor(int i)
{
	struct exec_job job;
	uint64_t at = F.regs[i].r.r15;
	uint8_t *jp = mem_at(at, sizeof(job));
	if (!jp)
		fail_msg("the executor's job is not in the mapping (r15 %#" PRIx64 ")", at);
	memcpy(&job, jp, sizeof(job));
	F.exec_runs++;
	for (uint64_t k = 0; k < job.nops; k++) {
		struct exec_op op;
		uint8_t *opp = mem_at(job.ops + k * sizeof(op), sizeof(op));
		assert_non_null(opp);
		memcpy(&op, opp, sizeof(op));
		op.ret = F.exec_ret;
		memcpy(opp, &op, sizeof(op));
	}
	job.progress = job.nops;
	job.stopped_at = UINT64_MAX;
	job.done = 1;
	memcpy(jp, &job, sizeof(job));
	if (F.exec_self_restore) {
		struct arch_regs r;
		uint64_t mask;
		assert_true(fake_frame_context(job.frame_sp, &F.regs[i], &r, &mask));
		F.regs[i] = r;
		F.mask[i] = mask;
		if (F.exec_runs_on)
			F.regs[i].r.rip += 0x10, F.regs[i].r.rbx ^= 0xff;
	}
}

/* PTRACE_SYSCALL at the syscall instruction: its entry stop; from the
 * entry stop: the call runs, its exit stop. PTRACE_CONT with an interrupt
 * pending: the interrupt's stop (leaving a clone stop finishes clone()).
 * A signal passed from a signal-delivery stop is delivered; from any other
 * stop the kernel ignores it. */
static int f_resume(pid_t tid, bool to_syscall, int sig)
{
	int i = idx(tid);
	struct arch_regs *r = &F.regs[i];
	enum fstop was = F.stop[i];

	F.nresume++;
	F.resumes_boosted += F.boosted;
	if (F.exited[i])
		return -ESRCH;
	if (sig && was == F_SIGNAL_PATH && F.queued[i] == 0)
		F.delivered[i] = sig;
	else if (sig)
		F.ignored_sig[i] = sig;
	F.stop[i] = F_RUNNING;
	if (was == F_EVENT)
		r->r.rax = (uint64_t)F.clone_ret; /* clone() returns as it resumes */
	if (F.exit_on_call && r->r.rip == INSN) {
		F.exited[i] = true;
		F.queued[i] = SIGKILL; /* WIFSIGNALED */
		return 0;
	}
	if (F.interrupts_before_exec > 0) {
		F.interrupts_before_exec--;
		F.queued[i] = EV_STOP;
		return 0;
	}
	if (to_syscall && was == F_ENTRY) {
		sigset_t own;
		sigprocmask(SIG_BLOCK, NULL, &own);
		F.own_sigint_blocked_during_call = sigismember(&own, SIGINT);
		F.mask_blocked_during_call = F.mask[i] == ~0ull;
		long ret = run_call(r, arch_current_syscall(r));
		if (F.exited[i])
			return 0; /* killed in the call (fake_kill) */
		r->r.rax = (uint64_t)ret;
		r->r.orig_rax = (uint64_t)-1; /* marks the exit stop for f_wait */
		F.queued[i] = SYSCALL_STOP;
		return 0;
	}
	if (to_syscall && F.call_fault) {
		F.queued[i] = SIG_STOP(F.call_fault); /* dispatch, or a filter's RET_TRAP */
		F.call_fault = 0;
		return 0;
	}
	if (to_syscall) {
		if (!F.gadgets || r->r.rip != GUARD_CALL)
			assert_int_equal(r->r.rip, F.insn_moved ? F.insn_moved : INSN);
		assert_int_equal((long)r->r.orig_rax, -1);
		r->r.rip += 2;
		r->r.orig_rax = r->r.rax;
		F.queued[i] = SYSCALL_STOP;
		return 0;
	}
	bool ours = F.mapped_len && r->r.rip >= F.mem_addr && r->r.rip < F.mem_addr + F.mapped_len;
	if (!to_syscall && ours)
		play_executor(i);
	/* its own code, with no interrupt to stop it first */
	if (!to_syscall && !ours && !F.interrupt_pending[i] && (F.opts[i] & PTRACE_O_SUSPEND_SECCOMP))
		F.ran_unsandboxed = true;
	if (F.interrupt_pending[i]) {
		F.interrupt_pending[i] = false;
		F.queued[i] = EV_STOP;
	} else if (!F.queued[i])
		F.free_run[i] = true;
	for (int k = 0; k < F.nth && F.free_run[i]; k++)
		if (!F.free_run[k] && !F.exited[k])
			return 0;
	if (F.free_run[i] && ++F.npause <= 4) /* the last thread of the process let go */
		F.calls_at_pause[F.npause - 1] = F.ncalls;
	return 0;
}

static int f_detach(pid_t tid, int sig)
{
	int i = idx(tid);
	if (F.exited[i])
		return -ESRCH;
	F.detached[i]++;
	F.detach_sig[i] = sig;
	F.detach_stop[i] = F.stop[i];
	F.stop[i] = F_RUNNING;
	F.interrupt_pending[i] = false;
	F.opts[i] = 0; /* the options go with the tracer */
	return 0;
}

static int f_geteventmsg(pid_t tid, unsigned long *msg)
{
	int i = idx(tid);
	*msg = (unsigned long)F.clone_child[i];
	if (F.clone_child[i]) {
		int c = idx(F.clone_child[i]);
		F.attached[c] = true;
		F.queued[c] = EV_STOP;
		F.clone_child[i] = 0;
	}
	return 0;
}

static int f_list_threads(pid_t pid, pid_t **tids, size_t *n)
{
	*tids = malloc(sizeof(pid_t) * (size_t)F.nth);
	*n = 0;
	for (int i = 0; i < F.nth; i++)
		if (!F.unlisted[i])
			(*tids)[(*n)++] = F.tid[i];
	return 0;
}

static int f_read_maps(pid_t pid, char **text)
{
	char stack[64] = "";
	if (F.gadgets)
		snprintf(stack, sizeof(stack), "%08" PRIx64 "-%08" PRIx64 " rw-p 00000000 00:00 0  [stack]\n", (uint64_t)STACK_LO,
			 (uint64_t)STACK_HI);
	if (!F.mapped_len) {
		if (asprintf(text, "%s%s", F.maps, stack) < 0)
			*text = NULL;
	} else if (asprintf(text, "%s%s%08" PRIx64 "-%08" PRIx64 " rw-p 00000000 00:00 0 \n", F.maps, stack,
			    F.mem_addr, F.mem_addr + F.mapped_len) < 0)
		*text = NULL;
	return *text ? 0 : -ENOMEM;
}

static void put_bytes(void *buf, uint64_t addr, size_t len, uint64_t at, const struct arch_insn *insn)
{
	if (at >= addr && at + insn->len <= addr + len)
		memcpy((uint8_t *)buf + (at - addr), insn->bytes, insn->len);
}

static int f_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	if (F.bad_addr && addr < F.bad_addr + 4096 && addr + len > F.bad_addr)
		return -EIO;
	const uint8_t *m = mem_at(addr, len);
	if (m) {
		memcpy(buf, m, len);
		return 0;
	}
	/* every executable byte is 0x90 except one syscall instruction in
	 * the vdso at INSN and one in the "code" mapping at 0x500010 */
	memset(buf, 0x90, len);
	if (F.gadgets) {
		put_bytes(buf, addr, len, GUARD_CALL, &arch_guard_call);
		put_bytes(buf, addr, len, GUARD_RET, &arch_guard_sigreturn[0]);
	}
	if (F.insn_moved) {
		if (F.insn_moved >= addr && F.insn_moved + arch_syscall_insn.len <= addr + len)
			memcpy((uint8_t *)buf + (F.insn_moved - addr), arch_syscall_insn.bytes, arch_syscall_insn.len);
		return 0;
	}
	for (uint64_t at = 0; at < 2; at++) {
		uint64_t insn = at ? 0x500010 : INSN;
		if (insn >= addr && insn + arch_syscall_insn.len <= addr + len && (at == 0 || !strstr(F.maps, "[vdso]")))
			memcpy((uint8_t *)buf + (insn - addr), arch_syscall_insn.bytes, arch_syscall_insn.len);
	}
	return 0;
}

static int f_write_mem(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	uint8_t *m = mem_at(addr, len);
	if (!m)
		return -EIO;
	memcpy(m, buf, len);
	return 0;
}

/* "t (tracing stop)" while a thread is in a stop of ours; gone when every
 * thread has exited. */
static int f_state(char *buf, size_t size)
{
	bool alive = false, traced = false;
	for (int i = 0; i < F.nth; i++) {
		alive |= !F.exited[i];
		traced |= !F.exited[i] && F.attached[i] && (F.stop[i] != F_RUNNING || WIFSTOPPED(F.queued[i]));
	}
	if (!alive)
		return -ENOENT;
	snprintf(buf, size, "%s", F.zombie ? "Z (zombie)" : F.state ? F.state : traced ? "t (tracing stop)"
										  : "S (sleeping)");
	return 0;
}

/* The index of a thread of the fake, -1 for any other pid (idx() fails
 * the test there). */
static int known(pid_t pid)
{
	for (int i = 0; i < F.nth; i++)
		if (F.tid[i] == pid)
			return i;
	return -1;
}

static int f_status_field(pid_t pid, const char *name, char *buf, size_t size)
{
	if (F.status_missing && !strcmp(name, F.status_missing))
		return -ENOENT;
	if (!strcmp(name, "State"))
		return f_state(buf, size);
	if (!strcmp(name, "TracerPid"))
		snprintf(buf, size, "%ld", F.tracer);
	else if (!strcmp(name, "Seccomp"))
		snprintf(buf, size, "%d", known(pid) > 0 ? F.thread_seccomp[known(pid)] : F.seccomp);
	else if (!strcmp(name, "Tgid"))
		snprintf(buf, size, "%d", (int)(known(pid) >= 0 && F.tgid[known(pid)] ? F.tgid[known(pid)] : F.tid[0]));
	else if (!strcmp(name, "SigPnd"))
		snprintf(buf, size, "%s", F.sigpnd ? F.sigpnd : "0000000000000000");
	else if (!strcmp(name, "ShdPnd") || !strcmp(name, "SigBlk"))
		snprintf(buf, size, "0000000000000000");
	else
		snprintf(buf, size, "S (sleeping)");
	return 0;
}

static int f_setoptions(pid_t tid, unsigned long opts)
{
	int i = idx(tid);
	if (F.stop[i] == F_RUNNING)
		return -ESRCH; /* a tracee must be stopped */
	if (opts & PTRACE_O_SUSPEND_SECCOMP) {
		if (F.suspend_refused)
			return -EPERM;
		F.nsuspend++;
	}
	F.opts[i] = opts;
	return 0;
}

static bool f_may_suspend_seccomp(void)
{
	return F.cap_sys_admin;
}

static int f_sud_mode(pid_t tid)
{
	return F.sud[idx(tid)];
}

static int f_getregset(pid_t tid, int type, void *buf, size_t *len)
{
	if (type != arch_xstate_regset || *len < sizeof(F.xstate))
		return -EINVAL;
	memcpy(buf, F.xstate, sizeof(F.xstate));
	*len = sizeof(F.xstate);
	return 0;
}

static int f_read_status(pid_t pid, char **text)
{
	*text = strdup(F.shstk ? "Name:\tapp\nState:\tS (sleeping)\nx86_Thread_features:\tshstk\n"
			       : "Name:\tapp\nState:\tS (sleeping)\n");
	return *text ? 0 : -ENOMEM;
}

static int f_list_fds(pid_t pid, int **fds, size_t *n)
{
	*fds = malloc(sizeof(int) * 8);
	memcpy(*fds, F.open_fds, sizeof(F.open_fds));
	*n = (size_t)F.nopen;
	return 0;
}

static int f_reap_exited(pid_t tid)
{
	int i = idx(tid);
	if (!F.killed[i] || F.exited[i] || F.queued[i])
		return 0;
	F.exited[i] = true;
	return 1;
}

static int f_start_time(pid_t pid, uint64_t *t)
{
	*t = F.start_time;
	return 0;
}

static int f_boost(bool on)
{
	F.nboost += on && !F.boosted;
	F.boosted = on;
	return 0;
}

/* every op but the executor's (getregset, read_status) */
#define FAKE_OPS                                                                                        \
	.seize = f_seize, .interrupt = f_interrupt, .wait = f_wait, .getregs = f_getregs,                 \
	.setregs = f_setregs, .getsigmask = f_getsigmask, .setsigmask = f_setsigmask,                     \
	.resume = f_resume, .detach = f_detach, .geteventmsg = f_geteventmsg,                             \
	.list_threads = f_list_threads, .read_maps = f_read_maps, .read_mem = f_read_mem,                 \
	.write_mem = f_write_mem, .status_field = f_status_field, .list_fds = f_list_fds,                 \
	.start_time = f_start_time, .reap_exited = f_reap_exited, .boost = f_boost, .sud_mode = f_sud_mode, \
	.setoptions = f_setoptions, .may_suspend_seccomp = f_may_suspend_seccomp

const struct tracee_ops fake = { FAKE_OPS };

const struct tracee_ops fake_exec = { FAKE_OPS, .getregset = f_getregset, .read_status = f_read_status };

void fake_threads(int n)
{
	memset(&F, 0, sizeof(F));
	F.nth = n;
	F.maps = "00400000-00401000 r-xp 00000000 08:01 1 /bin/app\n"
		 "00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n";
	for (int i = 0; i < n; i++) {
		F.tid[i] = 100 + i;
		uint64_t *w = (uint64_t *)&F.regs[i].r;
		for (size_t k = 0; k < sizeof(F.regs[i].r) / 8; k++)
			w[k] = 0x1111111111111111ull * (uint64_t)(k + 1) + (uint64_t)i; /* every register distinct */
		F.regs[i].r.cs = 0x33;
		F.regs[i].r.orig_rax = (uint64_t)-1;
		F.mask[i] = 0x4000 + (uint64_t)i;
	}
	F.regs[0].r.orig_rax = 0;         /* read */
	F.regs[0].r.rax = (uint64_t)-512; /* -ERESTARTSYS */
}

long fake_result(struct fake_call *c)
{
	switch (c->sys) {
	case ASYS_SOCKET:
		return F.next_fd++;
	case ASYS_SOCKETPAIR: {
		int32_t fds[2] = { F.next_fd, F.next_fd + 1 };
		if (f_write_mem(0, c->a[3], fds, sizeof(fds)) < 0)
			return -EFAULT;
		F.next_fd += 2;
		return 0;
	}
	case ASYS_DUP3:
		return c->a[0] == c->a[1] ? -EINVAL : (long)c->a[1];
	case ASYS_MMAP:
		if (!F.mem_addr || c->a[1] > sizeof(F.mem))
			return -ENOMEM;
		F.mapped_len = c->a[1];
		return (long)F.mem_addr;
	case ASYS_MUNMAP:
		if (c->a[0] == F.mem_addr)
			F.mapped_len = 0;
		return 0;
	default:
		return 0;
	}
}

void fake_kill(void)
{
	for (int i = 0; i < F.nth; i++) {
		F.exited[i] = true;
		F.stop[i] = F_RUNNING;
		F.queued[i] = SIGKILL; /* WIFSIGNALED: its death, reported once */
	}
}
