/* The seam between the injection engine and the kernel: every ptrace and
 * /proc access the engine makes goes through these operations, so unit
 * tests can drive the engine against a fake tracee. tracee_real is the
 * real thing. Every operation returns 0 or -errno. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"

struct tracee_ops {
	int (*seize)(pid_t tid, unsigned long options);
	int (*interrupt)(pid_t tid);
	/* Wait until tid reports a state change (waitpid __WALL status in
	 * *status) or the monotonic deadline (ns) passes: -ETIMEDOUT. -ESRCH
	 * or -ECHILD when the task is gone without a status to report. */
	int (*wait)(pid_t tid, int *status, uint64_t deadline_ns);
	int (*getregs)(pid_t tid, struct arch_regs *r);
	int (*setregs)(pid_t tid, const struct arch_regs *r);
	int (*getsigmask)(pid_t tid, uint64_t *mask);
	int (*setsigmask)(pid_t tid, uint64_t mask);
	/* PTRACE_SYSCALL when to_syscall (stop at the next system call's
	 * entry or exit), else PTRACE_CONT; sig delivered. */
	int (*resume)(pid_t tid, bool to_syscall, int sig);
	int (*detach)(pid_t tid, int sig);
	int (*geteventmsg)(pid_t tid, unsigned long *msg);
	/* The thread ids of pid (/proc/PID/task), malloc'ed. */
	int (*list_threads)(pid_t pid, pid_t **tids, size_t *n);
	/* The text of /proc/PID/maps, malloc'ed and NUL-terminated. */
	int (*read_maps)(pid_t pid, char **text);
	int (*read_mem)(pid_t pid, uint64_t addr, void *buf, size_t len);
	int (*write_mem)(pid_t pid, uint64_t addr, const void *buf, size_t len);
	/* A field of /proc/PID/status ("TracerPid", "Seccomp", "State") as
	 * text, without the name and leading white space. */
	int (*status_field)(pid_t pid, const char *name, char *buf, size_t size);
	/* PTRACE_GETREGSET of regset type into buf; *len in: its size, out:
	 * the bytes filled. NULL in tracees that cannot (the executor inside
	 * the target is then not used). */
	int (*getregset)(pid_t tid, int type, void *buf, size_t *len);
	/* The whole text of /proc/PID/status, malloc'ed. */
	int (*read_status)(pid_t pid, char **text);

	/* Added for issue 8; may be NULL in a fake, the engine then fails
	 * closed where it needs them. */
	/* The open fd numbers of pid (/proc/PID/fd), malloc'ed, ascending. */
	int (*list_fds)(pid_t pid, int **fds, size_t *n);
	/* Field 22 of /proc/PID/stat (start time in clock ticks). */
	int (*start_time)(pid_t pid, uint64_t *ticks);
	/* If tid (our tracee) has exited, reap it: 1 reaped, 0 it has not
	 * exited, -errno. Never consumes a stop; safe from any thread of
	 * sockreap (see reaper.h). */
	int (*reap_exited)(pid_t tid);
	/* reap_exited for every thread of pid: how many were reaped. Called
	 * by the attach's reaper thread only (see reaper.h); NULL: no reaper. */
	int (*reap_exited_threads)(pid_t pid);
	/* Is pid's task exiting (PF_EXITING in field 9 of /proc/PID/stat)?
	 * 1 yes, 0 no, -errno. NULL: not known. */
	int (*exiting)(pid_t pid);
	/* unwind_signal_context (unwind.h): the context a signal handler
	 * that tid is running interrupted. NULL: not looked for. */
	int (*signal_context)(pid_t tid, const struct arch_regs *live, struct arch_regs *ctx);
	/* Whatever tracee has a state change to report, without waiting
	 * (waitpid(-1, __WALL | WNOHANG)): 0 with *tid and *status, -EAGAIN
	 * when none has, -ECHILD when there is none. NULL: each thread is
	 * asked in turn (one wait per thread). */
	int (*wait_any)(pid_t *tid, int *status);
	/* How many CPUs sockreap and tid may run on between them (the union
	 * of both affinity masks): at 2 or more they can run at once. -errno;
	 * NULL: not known. */
	int (*cpus_with)(pid_t tid);
	/* While on: the calling thread of sockreap runs before the threads
	 * it resumes or interrupts (SCHED_FIFO, lowest priority), so that
	 * they do not take its CPU while it still has others to resume; off
	 * puts its policy back. Only around loops of ptrace requests that
	 * never wait (a real-time spinner would starve a thread sharing its
	 * CPU). 0 or -errno (-EPERM: not allowed, nothing changed). NULL:
	 * nothing done. */
	int (*boost)(bool on);
	/* The syscall user dispatch mode of stopped tracee tid
	 * (PR_SET_SYSCALL_USER_DISPATCH; 0 off): a thread with it on may have
	 * a system call from outside its allowed range turned into a SIGSYS,
	 * ours included. -EIO where the kernel cannot tell (before 6.4).
	 * NULL: not known. */
	int (*sud_mode)(pid_t tid);
	/* PTRACE_SETOPTIONS on stopped tracee tid (all of them: they replace
	 * the seize's). NULL: not possible here. */
	int (*setoptions)(pid_t tid, unsigned long options);
	/* May sockreap suspend a tracee's seccomp (PTRACE_O_SUSPEND_SECCOMP:
	 * CAP_SYS_ADMIN, and no seccomp of its own)? A hint only: one of a
	 * user namespace is not enough, PTRACE_SETOPTIONS tells. NULL: no. */
	bool (*may_suspend_seccomp)(void);
};

extern const struct tracee_ops tracee_real;
