/* Acting on a socket from outside its process: a pidfd_getfd() duplicate
 * of the owner's fd (Linux 5.6+), checked with SO_COOKIE to be exactly the
 * socket sock_diag reported. The target never stops. */
#pragma once
#include <stdint.h>
#include <sys/types.h>

/* A duplicate of pid's fd in *ret, only if its SO_COOKIE is cookie.
 * -ESTALE: the fd is now another socket or file ("fd reused"); -ENOSYS:
 * the kernel has no pidfd_open/pidfd_getfd; -EPERM: not allowed; -ESRCH,
 * -EBADF: the process or fd is gone. */
int pidfd_dup_socket(pid_t pid, int fd, uint64_t cookie, int *ret);

/* shutdown(how) on the duplicate, or SO_LINGER {1, 0} (for --reset) on it;
 * the duplicate is closed before returning. 0 or -errno as above. */
int pidfd_shutdown(pid_t pid, int fd, uint64_t cookie, int how);
int pidfd_set_linger0(pid_t pid, int fd, uint64_t cookie);
