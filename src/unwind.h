/* --backtrace: where each thread of a stopped target was. Collection runs
 * while the target is stopped and only walks the stacks (raw instruction
 * pointers, and the maps text); resolving names, which costs milliseconds
 * per frame, runs after the target was released. The only module that
 * uses libunwind-ptrace. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct unwind_bt;

/* Walk the stack of every thread of pid (all ptrace-stopped by us). NULL
 * only when out of memory: unwinding errors become text in the result and
 * never fail the action. */
struct unwind_bt *unwind_collect(pid_t pid);

/* Resolve the collected frames to text, one block per thread:
 *   "  thread TID:\n    #N 0xIP function+0xOFF (file)\n"
 * and free bt. malloc'ed, or NULL. The process must still be alive. */
char *unwind_resolve(struct unwind_bt *bt);

/* The file of the /proc/PID/maps line whose range holds ip, into buf ("?"
 * if none): the maps parser, on a buffer (fuzzed). */
void unwind_file_of(const char *maps, uint64_t ip, char *buf, size_t size);
