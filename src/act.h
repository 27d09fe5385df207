/* act: carry out the planned rows. shutdown and the SO_LINGER of --reset go
 * through a pidfd_getfd() duplicate when possible (the target never stops);
 * close, and the fallback, through the ptrace engine (inject.h), one attach
 * per process for all of its fds. verify (verify.h) then re-reads the
 * kernel's view. */
#pragma once
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "audit.h"
#include "cli.h"
#include "plan.h"
#include "tracee.h"

struct unwind_bt;

/* Everything act reaches outside sockreap through, so unit tests can run
 * it against a fake tracee and a fixture /proc without ever touching a
 * real process. act_real is the real thing. */
struct act_ops {
	/* the engine's seam (tracee.h); also the target's State and start time */
	const struct tracee_ops *tracee;
	/* fd flags, epoll registrations, fd headroom */
	const char *proc_root;
	/* pidfd.h: shutdown on a pidfd_getfd duplicate checked by SO_COOKIE
	 * (the target never stops) */
	int (*shutdown)(pid_t pid, int fd, uint64_t cookie, int how);
	/* --backtrace: the stacks of the stopped threads (unwind.h); NULL:
	 * none are collected */
	struct unwind_bt *(*stacks)(pid_t pid, uint64_t budget_ns);
};

extern const struct act_ops act_real;

/* Set by sockreap's SIGINT/SIGTERM/SIGHUP handler: finish the process in
 * hand, restore and detach it, and act on nothing more. */
extern volatile sig_atomic_t act_interrupted;

/* Act on every RES_PLANNED row, one process at a time; each row ends done,
 * skipped, or failed (and is marked acted). Audit records are written
 * before and after each process's actions; a row whose intent cannot be
 * recorded is not acted on. --destroy goes to act_destroy_run. 0, or
 * -errno when the audit log could not be written: the run stopped there.
 * verify_rows comes next, and its records after every other. */
int act_run(struct plan *p, const struct options *o, struct audit *a, const struct act_ops *ops);

/* --destroy (act_destroy.c): SOCK_DESTROY once per socket, for the rows
 * that carry it (via < 0), ownerless ones included; the socket's other rows
 * share its result. No attach, no pidfd. Intent records as act_run; the
 * result records come after verify_rows, which decides whether the socket
 * is really gone. */
int act_destroy_run(struct plan *p, const struct options *o, struct audit *a);

/* The rows acted on, in the order act took them (by pid, then fd; by row
 * for --destroy), into idx (room for p->n): their count. The records
 * written after verify follow this order. */
size_t act_acted_rows(const struct plan *p, const struct options *o, size_t *idx);
