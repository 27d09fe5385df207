#include "placeholders.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "method.h"
#include "procfd.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static bool is_placeholder(int pidfd, int fd)
{
	_cleanup_close_ int dup = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	int v = 0;
	socklen_t len = sizeof(v);
	return dup >= 0 && getsockopt(dup, SOL_SOCKET, SO_RCVLOWAT, &v, &len) == 0 && v == PLACEHOLDER_MARK;
}

int placeholders_census(const char *proc_root, pid_t pid, struct fd_census *ret)
{
	struct fd_census c = { 0 };
	char path[96], link[64];
	int r;

	if ((r = procfd_fd_headroom(proc_root, pid, &c.open, &c.limit)) < 0)
		return r;
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno == ENOSYS) {
		*ret = c; /* not counted */
		return 0;
	}
	if (pidfd < 0)
		return -errno;
	c.counted = true;
	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	for (struct dirent *de; (de = readdir(d));) {
		ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (!strncmp(link, "socket:[", 8) && is_placeholder(pidfd, atoi(de->d_name)))
			c.placeholders++;
	}
	closedir(d);
	*ret = c;
	return 0;
}
