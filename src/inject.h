/* The injection engine: stop a whole process with PTRACE_SEIZE +
 * PTRACE_INTERRUPT (no SIGSTOP is ever sent), run raw system calls inside
 * one of its threads through an existing syscall instruction, and put
 * everything back: registers (in their restarted form), signal mask, and
 * every thread detached. One session per process, however many calls.
 *
 *   inj_attach()  - seize and stop every thread; on failure nothing is left
 *   inj_call()    - run one system call in the target, any number of times
 *   inj_release() - restore and detach; always called after inj_attach()
 *
 * How a blocked call survives: a thread stopped inside an interrupted call
 * has -ERESTART* in its return register. Resumed from a stop inside signal
 * delivery (every stop the engine leaves the thread in: the interrupt, the
 * single-step trap, the close loop's breakpoint), the kernel itself applies
 * the restart rules to the registers we restore, including their one
 * exception: a signal with a handler delivered then makes -ERESTARTNOHAND
 * (pause, ...) and -ERESTARTSYS without SA_RESTART fail with EINTR, as the
 * application expects. So the saved registers go back exactly. From any
 * other stop the kernel would skip the rules (the application would see
 * errno 512): there the engine applies them itself (arch_restart_fixup). */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"
#include "tracee.h"

/* The options every tracee has (PTRACE_SEIZE, PTRACE_SETOPTIONS). */
#define INJ_PTRACE_OPTS (PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD)

struct inj_thread {
	pid_t tid;
	bool stopped;   /* in a ptrace stop, ours to resume or detach */
	bool gone;      /* exited while we held it */
	int pending_sig; /* a signal-delivery-stop's signal, re-delivered on detach */
	int resend_sig;  /* a signal whose stop we had to leave without it (SIGSTOP
			  * while our code ran): sent again after the detach */
	bool in_signal_path; /* the stop is inside signal delivery (a signal
			      * or group/interrupt stop), where the kernel
			      * applies the restart rules when it resumes */
	bool eintr_seen; /* unmask_eintr looked at this stop already */
	bool reentered_early;       /* ... while our code ran: eintr_regs are the call's EINTR */
	struct arch_regs eintr_regs;
	int status;      /* the wait status of its last stop */
	bool passed_over; /* inj_prepare: its calls would not be ours (thread_refusal) */
	bool foreign;     /* a clone event's child in another process (no CLONE_THREAD) */
	unsigned char deliveries; /* wait_all_stopped: signals delivered from its stops */
	bool clear_opts;  /* inherited suspended seccomp: options put back at its first stop */
};

/* A clone event's child, until adopt() puts it in t->th. */
struct inj_kid {
	pid_t tid;
	bool suspended_parent; /* the cloning thread had seccomp suspended */
};

struct inj {
	const struct tracee_ops *ops;
	pid_t pid;
	struct inj_thread *th;
	size_t nth, cap;
	bool job_stopped;       /* state T before we came: the kernel keeps it so */
	bool can_suspend;       /* sockreap may suspend seccomp (PTRACE_O_SUSPEND_SECCOMP) */
	pid_t suspended_tid;    /* the thread it is suspended in now, 0: none */
	bool wine;              /* the target maps Wine's ntdll.so (thread_refusal) */
	struct inj_kid *kids;   /* clone events' children not in th yet (adopt) */
	size_t nkids, capkids;
	/* The injection thread and what must be put back in it. */
	size_t it;
	struct arch_regs saved;
	uint64_t saved_mask;
	bool prepared;          /* saved and saved_mask are valid */
	struct arch_regs at_stop; /* its registers at the stop, before inj_prepare moved it (inj_busy_fds) */
	bool at_stop_in_handler;  /* ... in a signal handler, which interrupted at_stop_ctx */
	bool busy_checks;         /* set by the caller: inj_busy_fds will be asked (inj_prepare walks a handler's stack) */
	struct arch_regs at_stop_ctx;
	bool modified;          /* registers differ from saved */
	bool masked;            /* the thread's signals are blocked by us */
	uint64_t insn;          /* address of a syscall instruction in the target */
	bool insn_checked;      /* insn was read back at a stop (found before the attach) */
	sigset_t own_mask;      /* sockreap's own mask before the window */
	uint64_t interrupted_at_ns; /* right before the first thread was interrupted */
	uint64_t stopped_at_ns; /* when the last thread stopped */
	uint64_t released_at_ns;
	unsigned long ncalls;
	/* The guarded call (arch.h) for the scratch mapping's own calls:
	 * its gadgets in the target's code and the range of the main
	 * thread's stack (found before the attach; 0: none), the frame's
	 * stack pointer written at this stop (0: none yet), and how many
	 * calls were guarded and plain. */
	uint64_t guard_call, guard_sigreturn, stack_lo, stack_hi, guard_sp;
	size_t guard_sigret;    /* which of arch_guard_sigreturn */
	const char *guard_why;  /* why a call was plain (static text), or NULL */
	unsigned nguarded, nunguarded;
	uint64_t scratch, scratch_len; /* our mapping in the target, 0: none */
	int scratch_prot;
	bool scratch_marked; /* the executor's mapping has had its madvise() calls */
	bool no_executor;    /* remote.c: it cannot run here (why says why): call by call */
	pid_t exec_ok_tid;      /* rp_run_inside: this thread may run the executor (its status was read) */
	unsigned self_restored; /* batches whose thread the executor had already restored (sockreap held up) */
	char why[200];          /* the reason of the last failure, for reports */
	/* inj_attach only: an execve() seen while attaching (PTRACE_EVENT_EXEC,
	 * or the reaper had to reap threads while a seize was blocked), and
	 * a thread that died after we had stopped it (killed: exec or exit) */
	struct reaper *reaper;
	bool exec_seen, threads_killed;
};

/* Time limits: a thread in state D ignores the interrupt until it wakes. */
#define INJ_ATTACH_TIMEOUT_NS (2000ull * 1000 * 1000)
#define INJ_CALL_TIMEOUT_NS (5000ull * 1000 * 1000)
/* inj_exec: spin while the executor's calls move on at least this often */
#define INJ_SPIN_NS (1000ull * 1000)

/* Seize every thread of pid and wait until all are stopped. -EBUSY when
 * already traced (why names the tracer), -EPERM when refused (why says
 * what is missing), -ETIMEDOUT when a thread would not stop in time,
 * -ESRCH when the process is gone. On error every thread is detached. */
int inj_attach(struct inj *t, const struct tracee_ops *ops, pid_t pid);

/* inj_attach for the process that had start time start_time (field 22 of
 * /proc/PID/stat, as the scan saw it; 0: do not check) when sockreap
 * planned: a pid since reused by another process is -ESRCH "process
 * exited (PID reused)", checked before anything is seized and again once
 * every thread is stopped (the seize pins the task), so that process is
 * never recorded or acted on. */
int inj_attach_checked(struct inj *t, const struct tracee_ops *ops, pid_t pid, uint64_t start_time);

/* A thread stopped inside a call that will look fd up again on restart:
 * nr is the call's number, call its name ("select") or NULL if unknown. */
struct inj_busy { pid_t tid; int fd; long nr; const char *call; };

/* Every fd that a thread's interrupted call will look up again when the
 * kernel restarts it (plain fd arguments, poll arrays of any size, select
 * fd_sets: syscalls.h), into a malloc'ed array sorted by fd, one entry per
 * fd. Fails closed: when a set cannot be read, or the call is unknown,
 * every open fd it could name counts as busy. 0 or -errno. */
int inj_busy_fds(struct inj *t, struct inj_busy **ret, size_t *n);

/* Choose the injection thread, save its registers and signal mask, block
 * its signals and sockreap's SIGINT/SIGTERM/SIGHUP. Idempotent; the first
 * inj_call() does it, call it first to read t->saved. 0 or -errno. */
int inj_prepare(struct inj *t);

/* Run system call sys with args in the target. 0 and the call's result in
 * *ret (>= 0 or -errno), or -errno if the engine could not run it (why
 * says why; -ESRCH: the target exited). The target's signals are blocked
 * from the first call until inj_release(). */
int inj_call(struct inj *t, enum arch_sys sys, const uint64_t args[6], long *ret);

/* Run the in-target executor (src/exec/exec.c): the injection thread
 * starts at start (entry code, stack, job: see arch_exec_set_regs) with its
 * signals blocked, runs every call of its job, and sets the 32-bit word at
 * done_addr; the engine then stops it inside the executor's final wait.
 * progress_addr counts the calls run (a call that blocks too long is
 * interrupted, and the executor goes on). The executor's code is at
 * [code, code + code_len): a thread stopped outside it after the job has
 * already restored itself (sockreap was held up past the wait's timeout),
 * and its registers and mask are not touched again. 0, or -errno (why
 * says why). */
int inj_exec(struct inj *t, const struct arch_regs *start, uint64_t done_addr, uint64_t progress_addr,
	     uint64_t code, uint64_t code_len);

/* A scratch mapping of at least len bytes (read+write) in the target,
 * mapped on first use and unmapped by inj_release(). 0 and *addr, or -errno
 * (the mapping could not be made: what needed it is not done). */
int inj_scratch(struct inj *t, uint64_t len, int prot, uint64_t *addr);

/* Between batches: put the injection thread back exactly and let every
 * thread run (signals held meanwhile are delivered), still seized; the
 * scratch mapping stays. 0 or the first error. */
int inj_pause(struct inj *t);
/* Stop every thread again (new ones included) after inj_pause(); the next
 * call prepares afresh. 0, -ETIMEDOUT, -ESRCH (t->why). */
int inj_restop(struct inj *t);
/* Between inj_pause() and inj_restop(): a thread that stopped on its own
 * meanwhile (an interrupt still owed, a signal, a clone event, a new
 * thread's first stop) is resumed, the signal delivered, so it is not
 * frozen until the next batch; group stops and exec events are left for
 * inj_restop. Returns how many were resumed. */
int inj_tend(struct inj *t);

/* Restore the injection thread's registers and signal mask and detach
 * every thread, delivering signals that arrived meanwhile. Always
 * completes; 0 or the first error met. */
int inj_release(struct inj *t);

/* Find a syscall instruction in maps text: the [vdso] first, then other
 * executable mappings, reading memory through ops. 0 and *addr, or -ENOENT.
 * inj_find_insn: any instruction, at an address its alignment allows. */
int inj_find_syscall_insn(const struct tracee_ops *ops, pid_t pid, const char *maps, uint64_t *addr);
int inj_find_insn(const struct tracee_ops *ops, pid_t pid, const char *maps, const struct arch_insn *insn,
		  uint64_t *addr);
