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
		[ASYS_SOCKET] = __NR_socket, [ASYS_DUP3] = __NR_dup3, [ASYS_GETSOCKOPT] = __NR_getsockopt,
		[ASYS_EPOLL_CTL] = __NR_epoll_ctl, [ASYS_FCNTL] = __NR_fcntl, [ASYS_FUTEX] = __NR_futex,
		[ASYS_RT_SIGRETURN] = __NR_rt_sigreturn, [ASYS_SIGALTSTACK] = __NR_sigaltstack,
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

size_t arch_restart_fds(const struct arch_regs *r, int *fds, size_t max, uint64_t *pollfds, uint64_t *npoll)
{
	/* Which argument registers of each blocking call hold fds. */
	static const struct { long nr; uint8_t arg0, arg1, arg2; } calls[] = {
		{ __NR_read, 1, 0, 0 }, { __NR_write, 1, 0, 0 }, { __NR_pread64, 1, 0, 0 }, { __NR_pwrite64, 1, 0, 0 },
		{ __NR_readv, 1, 0, 0 }, { __NR_writev, 1, 0, 0 }, { __NR_preadv, 1, 0, 0 }, { __NR_pwritev, 1, 0, 0 },
		{ __NR_preadv2, 1, 0, 0 }, { __NR_pwritev2, 1, 0, 0 }, { __NR_ioctl, 1, 0, 0 }, { __NR_fcntl, 1, 0, 0 },
		{ __NR_flock, 1, 0, 0 }, { __NR_fsync, 1, 0, 0 }, { __NR_fdatasync, 1, 0, 0 }, { __NR_connect, 1, 0, 0 },
		{ __NR_accept, 1, 0, 0 }, { __NR_accept4, 1, 0, 0 }, { __NR_sendto, 1, 0, 0 }, { __NR_recvfrom, 1, 0, 0 },
		{ __NR_sendmsg, 1, 0, 0 }, { __NR_recvmsg, 1, 0, 0 }, { __NR_sendmmsg, 1, 0, 0 }, { __NR_recvmmsg, 1, 0, 0 },
		{ __NR_sendfile, 1, 1, 0 }, { __NR_tee, 1, 1, 0 }, { __NR_splice, 1, 0, 1 },
		{ __NR_copy_file_range, 1, 0, 1 },
	};
	size_t n = 0;

	*pollfds = *npoll = 0;
	if (!is_64bit(r) || !restart_pending(r))
		return 0;
	long nr = (long)r->r.orig_rax;
	if (nr == __NR_poll || nr == __NR_ppoll) {
		*pollfds = r->r.rdi;
		*npoll = r->r.rsi;
		return 0;
	}
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		if (calls[i].nr != nr)
			continue;
		const uint64_t args[3] = { r->r.rdi, r->r.rsi, r->r.rdx };
		const uint8_t use[3] = { calls[i].arg0, calls[i].arg1, calls[i].arg2 };
		for (int a = 0; a < 3; a++)
			if (use[a] && n < max)
				fds[n++] = (int)args[a];
	}
	return n;
}
