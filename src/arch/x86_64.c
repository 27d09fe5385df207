/* x86_64 (64-bit tasks). ia32 compat tasks (cs == 0x23) use other numbers,
 * "int 0x80" and restart_syscall = 0: refused until implemented here. */
#include "arch/arch.h"

#include <asm/unistd_64.h>

const uint8_t arch_syscall_insn[] = { 0x0f, 0x05 };
const size_t arch_syscall_insn_len = sizeof(arch_syscall_insn);

#define X86_64_USER_CS 0x33

static bool is_64bit(const struct arch_regs *r)
{
	return r->r.cs == X86_64_USER_CS;
}

long arch_sysno(const struct arch_regs *r, enum arch_sys sys)
{
	static const long nr[ASYS__MAX] = {
		[ASYS_CLOSE] = __NR_close, [ASYS_SHUTDOWN] = __NR_shutdown,
		[ASYS_SETSOCKOPT] = __NR_setsockopt, [ASYS_CLOSE_RANGE] = 436 /* __NR_close_range */,
		[ASYS_MMAP] = __NR_mmap, [ASYS_MPROTECT] = __NR_mprotect, [ASYS_MUNMAP] = __NR_munmap,
	};
	if (!is_64bit(r) || sys < 0 || sys >= ASYS__MAX)
		return -1;
	return nr[sys];
}

const char *arch_mode_name(const struct arch_regs *r)
{
	return is_64bit(r) ? "x86_64" : "32-bit (ia32 compat) task";
}

void arch_set_syscall(struct arch_regs *r, uint64_t insn, long nr, const uint64_t args[6])
{
	r->r.rip = insn;
	r->r.rax = (uint64_t)nr;
	r->r.orig_rax = (uint64_t)-1;
	r->r.rdi = args[0];
	r->r.rsi = args[1];
	r->r.rdx = args[2];
	r->r.r10 = args[3];
	r->r.r8 = args[4];
	r->r.r9 = args[5];
}

long arch_syscall_ret(const struct arch_regs *r)
{
	return (long)r->r.rax;
}

uint64_t arch_ip(const struct arch_regs *r)
{
	return r->r.rip;
}

long arch_current_syscall(const struct arch_regs *r)
{
	return (long)r->r.orig_rax;
}

uint64_t arch_sp(const struct arch_regs *r)
{
	return r->r.rsp;
}

bool arch_restart_fixup(struct arch_regs *r)
{
	/* arch/x86/kernel/signal.c, arch_do_signal_or_restart(), the branch
	 * taken when no handler runs. */
	if ((long)r->r.orig_rax < 0)
		return false; /* not stopped inside a system call */
	switch ((long)r->r.rax) {
	case -K_ERESTARTSYS:
	case -K_ERESTARTNOINTR:
	case -K_ERESTARTNOHAND:
		r->r.rax = r->r.orig_rax;
		r->r.rip -= arch_syscall_insn_len;
		break;
	case -K_ERESTART_RESTARTBLOCK:
		r->r.rax = __NR_restart_syscall;
		r->r.rip -= arch_syscall_insn_len;
		break;
	default:
		return false; /* the call finished: leave every register as it was */
	}
	r->r.orig_rax = (uint64_t)-1;
	return true;
}

/* r12 = fds, r13 = n, r14 = results; all three are restored afterwards
 * with the rest of the registers. syscall clobbers rcx and r11 only.
 *
 *  0: 4d 85 ed        loop: test  r13, r13
 *  3: 74 1b                 jz    done
 *  5: 41 8b 3c 24           mov   edi, [r12]
 *  9: b8 03 00 00 00        mov   eax, __NR_close
 * 14: 0f 05                 syscall
 * 16: 41 89 06              mov   [r14], eax
 * 19: 49 83 c4 04           add   r12, 4
 * 23: 49 83 c6 04           add   r14, 4
 * 27: 49 ff cd              dec   r13
 * 30: eb e0                 jmp   loop
 * 32: cc              done: int3
 */
const uint8_t arch_close_loop[] = {
	0x4d, 0x85, 0xed, 0x74, 0x1b, 0x41, 0x8b, 0x3c, 0x24, 0xb8, 0x03, 0x00, 0x00, 0x00,
	0x0f, 0x05, 0x41, 0x89, 0x06, 0x49, 0x83, 0xc4, 0x04, 0x49, 0x83, 0xc6, 0x04,
	0x49, 0xff, 0xcd, 0xeb, 0xe0, 0xcc,
};
const size_t arch_close_loop_len = sizeof(arch_close_loop);

void arch_set_close_loop(struct arch_regs *r, uint64_t code, uint64_t fds, uint64_t results, uint64_t n)
{
	r->r.rip = code;
	r->r.orig_rax = (uint64_t)-1;
	r->r.r12 = fds;
	r->r.r13 = n;
	r->r.r14 = results;
}

bool arch_close_loop_done(const struct arch_regs *r, uint64_t code, uint64_t *left)
{
	*left = r->r.r13;
	/* after int3, rip points past it */
	return r->r.rip == code + arch_close_loop_len;
}

static bool restart_pending(const struct arch_regs *r)
{
	long rax = (long)r->r.rax;
	return (long)r->r.orig_rax >= 0 && rax <= -K_ERESTARTSYS && rax >= -K_ERESTART_RESTARTBLOCK &&
	       rax != -K_ENOIOCTLCMD;
}

bool arch_interrupted_call(const struct arch_regs *r, long *nr, uint64_t args[6])
{
	if (!restart_pending(r))
		return false;
	*nr = (long)r->r.orig_rax;
	args[0] = r->r.rdi;
	args[1] = r->r.rsi;
	args[2] = r->r.rdx;
	args[3] = r->r.r10;
	args[4] = r->r.r8;
	args[5] = r->r.r9;
	return true;
}

/* Only the numbers live here; what each call does with its arguments is
 * in syscalls.c. */
static const uint8_t sc_of_nr[] = {
	[__NR_read] = SC_READ, [__NR_write] = SC_WRITE, [__NR_readv] = SC_READV, [__NR_writev] = SC_WRITEV,
	[__NR_pread64] = SC_PREAD64, [__NR_pwrite64] = SC_PWRITE64, [__NR_preadv] = SC_PREADV,
	[__NR_pwritev] = SC_PWRITEV, [__NR_preadv2] = SC_PREADV2, [__NR_pwritev2] = SC_PWRITEV2,
	[__NR_ioctl] = SC_IOCTL, [__NR_fcntl] = SC_FCNTL, [__NR_flock] = SC_FLOCK, [__NR_fsync] = SC_FSYNC,
	[__NR_fdatasync] = SC_FDATASYNC, [__NR_sync_file_range] = SC_SYNC_FILE_RANGE,
	[__NR_fallocate] = SC_FALLOCATE, [__NR_ftruncate] = SC_FTRUNCATE, [__NR_fstat] = SC_FSTAT,
	[__NR_fstatfs] = SC_FSTATFS, [__NR_getdents] = SC_GETDENTS, [__NR_getdents64] = SC_GETDENTS64,
	[__NR_readahead] = SC_READAHEAD, [__NR_fadvise64] = SC_FADVISE64, [__NR_mmap] = SC_MMAP,
	[__NR_connect] = SC_CONNECT, [__NR_accept] = SC_ACCEPT, [__NR_accept4] = SC_ACCEPT4,
	[__NR_sendto] = SC_SENDTO, [__NR_recvfrom] = SC_RECVFROM, [__NR_sendmsg] = SC_SENDMSG,
	[__NR_recvmsg] = SC_RECVMSG, [__NR_sendmmsg] = SC_SENDMMSG, [__NR_recvmmsg] = SC_RECVMMSG,
	[__NR_getsockopt] = SC_GETSOCKOPT, [__NR_setsockopt] = SC_SETSOCKOPT, [__NR_shutdown] = SC_SHUTDOWN,
	[__NR_sendfile] = SC_SENDFILE, [__NR_splice] = SC_SPLICE, [__NR_tee] = SC_TEE,
	[__NR_vmsplice] = SC_VMSPLICE, [__NR_copy_file_range] = SC_COPY_FILE_RANGE,
	[__NR_epoll_wait] = SC_EPOLL_WAIT, [__NR_epoll_pwait] = SC_EPOLL_PWAIT,
	[441 /* __NR_epoll_pwait2 */] = SC_EPOLL_PWAIT2, [__NR_epoll_ctl] = SC_EPOLL_CTL,
	[__NR_openat] = SC_OPENAT, [437 /* __NR_openat2 */] = SC_OPENAT2, [__NR_mkdirat] = SC_MKDIRAT,
	[__NR_mknodat] = SC_MKNODAT, [__NR_fchownat] = SC_FCHOWNAT, [__NR_futimesat] = SC_FUTIMESAT,
	[__NR_newfstatat] = SC_NEWFSTATAT, [__NR_unlinkat] = SC_UNLINKAT, [__NR_renameat] = SC_RENAMEAT,
	[__NR_renameat2] = SC_RENAMEAT2, [__NR_linkat] = SC_LINKAT, [__NR_symlinkat] = SC_SYMLINKAT,
	[__NR_readlinkat] = SC_READLINKAT, [__NR_fchmodat] = SC_FCHMODAT,
	[452 /* __NR_fchmodat2 */] = SC_FCHMODAT2, [__NR_faccessat] = SC_FACCESSAT,
	[439 /* __NR_faccessat2 */] = SC_FACCESSAT2, [__NR_utimensat] = SC_UTIMENSAT,
	[__NR_name_to_handle_at] = SC_NAME_TO_HANDLE_AT, [__NR_open_by_handle_at] = SC_OPEN_BY_HANDLE_AT,
	[__NR_statx] = SC_STATX, [__NR_execveat] = SC_EXECVEAT, [__NR_inotify_add_watch] = SC_INOTIFY_ADD_WATCH,
	[__NR_fanotify_mark] = SC_FANOTIFY_MARK, [__NR_mq_timedsend] = SC_MQ_TIMEDSEND,
	[__NR_mq_timedreceive] = SC_MQ_TIMEDRECEIVE, [__NR_io_uring_enter] = SC_IO_URING_ENTER,
	[__NR_fchown] = SC_FCHOWN, [__NR_fchmod] = SC_FCHMOD, [__NR_syncfs] = SC_SYNCFS,
	[__NR_poll] = SC_POLL, [__NR_ppoll] = SC_PPOLL, [__NR_select] = SC_SELECT, [__NR_pselect6] = SC_PSELECT6,
	[__NR_waitid] = SC_WAITID, [__NR_restart_syscall] = SC_RESTART_SYSCALL,
	[__NR_nanosleep] = SC_NANOSLEEP, [__NR_clock_nanosleep] = SC_CLOCK_NANOSLEEP, [__NR_futex] = SC_FUTEX,
	[449 /* __NR_futex_waitv */] = SC_FUTEX_WAITV, [__NR_pause] = SC_PAUSE,
	[__NR_rt_sigsuspend] = SC_RT_SIGSUSPEND, [__NR_rt_sigtimedwait] = SC_RT_SIGTIMEDWAIT,
	[__NR_wait4] = SC_WAIT4, [__NR_semop] = SC_SEMOP, [__NR_semtimedop] = SC_SEMTIMEDOP,
	[__NR_msgrcv] = SC_MSGRCV, [__NR_msgsnd] = SC_MSGSND, [__NR_getrandom] = SC_GETRANDOM,
	[__NR_io_getevents] = SC_IO_GETEVENTS, [__NR_io_pgetevents] = SC_IO_PGETEVENTS,
	[__NR_sched_yield] = SC_SCHED_YIELD, [__NR_exit] = SC_EXIT, [__NR_exit_group] = SC_EXIT_GROUP,
};
_Static_assert(SC__MAX <= 256, "sc_of_nr holds ids in a byte");

enum sc arch_sc_native(long nr)
{
	return nr >= 0 && (unsigned long)nr < sizeof(sc_of_nr) ? (enum sc)sc_of_nr[nr] : SC_UNKNOWN;
}

enum sc arch_sc(const struct arch_regs *r, long nr)
{
	return is_64bit(r) ? arch_sc_native(nr) : SC_UNKNOWN;
}
