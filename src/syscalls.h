/* What the engine needs to know about system calls, independent of the
 * architecture (strace keeps its semantics shared the same way, with only
 * the numbers per arch): the name, and which arguments a call looks up as
 * fds, so that a thread stopped inside an interrupted call that the kernel
 * will restart keeps the fds it will look up again. The arch file maps its
 * numbers to these ids (arch_sc); nothing here depends on numbering.
 *
 * Argument positions are those of the C prototypes, which the 64-bit ABIs
 * pass unchanged; a 32-bit compat mode that splits 64-bit arguments into
 * two registers would map its numbers to ids of its own. */
#pragma once
#include <stddef.h>
#include <stdint.h>

enum sc {
	SC_UNKNOWN,
	/* plain fd arguments */
	SC_READ, SC_WRITE, SC_READV, SC_WRITEV, SC_PREAD64, SC_PWRITE64, SC_PREADV, SC_PWRITEV,
	SC_PREADV2, SC_PWRITEV2, SC_IOCTL, SC_FCNTL, SC_FLOCK, SC_FSYNC, SC_FDATASYNC,
	SC_SYNC_FILE_RANGE, SC_FALLOCATE, SC_FTRUNCATE, SC_FSTAT, SC_FSTATFS, SC_GETDENTS,
	SC_GETDENTS64, SC_READAHEAD, SC_FADVISE64, SC_MMAP, SC_CONNECT, SC_ACCEPT, SC_ACCEPT4,
	SC_SENDTO, SC_RECVFROM, SC_SENDMSG, SC_RECVMSG, SC_SENDMMSG, SC_RECVMMSG, SC_GETSOCKOPT,
	SC_SETSOCKOPT, SC_SHUTDOWN, SC_SENDFILE, SC_SPLICE, SC_TEE, SC_VMSPLICE, SC_COPY_FILE_RANGE,
	SC_EPOLL_WAIT, SC_EPOLL_PWAIT, SC_EPOLL_PWAIT2, SC_EPOLL_CTL, SC_OPENAT, SC_OPENAT2,
	SC_MKDIRAT, SC_MKNODAT, SC_FCHOWNAT, SC_FUTIMESAT, SC_NEWFSTATAT, SC_UNLINKAT, SC_RENAMEAT,
	SC_RENAMEAT2, SC_LINKAT, SC_SYMLINKAT, SC_READLINKAT, SC_FCHMODAT, SC_FCHMODAT2,
	SC_FACCESSAT, SC_FACCESSAT2, SC_UTIMENSAT, SC_NAME_TO_HANDLE_AT, SC_OPEN_BY_HANDLE_AT,
	SC_STATX, SC_EXECVEAT, SC_INOTIFY_ADD_WATCH, SC_FANOTIFY_MARK, SC_MQ_TIMEDSEND,
	SC_MQ_TIMEDRECEIVE, SC_IO_URING_ENTER, SC_FCHOWN, SC_FCHMOD, SC_SYNCFS,
	/* fd sets in the target's memory */
	SC_POLL, SC_PPOLL, SC_SELECT, SC_PSELECT6,
	/* special */
	SC_WAITID, SC_RESTART_SYSCALL,
	/* blocking calls without fds (known, so named) */
	SC_NANOSLEEP, SC_CLOCK_NANOSLEEP, SC_FUTEX, SC_FUTEX_WAITV, SC_PAUSE, SC_RT_SIGSUSPEND,
	SC_RT_SIGTIMEDWAIT, SC_WAIT4, SC_SEMOP, SC_SEMTIMEDOP, SC_MSGRCV, SC_MSGSND, SC_GETRANDOM,
	SC_IO_GETEVENTS, SC_IO_PGETEVENTS, SC_SCHED_YIELD, SC_EXIT, SC_EXIT_GROUP,
	SC__MAX
};

/* How a call's fds are found besides its plain fd arguments. */
enum sc_fdset {
	SC_FDSET_NONE,
	SC_FDSET_POLL,       /* struct pollfd array at arg0, arg1 entries */
	SC_FDSET_SELECT,     /* nfds arg0, fd_set pointers (or NULL) at args 1, 2, 3 */
	SC_FDSET_WAITID,     /* arg1 is a pidfd when arg0 (idtype) is P_PIDFD */
	/* restart_syscall: which call it restarts is known only to the
	 * kernel. Of those that restart this way (nanosleep, clock_nanosleep,
	 * futex, poll) only poll looks fds up again, and its array and count
	 * are still in the first two argument registers: read them as a poll
	 * set when they can be one (an unreadable array cannot be one the
	 * kernel already read). */
	SC_FDSET_MAYBE_POLL,
};

struct sc_info {
	const char *name;      /* NULL for SC_UNKNOWN */
	uint8_t fd_args;       /* bit i set: argument i is an fd (negative: none, e.g. AT_FDCWD) */
	enum sc_fdset fdset;
};

/* Never NULL: an id out of range is SC_UNKNOWN. */
const struct sc_info *sc_info(enum sc id);

/* The name of system call nr in the native numbering ("select"), or NULL
 * when the table does not know it. */
const char *syscall_name(long nr);

/* The plain fds among args that id looks up (fd_args and the waitid
 * pidfd), up to max into fds; how many. Negative values are no fds. */
size_t sc_fd_args(enum sc id, const uint64_t args[6], int *fds, size_t max);
