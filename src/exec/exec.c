/* The executor that runs inside the target (crash-only injection).
 *
 * sockreap copies this code into a scratch mapping of the target and
 * points one stopped thread at its entry. It runs a whole program of
 * system calls (struct exec_job), sets done, and waits for sockreap. In the
 * normal case sockreap interrupts that wait and puts the thread's
 * registers back itself. If sockreap is gone (SIGKILL, OOM, a crash), the
 * wait times out and the executor ends with rt_sigreturn from a frame that
 * holds the thread's own registers (in their restarted form), its signal
 * mask, its FPU/vector state and its alternate signal stack: the thread
 * continues where it was, as if the stop had been a signal handler. So
 * from the moment this code starts, no instant of sockreap's death can
 * leave the target running on sockreap's registers.
 *
 * Built freestanding (see the Makefile): no libc, no globals, no relocations,
 * general-purpose registers only (the FPU/vector state stays the
 * application's), everything in one section that sockreap copies whole. */
#include "exec_abi.h"
#include "arch/exec_arch.h"

#define EXEC __attribute__((section("sockreap_exec"), used))

static inline __attribute__((always_inline)) int need_met(const struct exec_op *ops, int32_t need)
{
	if (need == 0)
		return 1;
	int64_t r = ops[(need > 0 ? need : -need) - 1].ret;
	if (r == EXEC_NOT_RUN)
		return 0;
	return need > 0 ? r >= 0 : r < 0;
}

/* A clock in ns, or 0 when it cannot be read (then no budget). */
static inline __attribute__((always_inline)) uint64_t exec_clock(const struct exec_job *job, uint64_t clock)
{
	int64_t ts[2] = { 0, 0 };
	if (exec_syscall6(job->nr_clock, clock, (uint64_t)ts, 0, 0, 0, 0) < 0)
		return 0;
	return (uint64_t)ts[0] * 1000000000u + (uint64_t)ts[1];
}
#define EXEC_CLOCK_REALTIME 0
#define EXEC_CLOCK_MONOTONIC 1

/* Is the stop's time up? (See struct exec_job.) */
static inline __attribute__((always_inline)) int exec_time_up(const struct exec_job *job, uint64_t start)
{
	uint64_t now = exec_clock(job, EXEC_CLOCK_MONOTONIC);
	if (now && now - start >= job->budget_ns)
		return 1;
	if (!job->deadline_rt || !now || now - start < job->budget_ns / 2)
		return 0;
	uint64_t rt = exec_clock(job, EXEC_CLOCK_REALTIME);
	return rt && rt >= job->deadline_rt;
}

/* Called from exec_entry (arch/exec_*.h), in the same section: static, so
 * the call needs no relocation. */
static EXEC void exec_main(struct exec_job *job)
{
	struct exec_op *ops = (struct exec_op *)job->ops;
	volatile struct exec_job *vj = job;
	uint64_t start = job->budget_ns ? exec_clock(job, EXEC_CLOCK_MONOTONIC) : 0;
	int rows = 0;

	exec_syscall6(job->nr_sigaltstack, 0, job->altstack, 0, 0, 0, 0);
	for (uint64_t i = 0; i < job->nops; i++) {
		struct exec_op *op = &ops[i];
		uint64_t a[6];
		/* at a row's start, after the first row: is the stop's time up? */
		if (i < job->tail && (op->flags & EXEC_OP_ROW) && rows++ && start && exec_time_up(job, start)) {
			vj->stopped_at = i;
			i = job->tail - 1;
			continue;
		}
		if (!need_met(ops, op->need[0]) || !need_met(ops, op->need[1]))
			continue;
		for (int k = 0; k < 6; k++)
			a[k] = op->kind[k] == EXEC_RET ? (uint64_t)ops[op->a[k]].ret
			     : op->kind[k] == EXEC_DATA ? job->data + op->a[k]
			     : op->kind[k] == EXEC_MEM32 ? (uint64_t)(int64_t)*(const int32_t *)(job->data + op->a[k])
			     : op->a[k];
		op->ret = exec_syscall6(op->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		if ((op->flags & EXEC_OP_EXPECT) && op->ret >= 0 && *(const uint64_t *)a[3] != op->expect)
			op->ret = -EXEC_ESTALE;
		vj->progress = i + 1;
	}
	vj->done = 1;
	/* Wait with ppoll(NULL, 0, timeout): it ends by sockreap's interrupt,
	 * or by the timeout when sockreap is gone. Not futex or nanosleep:
	 * interrupted, those store their restart in the thread's restart
	 * block, where the application's own interrupted nanosleep or futex
	 * wait keeps its state; ppoll keeps its remaining time in its own
	 * argument. */
	exec_syscall6(job->nr_wait, 0, 0, (uint64_t)job->timeout, 0, 8, 0);
}
