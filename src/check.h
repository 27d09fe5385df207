/* --check --pid N: would acting on that process work, and how? A
 * pre-flight answer that touches nothing: no attach, no signal, no stop.
 * Everything is read from /proc, except two probes that change nothing in
 * the target: pidfd_getfd() of one of its socket fds (the duplicate is a
 * reference, closed at once), and SOCK_DESTROY on a socket of sockreap's
 * own in a private network namespace. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cli.h"

enum check_level { CHECK_OK, CHECK_INFO, CHECK_WARN, CHECK_FAIL };

struct check_item {
	const char *name;
	enum check_level level;
	char detail[320];
};

struct check_report {
	pid_t pid;
	bool exists;
	char comm[16], state[32];
	uint64_t cap_eff;
	int yama;                 /* 0-3, or -1 without Yama */
	int seccomp;              /* /proc/PID/status Seccomp, -1 unknown */
	long tracer_pid;
	char tracer_comm[16];
	const char *pidfd;        /* works, unsupported, denied, not-tried, failed */
	const char *destroy;      /* supported, unsupported, denied, unknown */
	long fds_open, fd_soft, fd_hard; /* -1 unknown */
	bool would_work;
	size_t n;
	struct check_item item[16];
};

/* Fill r for pid (proc_root is /proc outside tests). 0, or -ESRCH when
 * there is no such process. */
int check_run(const char *proc_root, pid_t pid, const struct options *o, struct check_report *r);
/* The answer as a table of checks and a verdict, or one JSON object. */
void check_print(FILE *f, const struct check_report *r, bool json);

/* The SOCK_DESTROY probe alone: 0 supported, -EOPNOTSUPP not built in,
 * -EPERM no CAP_NET_ADMIN, other -errno. *private_netns: it ran in a
 * network namespace of its own. */
int check_sock_destroy(bool *private_netns);

/* Syscall user dispatch (Wine's PR_SET_SYSCALL_USER_DISPATCH): whether the
 * engine can tell a thread that uses it, on a kernel of that release
 * (uname -r: PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG came in 6.4), for a
 * target that maps Wine's ntdll.so or not; the level of the "dispatch"
 * item and its detail. */
enum check_level check_dispatch(const char *release, bool wine, char *detail, size_t size);
