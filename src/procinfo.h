/* Small readers of /proc/PID/status and /proc/PID/stat, shared by the
 * engine's seam (tracee.c), the scan (procfd.c) and main's environment
 * check. Whole files are read, however long: a process with many
 * supplementary groups has a status file well past 4 KiB, and the fields
 * safety depends on (Seccomp, CapEff) come after the Groups line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The whole of path (under dirfd, or AT_FDCWD), malloc'ed and
 * NUL-terminated, its length in *len (may be NULL). 0 or -errno. */
int procinfo_read_file(int dirfd, const char *path, char **text, size_t *len);

/* Does this /proc/PID/maps text map Wine's ntdll.so (the one known user of
 * syscall user dispatch: inject.c's refusal, check.c's "dispatch")? */
bool procinfo_maps_wine(const char *maps);

/* The value of field name ("Seccomp", "TracerPid", "State", "CapEff") in
 * the text of a status file, without the name and leading white space, up
 * to the end of its line, into out. 0; -ENOENT if there is no such field;
 * -ENOBUFS if the value does not fit in size bytes (out is then empty:
 * a truncated value is never handed on). */
int procinfo_status_field(const char *text, const char *name, char *out, size_t size);

/* Read <proc_root>/<pid>/status and look up one field (see above). */
int procinfo_pid_status_field(const char *proc_root, pid_t pid, const char *name, char *out, size_t size);

/* The fields after "pid (comm) " of a stat line: the comm may hold spaces
 * and ')'; the last ')' ends it. A pointer to the state letter, or NULL. */
const char *procinfo_stat_fields(const char *stat);

/* Field 22 of a stat line, the start time in clock ticks since boot: with
 * the pid it names one process for ever (a reused pid has a later one).
 * 0 or -EINVAL if the line is malformed. */
int procinfo_stat_start_time(const char *stat, uint64_t *ret);

/* Numeric field n (4 or later) of a stat line: 0 or -EINVAL. */
int procinfo_stat_u64(const char *stat, int n, uint64_t *ret);

/* Start time and state letter of <proc_root>/<pid>/stat (state may be NULL).
 * -ENOENT (or -ESRCH) when the process is gone. */
int procinfo_pid_start_time(const char *proc_root, pid_t pid, uint64_t *start_time, char *state);
