/* act: carry out the planned rows. shutdown and the SO_LINGER of --reset go
 * through a pidfd_getfd() duplicate when possible (the target never stops);
 * close, and the fallback, through the ptrace engine (inject.h), one attach
 * per process for all of its fds. verify then re-reads the kernel's view. */
#pragma once
#include <signal.h>

#include "audit.h"
#include "cli.h"
#include "plan.h"

/* Set by sockreap's SIGINT/SIGTERM/SIGHUP handler: finish the process in
 * hand, restore and detach it, and act on nothing more. */
extern volatile sig_atomic_t act_interrupted;

/* Act on every RES_PLANNED row, one process at a time; each row ends done,
 * skipped, or failed, and is verified. Audit records are written before and
 * after each process's actions; a row whose intent cannot be recorded is not
 * acted on. 0, or -errno when the audit log could not be written: the run
 * stopped there. */
int act_run(struct plan *p, const struct options *o, struct audit *a);

/* --destroy (act_destroy.c): SOCK_DESTROY once per socket, for the rows
 * that carry it (via < 0), ownerless ones included; the socket's other rows
 * share its result. No attach, no pidfd. Audit and verify as act_run. */
int act_destroy_run(struct plan *p, const struct options *o, struct audit *a);

/* Re-read the kernel's view after acting: fills row->verify. */
void verify_rows(struct plan *p, const struct options *o);
