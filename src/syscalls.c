#include "syscalls.h"

#include "arch/arch.h"
#include "util.h"

#define A(n) (1u << (n))
#define FD(id, nm, args) [id] = { nm, args, SC_FDSET_NONE }
#define SET(id, nm, kind) [id] = { nm, 0, kind }
#define NOFD(id, nm) [id] = { nm, 0, SC_FDSET_NONE }

static const struct sc_info table[SC__MAX] = {
	FD(SC_READ, "read", A(0)), FD(SC_WRITE, "write", A(0)), FD(SC_READV, "readv", A(0)),
	FD(SC_WRITEV, "writev", A(0)), FD(SC_PREAD64, "pread64", A(0)), FD(SC_PWRITE64, "pwrite64", A(0)),
	FD(SC_PREADV, "preadv", A(0)), FD(SC_PWRITEV, "pwritev", A(0)), FD(SC_PREADV2, "preadv2", A(0)),
	FD(SC_PWRITEV2, "pwritev2", A(0)), FD(SC_IOCTL, "ioctl", A(0)), FD(SC_FCNTL, "fcntl", A(0)),
	FD(SC_FLOCK, "flock", A(0)), FD(SC_FSYNC, "fsync", A(0)), FD(SC_FDATASYNC, "fdatasync", A(0)),
	FD(SC_SYNC_FILE_RANGE, "sync_file_range", A(0)), FD(SC_FALLOCATE, "fallocate", A(0)),
	FD(SC_FTRUNCATE, "ftruncate", A(0)), FD(SC_FSTAT, "fstat", A(0)), FD(SC_FSTATFS, "fstatfs", A(0)),
	FD(SC_GETDENTS, "getdents", A(0)), FD(SC_GETDENTS64, "getdents64", A(0)),
	FD(SC_READAHEAD, "readahead", A(0)), FD(SC_FADVISE64, "fadvise64", A(0)),
	FD(SC_MMAP, "mmap", A(4)), /* mmap(addr, len, prot, flags, fd, off) */
	FD(SC_CONNECT, "connect", A(0)), FD(SC_ACCEPT, "accept", A(0)), FD(SC_ACCEPT4, "accept4", A(0)),
	FD(SC_SENDTO, "sendto", A(0)), FD(SC_RECVFROM, "recvfrom", A(0)), FD(SC_SENDMSG, "sendmsg", A(0)),
	FD(SC_RECVMSG, "recvmsg", A(0)), FD(SC_SENDMMSG, "sendmmsg", A(0)), FD(SC_RECVMMSG, "recvmmsg", A(0)),
	FD(SC_GETSOCKOPT, "getsockopt", A(0)), FD(SC_SETSOCKOPT, "setsockopt", A(0)),
	FD(SC_SHUTDOWN, "shutdown", A(0)),
	FD(SC_SENDFILE, "sendfile", A(0) | A(1)),         /* out_fd, in_fd */
	FD(SC_SPLICE, "splice", A(0) | A(2)),             /* fd_in, off_in, fd_out */
	FD(SC_TEE, "tee", A(0) | A(1)), FD(SC_VMSPLICE, "vmsplice", A(0)),
	FD(SC_COPY_FILE_RANGE, "copy_file_range", A(0) | A(2)),
	FD(SC_EPOLL_WAIT, "epoll_wait", A(0)), FD(SC_EPOLL_PWAIT, "epoll_pwait", A(0)),
	FD(SC_EPOLL_PWAIT2, "epoll_pwait2", A(0)),
	FD(SC_EPOLL_CTL, "epoll_ctl", A(0) | A(2)),       /* epfd, op, fd */
	/* the *at calls: dirfd (AT_FDCWD is negative: no fd) */
	FD(SC_OPENAT, "openat", A(0)), FD(SC_OPENAT2, "openat2", A(0)), FD(SC_MKDIRAT, "mkdirat", A(0)),
	FD(SC_MKNODAT, "mknodat", A(0)), FD(SC_FCHOWNAT, "fchownat", A(0)), FD(SC_FUTIMESAT, "futimesat", A(0)),
	FD(SC_NEWFSTATAT, "newfstatat", A(0)), FD(SC_UNLINKAT, "unlinkat", A(0)),
	FD(SC_RENAMEAT, "renameat", A(0) | A(2)), FD(SC_RENAMEAT2, "renameat2", A(0) | A(2)),
	FD(SC_LINKAT, "linkat", A(0) | A(2)), FD(SC_SYMLINKAT, "symlinkat", A(1)),
	FD(SC_READLINKAT, "readlinkat", A(0)), FD(SC_FCHMODAT, "fchmodat", A(0)),
	FD(SC_FCHMODAT2, "fchmodat2", A(0)), FD(SC_FACCESSAT, "faccessat", A(0)),
	FD(SC_FACCESSAT2, "faccessat2", A(0)), FD(SC_UTIMENSAT, "utimensat", A(0)),
	FD(SC_NAME_TO_HANDLE_AT, "name_to_handle_at", A(0)),
	FD(SC_OPEN_BY_HANDLE_AT, "open_by_handle_at", A(0)), FD(SC_STATX, "statx", A(0)),
	FD(SC_EXECVEAT, "execveat", A(0)), FD(SC_INOTIFY_ADD_WATCH, "inotify_add_watch", A(0)),
	FD(SC_FANOTIFY_MARK, "fanotify_mark", A(0) | A(3)), /* fanotify_fd, flags, mask, dirfd */
	FD(SC_MQ_TIMEDSEND, "mq_timedsend", A(0)), FD(SC_MQ_TIMEDRECEIVE, "mq_timedreceive", A(0)),
	FD(SC_IO_URING_ENTER, "io_uring_enter", A(0)), FD(SC_FCHOWN, "fchown", A(0)),
	FD(SC_FCHMOD, "fchmod", A(0)), FD(SC_SYNCFS, "syncfs", A(0)),
	SET(SC_POLL, "poll", SC_FDSET_POLL), SET(SC_PPOLL, "ppoll", SC_FDSET_POLL),
	SET(SC_SELECT, "select", SC_FDSET_SELECT), SET(SC_PSELECT6, "pselect6", SC_FDSET_SELECT),
	SET(SC_WAITID, "waitid", SC_FDSET_WAITID), SET(SC_RESTART_SYSCALL, "restart_syscall", SC_FDSET_MAYBE_POLL),
	NOFD(SC_NANOSLEEP, "nanosleep"), NOFD(SC_CLOCK_NANOSLEEP, "clock_nanosleep"), NOFD(SC_FUTEX, "futex"),
	NOFD(SC_FUTEX_WAITV, "futex_waitv"), NOFD(SC_PAUSE, "pause"), NOFD(SC_RT_SIGSUSPEND, "rt_sigsuspend"),
	NOFD(SC_RT_SIGTIMEDWAIT, "rt_sigtimedwait"), NOFD(SC_WAIT4, "wait4"), NOFD(SC_SEMOP, "semop"),
	NOFD(SC_SEMTIMEDOP, "semtimedop"), NOFD(SC_MSGRCV, "msgrcv"), NOFD(SC_MSGSND, "msgsnd"),
	NOFD(SC_GETRANDOM, "getrandom"), NOFD(SC_IO_GETEVENTS, "io_getevents"),
	NOFD(SC_IO_PGETEVENTS, "io_pgetevents"), NOFD(SC_SCHED_YIELD, "sched_yield"), NOFD(SC_EXIT, "exit"),
	NOFD(SC_EXIT_GROUP, "exit_group"),
};

const struct sc_info *sc_info(enum sc id)
{
	return id > SC_UNKNOWN && id < SC__MAX ? &table[id] : &table[SC_UNKNOWN];
}

const char *syscall_name(long nr)
{
	return sc_info(arch_sc_native(nr))->name;
}

/* waitid(2): idtype P_PIDFD (include/uapi/linux/wait.h) */
#define SC_P_PIDFD 3

size_t sc_fd_args(enum sc id, const uint64_t args[6], int *fds, size_t max)
{
	const struct sc_info *s = sc_info(id);
	size_t n = 0;

	for (int a = 0; a < 6; a++)
		if ((s->fd_args & A(a)) && (int)args[a] >= 0 && n < max)
			fds[n++] = (int)args[a];
	if (s->fdset == SC_FDSET_WAITID && (int)args[0] == SC_P_PIDFD && (int)args[1] >= 0 && n < max)
		fds[n++] = (int)args[1];
	return n;
}
