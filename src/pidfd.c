#include "pidfd.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

int pidfd_dup_socket(pid_t pid, int fd, uint64_t cookie, int *ret)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	int dup = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (dup < 0)
		return -errno;
	uint64_t have = 0;
	socklen_t len = sizeof(have);
	if (getsockopt(dup, SOL_SOCKET, SO_COOKIE, &have, &len) < 0 || have != cookie) {
		int err = errno == ENOTSOCK || have != cookie ? ESTALE : errno;
		close(dup);
		return -err;
	}
	*ret = dup;
	return 0;
}

int pidfd_shutdown(pid_t pid, int fd, uint64_t cookie, int how)
{
	_cleanup_close_ int dup = -1;
	int r = pidfd_dup_socket(pid, fd, cookie, &dup);
	if (r < 0)
		return r;
	return shutdown(dup, how) < 0 ? -errno : 0;
}

int pidfd_set_linger0(pid_t pid, int fd, uint64_t cookie)
{
	_cleanup_close_ int dup = -1;
	struct linger l = { .l_onoff = 1, .l_linger = 0 };
	int r = pidfd_dup_socket(pid, fd, cookie, &dup);
	if (r < 0)
		return r;
	return setsockopt(dup, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) < 0 ? -errno : 0;
}
