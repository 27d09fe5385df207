/* --backtrace: where each thread of a stopped target was. Collection runs
 * while the target is stopped and only walks the stacks (raw instruction
 * pointers, and the maps text); resolving names, which costs milliseconds
 * per frame, runs after the target was released. The only module that
 * uses libunwind-ptrace. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arch/arch.h"

struct unwind_bt;

/* Walk the stack of every thread of pid (all ptrace-stopped by us), for at
 * most budget_ns: the target is frozen meanwhile (2,000 threads took 6 s),
 * so threads past the budget are not walked and the text says how many.
 * NULL only when out of memory: unwinding errors become text in the result
 * and never fail the action. */
struct unwind_bt *unwind_collect(pid_t pid, uint64_t budget_ns);

/* Thread tid (ptrace-stopped by us, its registers its own) is running a
 * signal handler: the general registers of the context the innermost
 * signal frame on its stack interrupted, into *ctx over a copy of *live
 * (what sigcontext does not hold, such as the segment registers, stays
 * live's; no system call is current there). 1 found, 0 no signal frame
 * within the first 32 frames (or an architecture without this), -errno.
 * Where SA_RESTART left a call's restart there, ctx is set to enter it
 * again (arch_call_to_enter). */
int unwind_signal_context(pid_t tid, const struct arch_regs *live, struct arch_regs *ctx);

/* Resolve the collected frames to text, one block per thread:
 *   "  thread TID:\n    #N 0xIP function+0xOFF (file)\n"
 * and free bt. malloc'ed, or NULL. The process must still be alive. */
char *unwind_resolve(struct unwind_bt *bt);

/* The file of the /proc/PID/maps line whose range holds ip, into buf ("?"
 * if none): the maps parser, on a buffer (fuzzed). */
void unwind_file_of(const char *maps, uint64_t ip, char *buf, size_t size);
