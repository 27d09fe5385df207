/* The placeholders the reuse-safe close leaves in a process: how many of
 * its fds are ours (recognised by their SO_RCVLOWAT mark), and its fd
 * headroom. So the next run on that process can say why it holds
 * thousands of sockets that no dump lists. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct fd_census {
	uint64_t placeholders;  /* socket fds carrying the placeholder mark */
	bool counted;           /* false: no pidfd_getfd here, placeholders unknown */
	uint64_t open, limit;   /* open fds, RLIMIT_NOFILE (UINT64_MAX: unlimited) */
};

/* Look at every socket fd of pid (a pidfd_getfd duplicate each, closed at
 * once; never while the process is stopped). Without pidfd_getfd (old
 * kernels, valgrind) only the open fds and the limit, counted false.
 * 0 or -errno. */
int placeholders_census(const char *proc_root, pid_t pid, struct fd_census *ret);
