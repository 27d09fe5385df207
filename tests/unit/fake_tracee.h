/* A fake tracee for the engine's unit tests: a scripted process whose
 * threads stop, run injected system calls, and record what the engine did
 * to them. Shared by test_inject.c (the engine) and test_act.c (act on top
 * of it); each test resets F in its setup. */
#pragma once
#include <linux/ptrace.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "tracee.h"

#define VDSO 0x7000ull
#define INSN (VDSO + 0x10)
#define NTH_MAX 4
/* with F.gadgets: the guarded call's gadgets in /bin/app, and the main
 * stack ([stack], F.stack) */
#define GUARD_CALL 0x400100ull
#define GUARD_RET 0x400200ull
#define STACK_LO 0x7ffe0000ull
#define STACK_HI (STACK_LO + sizeof(F.stack))
#define EV_STOP (0x7f | SIGTRAP << 8 | PTRACE_EVENT_STOP << 16)
#define CLONE_STOP (0x7f | SIGTRAP << 8 | PTRACE_EVENT_CLONE << 16)
#define SYSCALL_STOP (0x7f | (SIGTRAP | 0x80) << 8)
#define SIG_STOP(s) (0x7f | (s) << 8)

/* What kind of stop a fake thread is in (the kernel's view). */
enum fstop { F_RUNNING, F_SIGNAL_PATH, F_ENTRY, F_EXIT, F_EVENT };

#define FAKE_CALLS 4096

/* One injected system call as the fake saw it enter: its number, which
 * engine call that is (ASYS__MAX: none), its arguments, its result. */
struct fake_call {
	long nr;
	enum arch_sys sys;
	uint64_t a[6];
	long ret;
};

struct fake {
	int nth;
	pid_t tid[NTH_MAX];
	struct arch_regs regs[NTH_MAX];
	uint64_t mask[NTH_MAX];
	int queued[NTH_MAX];        /* status to report, 0: none */
	enum fstop stop[NTH_MAX];
	bool interrupt_pending[NTH_MAX];
	bool attached[NTH_MAX], exited[NTH_MAX];
	int detached[NTH_MAX], detach_sig[NTH_MAX];
	enum fstop detach_stop[NTH_MAX];
	int delivered[NTH_MAX];     /* a signal passed on from its own signal-delivery stop */
	int ignored_sig[NTH_MAX];   /* a signal passed on from another stop (the kernel drops it) */
	/* script */
	long tracer;
	int seccomp;
	int seize_err;              /* for every seize of the main thread */
	int stop_sig[NTH_MAX];      /* the attach's interrupt reports this signal stop instead */
	int attach_stop[NTH_MAX];   /* ... or this status (e.g. CLONE_STOP) */
	long clone_ret;             /* what clone() returns when a clone stop is left */
	bool zombie;                /* every seize fails EPERM, State: Z */
	uint64_t start_time;        /* of the process now holding pid 100 */
	bool reused_at_seize;       /* the pid changes hands at the first seize */
	bool exec_event[NTH_MAX];   /* interrupt reports PTRACE_EVENT_EXEC instead */
	bool killed[NTH_MAX];       /* dies (SIGKILL) once stopped: reap_exited reaps it */
	bool never_stops[NTH_MAX];
	bool setregs_fails;
	bool exit_on_call;
	int interrupts_before_exec; /* event stops before the syscall runs */
	long ret;                   /* result of every injected call ... */
	long (*on_call)(struct fake_call *c); /* ... or what this says (fake_result) */
	void (*between_batches)(void); /* run when the threads are stopped again
					* after they all ran (inj_pause, inj_restop) */
	const char *sigpnd;         /* SigPnd of every thread */
	const char *status_missing; /* a /proc/PID/status field that cannot be read */
	const char *state;          /* State: (default "S (sleeping)") */
	bool cap_sys_admin;         /* sockreap may suspend seccomp (may_suspend_seccomp) */
	int thread_seccomp[NTH_MAX]; /* Seccomp of threads other than the main one */
	bool suspend_refused;       /* PTRACE_O_SUSPEND_SECCOMP is refused (EPERM) */
	unsigned long opts[NTH_MAX]; /* PTRACE_SETOPTIONS's last */
	int nsuspend;               /* setoptions with PTRACE_O_SUSPEND_SECCOMP */
	bool ran_unsandboxed;       /* a thread ran its own code with seccomp suspended */
	int call_fault;             /* the next injected call stops with this forced signal instead */
	int sud[NTH_MAX];           /* syscall user dispatch mode of each thread */
	pid_t clone_child[NTH_MAX]; /* a clone event's child (geteventmsg): its
				     * stop is queued then (auto-attached) */
	pid_t tgid[NTH_MAX];        /* Tgid, 0: the main thread's tid */
	bool unlisted[NTH_MAX];     /* not in /proc/PID/task: another process */
	/* record */
	unsigned long seize_opts;
	int nseize, nsetregs, ncalls, nresume;
	struct fake_call call[FAKE_CALLS]; /* the first FAKE_CALLS of them */
	int npause, nrestop;        /* times every thread ran, and was stopped again */
	bool free_run[NTH_MAX];     /* resumed to run on its own, not to a stop of ours */
	bool mask_blocked_during_call, own_sigint_blocked_during_call;
	char log[512];              /* "R" setregs, "M" setsigmask, in order */
	const char *maps;
	uint64_t insn_moved;        /* the syscall instruction is only here now (0: at INSN and 0x500010) */
	/* data memory: [mem_addr, mem_addr + sizeof(mem)), read and written
	 * by the engine and by fake_result's mmap; reads of [bad_addr,
	 * bad_addr + 4096) fail */
	uint64_t mem_addr, bad_addr;
	uint8_t mem[320 * 1024];    /* room for the executor's mapping */
	int next_fd;                /* fake_result's socket()/socketpair() fds */
	uint64_t mapped_len;        /* fake_result's mmap at mem_addr, in the maps; 0: none */
	int open_fds[8];            /* list_fds: these, nopen of them */
	int nopen;
	/* boost (tracee.h): on now; what was done while it was (waits:
	 * those that may wait) */
	bool boosted;
	int nboost, waits_boosted, resumes_boosted, interrupts_boosted;
	uint64_t slow_first_stop_ns; /* the first interrupt's stop is reported this late */
	int calls_at_pause[4];       /* ncalls when every thread was let go, the first 4 times */
	/* fake_exec: the executor, as the fake plays it. A thread resumed
	 * (PTRACE_CONT) at an address in the mapping "runs" the job r15
	 * names: every op gets exec_ret, then done; with exec_self_restore
	 * it also "times out" waiting for sockreap and restores itself from
	 * its frame (rt_sigreturn: registers and mask, as the kernel would) */
	uint8_t xstate[576];        /* NT_X86_XSTATE: legacy area + header */
	int exec_runs;
	long exec_ret;
	bool exec_self_restore;
	bool exec_runs_on;
	bool shstk;                 /* read_status: a user shadow stack (x86 CET) */          /* ... and runs some of its own code before sockreap looks */
	bool exec_frame_checked;    /* the frame was read as rt_sigreturn would */
	bool gadgets;               /* "syscall; ret" at GUARD_CALL, "mov $15, %rax; syscall"
				     * at GUARD_RET, a [stack] mapping (x86_64) */
	uint8_t stack[16384];       /* its memory, [STACK_LO, STACK_HI) */
	void (*on_setregs)(int i, const struct arch_regs *r); /* before a setregs is applied */
};
extern struct fake F;

/* Designated: an op added to tracee_ops later is NULL here until a test
 * needs it (the engine copes with NULL for the optional ones). No
 * getregset: the executor inside the target is not used here; everything
 * goes call by call (fake_exec below plays the executor). */
extern const struct tracee_ops fake;
/* The same with the register sets and the status file the executor needs
 * (getregset, read_status): rows run inside the target, as fake F plays
 * the executor (see exec_* above). x86_64 only. */
extern const struct tracee_ops fake_exec;

/* What rt_sigreturn would restore from the frame at frame_sp (the
 * executor's job.frame_sp) into *r and *mask, on top of live; false if
 * the frame is not in F.mem. x86_64. */
bool fake_frame_context(uint64_t frame_sp, const struct arch_regs *live, struct arch_regs *r, uint64_t *mask);

/* sockreap is gone: thread i runs on from its registers, as far as the
 * fake can play it: at GUARD_CALL (the call then runs, fake_result) or
 * past it, "ret" to GUARD_RET and rt_sigreturn from the frame there
 * (registers and mask, as the kernel would). False if the registers are
 * anywhere else (it would run on with them). x86_64. */
bool fake_run_on(int i);

/* F cleared, then a process of n threads (tids 100...), every register of
 * each distinct, the main one blocked in read() (-ERESTARTSYS), each
 * thread's mask its own; the maps a program and a vdso. */
void fake_threads(int n);

/* What a process would return for c: socket() a new fd (F.next_fd on),
 * socketpair() two of them stored at its fds argument, dup3() its target
 * (EINVAL onto itself), mmap() F.mem_addr (-ENOMEM beyond F.mem; listed in
 * the maps until munmap()), every other call 0. on_call hooks build on it. */
long fake_result(struct fake_call *c);

/* The process is killed (SIGKILL) now: every thread exits and reports
 * its death; it can no longer be stopped, resumed or detached. */
void fake_kill(void);
