/* The attach's reaper: a helper thread that reaps the target's traced
 * threads once they have exited, while sockreap's main thread is blocked
 * in PTRACE_SEIZE.
 *
 * Why: a thread calling execve() kills its siblings and waits, holding
 * the kernel's cred_guard_mutex, until each is gone; a traced sibling is
 * gone only once its tracer has reaped it. PTRACE_SEIZE of one more thread
 * waits for that same mutex (and restarts after our signals), so without
 * a second thread both would wait for ever (issue 8, case 2). ptrace
 * requests must come from the thread that seized, but any thread of the
 * tracer's thread group may wait for its tracees: the reaper only ever
 * calls waitid()/waitpid(), and only while the main thread is inside a
 * seize that has taken longer than a moment. */
#pragma once
#include <sys/types.h>

#include "tracee.h"

struct reaper;

/* Start a reaper for pid's threads. NULL when ops cannot reap (a fake
 * tracee without reap_exited_threads) or the thread cannot be created: the
 * engine then attaches without one. */
struct reaper *reaper_start(const struct tracee_ops *ops, pid_t pid);

/* Around each PTRACE_SEIZE: reaper_leave() says how many exited threads
 * the reaper had to reap while the seize was blocked (0: it was not). */
void reaper_enter(struct reaper *rp);
unsigned reaper_leave(struct reaper *rp);

/* Stop and free; NULL is fine. */
void reaper_stop(struct reaper *rp);
