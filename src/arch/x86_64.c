/* x86_64 (64-bit tasks). ia32 compat tasks (cs == 0x23) use other numbers,
 * "int 0x80" and restart_syscall = 0: refused until implemented here. */
#include "arch/arch.h"

#include <asm/unistd_64.h>
#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

const char arch_name[] = "x86_64";

const char *arch_inject_refusal(void)
{
	return NULL;
}

/* orig_rax, the number of the current call, is part of NT_PRSTATUS. */
const struct arch_regset arch_regsets[] = {
	{ NT_PRSTATUS, offsetof(struct arch_regs, r), sizeof(struct user_regs_struct) },
};
const size_t arch_nregsets = sizeof(arch_regsets) / sizeof(arch_regsets[0]);

/* "syscall" as the assembler encodes it, in read-only data. The two .org
 * lines check its length (the kernel's ALTERNATIVE trick, which gas and
 * clang's assembler both evaluate): moving back is an error, so the build
 * fails if it is longer or shorter than SYSCALL_INSN_LEN. */
#define SYSCALL_INSN_LEN 2
#define STR_(x) #x
#define STR(x) STR_(x)
__asm__(".pushsection .rodata\n"
	".globl sockreap_x86_64_syscall\n"
	".hidden sockreap_x86_64_syscall\n"
	".type sockreap_x86_64_syscall, @object\n"
	"sockreap_x86_64_syscall:\n"
	"	syscall\n"
	"1:\n"
	".org . - (1b - sockreap_x86_64_syscall) + " STR(SYSCALL_INSN_LEN) "\n"
	".org . - " STR(SYSCALL_INSN_LEN) " + (1b - sockreap_x86_64_syscall)\n"
	".size sockreap_x86_64_syscall, " STR(SYSCALL_INSN_LEN) "\n"
	".popsection\n");
extern const uint8_t sockreap_x86_64_syscall[SYSCALL_INSN_LEN];

const struct arch_insn arch_syscall_insn = { sockreap_x86_64_syscall, SYSCALL_INSN_LEN, 1 };

/* The guarded call's gadgets (arch.h), as the assembler encodes them. */
__asm__(".pushsection .rodata\n"
	".hidden sockreap_x86_64_guard\n"
	".type sockreap_x86_64_guard, @object\n"
	"sockreap_x86_64_guard:\n"
	"	syscall\n"
	"	ret\n"
	"	movq $" STR(__NR_rt_sigreturn) ", %rax\n"
	"	syscall\n"
	"	movl $" STR(__NR_rt_sigreturn) ", %eax\n"
	"	syscall\n"
	"1:\n"
	".org . - (1b - sockreap_x86_64_guard) + 19\n"
	".org . - 19 + (1b - sockreap_x86_64_guard)\n"
	".size sockreap_x86_64_guard, 19\n"
	".popsection\n");
extern const uint8_t sockreap_x86_64_guard[19];

const struct arch_insn arch_guard_call = { sockreap_x86_64_guard, 3, 1 },
		       arch_guard_sigreturn[2] = { { sockreap_x86_64_guard + 3, 9, 1 },
						   { sockreap_x86_64_guard + 12, 7, 1 } };

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
		[ASYS_SOCKET] = __NR_socket, [ASYS_SOCKETPAIR] = __NR_socketpair, [ASYS_MADVISE] = __NR_madvise, [ASYS_DUP3] = __NR_dup3, [ASYS_GETSOCKOPT] = __NR_getsockopt,
		[ASYS_EPOLL_CTL] = __NR_epoll_ctl, [ASYS_FCNTL] = __NR_fcntl, [ASYS_PPOLL] = __NR_ppoll,
		[ASYS_RT_SIGRETURN] = __NR_rt_sigreturn, [ASYS_SIGALTSTACK] = __NR_sigaltstack,
		[ASYS_EPOLL_WAIT] = __NR_epoll_wait, [ASYS_EPOLL_PWAIT] = __NR_epoll_pwait, [ASYS_EPOLL_PWAIT2] = 441,
		[ASYS_CLOCK_GETTIME] = __NR_clock_gettime,
	};
	if (!is_64bit(r) || sys < 0 || sys >= ASYS__MAX)
		return -1;
	return nr[sys];
}

const char *arch_mode_name(const struct arch_regs *r)
{
	return is_64bit(r) ? "x86_64" : "32-bit (ia32 compat) task";
}

/* The application's own flags that must not hold while our code runs: TF
 * (a program stepping itself: every instruction of ours would trap, a
 * forced SIGTRAP that resets its handler), DF and AC (the executor is C:
 * the ABI wants DF clear, and AC would fault its unaligned accesses). Its
 * flags come back with its registers (or from the executor's frame). */
#define EFLAGS_TF 0x100ull
#define EFLAGS_DF 0x400ull
#define EFLAGS_AC 0x40000ull

void arch_set_syscall(struct arch_regs *r, uint64_t insn, long nr, const uint64_t args[6])
{
	r->r.eflags &= ~EFLAGS_TF;
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

uint64_t arch_syscall_arg(const struct arch_regs *r, int i)
{
	const uint64_t a[6] = { r->r.rdi, r->r.rsi, r->r.rdx, r->r.r10, r->r.r8, r->r.r9 };
	return i >= 0 && i < 6 ? a[i] : 0;
}

void arch_reenter_syscall(struct arch_regs *r)
{
	r->r.rax = r->r.orig_rax;
	r->r.rip -= SYSCALL_INSN_LEN;
	r->r.orig_rax = (uint64_t)-1;
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
		r->r.rip -= SYSCALL_INSN_LEN;
		break;
	case -K_ERESTART_RESTARTBLOCK:
		r->r.rax = __NR_restart_syscall;
		r->r.rip -= SYSCALL_INSN_LEN;
		break;
	default:
		return false; /* the call finished: leave every register as it was */
	}
	r->r.orig_rax = (uint64_t)-1;
	return true;
}

static bool restart_pending(const struct arch_regs *r)
{
	long rax = (long)r->r.rax;
	return (long)r->r.orig_rax >= 0 && rax <= -K_ERESTARTSYS && rax >= -K_ERESTART_RESTARTBLOCK &&
	       rax != -K_ENOIOCTLCMD;
}

/* The six argument registers of a system call. */
static void call_args(const struct arch_regs *r, uint64_t args[6])
{
	args[0] = r->r.rdi;
	args[1] = r->r.rsi;
	args[2] = r->r.rdx;
	args[3] = r->r.r10;
	args[4] = r->r.r8;
	args[5] = r->r.r9;
}

bool arch_interrupted_call(const struct arch_regs *r, long *nr, uint64_t args[6])
{
	if (!restart_pending(r))
		return false;
	*nr = (long)r->r.orig_rax;
	call_args(r, args);
	return true;
}

bool arch_call_to_enter(const struct arch_regs *r, long *nr, uint64_t args[6])
{
	if ((long)r->r.orig_rax != -1 || (long)r->r.rax < 0)
		return false;
	*nr = (long)r->r.rax;
	call_args(r, args);
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

/* ---- the in-target executor's signal frame (arch/x86/kernel/signal_64.c,
 * rt_sigreturn(): the frame is read at sp - 8, as after a handler's ret) */

const int arch_xstate_regset = NT_X86_XSTATE;

struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate, reserved1[8];
};
struct k_stack { uint64_t ss_sp; int32_t ss_flags, pad; uint64_t ss_size; };
struct k_ucontext {
	uint64_t uc_flags, uc_link;
	struct k_stack uc_stack;
	struct k_sigcontext uc_mcontext;
	uint64_t uc_sigmask;
};
struct k_rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	uint8_t info[128];
};
_Static_assert(sizeof(struct k_sigcontext) == 256, "struct sigcontext of x86_64");
_Static_assert(sizeof(struct k_rt_sigframe) == 440, "struct rt_sigframe of x86_64");

/* x64_setup_rt_frame(): rsp at the frame, rsi its info, rdx its uc, rax 0 */
bool arch_handler_entry(const struct arch_regs *r, uint64_t *addr, size_t *len)
{
	uint64_t sp = r->r.rsp;
	if (!is_64bit(r) || r->r.rax != 0 || r->r.rdx != sp + offsetof(struct k_rt_sigframe, uc) ||
	    r->r.rsi != sp + offsetof(struct k_rt_sigframe, info))
		return false;
	*addr = sp + offsetof(struct k_rt_sigframe, uc.uc_mcontext);
	*len = sizeof(struct k_sigcontext);
	return true;
}

void arch_frame_context(const void *buf, const struct arch_regs *live, struct arch_regs *ctx)
{
	struct k_sigcontext sc;
	memcpy(&sc, buf, sizeof(sc));
	*ctx = *live;
	struct user_regs_struct *u = &ctx->r;
	u->r8 = sc.r8, u->r9 = sc.r9, u->r10 = sc.r10, u->r11 = sc.r11, u->r12 = sc.r12, u->r13 = sc.r13;
	u->r14 = sc.r14, u->r15 = sc.r15, u->rdi = sc.rdi, u->rsi = sc.rsi, u->rbp = sc.rbp, u->rbx = sc.rbx;
	u->rdx = sc.rdx, u->rax = sc.rax, u->rcx = sc.rcx, u->rsp = sc.rsp, u->rip = sc.rip, u->eflags = sc.eflags;
	u->orig_rax = (uint64_t)-1;
}

#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define FX_SW_OFFSET 464 /* struct fxregs_state.sw_reserved */

const char *arch_exec_refusal(const char *status)
{
	/* A thread with a user shadow stack (CET) makes rt_sigreturn check a
	 * token that a frame we write has not. */
	const char *f = strstr(status, "x86_Thread_features:");
	const char *sh = f ? strstr(f, "shstk") : NULL;
	if (sh && !memchr(f, '\n', (size_t)(sh - f)))
		return "the target uses a user shadow stack (x86 CET), which rejects a frame sockreap builds";
	return NULL;
}

/* How much of the XSAVE area ptrace gave (standard format, every feature
 * the kernel lets user space have) the frame carries, and the features it
 * names. Not all of it: the kernel takes a frame's state whole only if it
 * is no larger than the thread's own (check_xstate_in_sigframe), and a
 * thread that never used a dynamic feature (AMX tiles, ~8 KiB) has a
 * smaller one; else it restores x87/SSE only, and the AVX upper halves,
 * AVX-512 and the rest come back as at reset. So: the legacy area and the
 * header, then each component XSTATE_BV marks as in use, at its offset in
 * the standard format (CPUID leaf 0xd); the others are left to the kernel
 * to initialize, as they were. A component it cannot place: all of it. */
static size_t xstate_used(const void *xstate, size_t len, uint64_t xcr0, uint64_t *features)
{
	uint64_t bv;
	size_t end = 512 + 64;
	memcpy(&bv, (const uint8_t *)xstate + 512, sizeof(bv));
	*features = xcr0 & 3; /* x87 and SSE, in the legacy area */
	for (unsigned i = 2; i < 64; i++) {
		unsigned size, offset, ecx, edx;
		if (!(xcr0 & bv & 1ull << i))
			continue;
		if (!__get_cpuid_count(0xd, i, &size, &offset, &ecx, &edx) || !size || offset < 512 + 64 ||
		    (size_t)offset + size > len)
			return *features = xcr0, len;
		if ((size_t)offset + size > end)
			end = (size_t)offset + size;
		*features |= 1ull << i;
	}
	return end;
}

size_t arch_exec_frame_size(size_t xstate_len)
{
	return sizeof(struct k_rt_sigframe) + 64 + xstate_len + 4 + 64;
}

int arch_exec_build_frame(void *buf, size_t size, uint64_t addr, const struct arch_regs *r, uint64_t mask,
			  const void *xstate, size_t xstate_len, uint64_t *frame_sp, uint64_t *altstack)
{
	uint64_t frame = (addr + 15) & ~(uint64_t)15;
	uint64_t fp = (frame + sizeof(struct k_rt_sigframe) + 63) & ~(uint64_t)63;
	if (xstate_len < 512 + 64 || fp + xstate_len + 4 > addr + size)
		return -EINVAL;
	memset(buf, 0, size);
	struct k_rt_sigframe *f = (struct k_rt_sigframe *)((uint8_t *)buf + (frame - addr));
	struct k_sigcontext *sc = &f->uc.uc_mcontext;
	const struct user_regs_struct *u = &r->r;

	f->uc.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f->uc.uc_stack.ss_flags = 2; /* SS_DISABLE until the executor reads the real settings */
	sc->r8 = u->r8, sc->r9 = u->r9, sc->r10 = u->r10, sc->r11 = u->r11;
	sc->r12 = u->r12, sc->r13 = u->r13, sc->r14 = u->r14, sc->r15 = u->r15;
	sc->rdi = u->rdi, sc->rsi = u->rsi, sc->rbp = u->rbp, sc->rbx = u->rbx;
	sc->rdx = u->rdx, sc->rax = u->rax, sc->rcx = u->rcx, sc->rsp = u->rsp;
	sc->rip = u->rip, sc->eflags = u->eflags;
	sc->cs = (uint16_t)u->cs, sc->ss = (uint16_t)u->ss;
	sc->fpstate = fp;
	f->uc.uc_sigmask = mask;

	/* The XSAVE area as ptrace gives it, with the software-reserved bytes
	 * of a signal frame (struct _fpx_sw_bytes) and the second magic word
	 * after it; the kernel checks both (fpu/signal.c,
	 * check_xstate_in_sigframe), and would otherwise restore the legacy
	 * x87/SSE part only. ptrace stores XCR0 in the first 8 of those bytes. */
	uint8_t *x = (uint8_t *)buf + (fp - addr);
	uint64_t xcr0, features;
	memcpy(&xcr0, (const uint8_t *)xstate + FX_SW_OFFSET, sizeof(xcr0));
	size_t used = xstate_used(xstate, xstate_len, xcr0, &features);
	memcpy(x, xstate, used);
	struct { uint32_t magic1, extended_size; uint64_t xfeatures; uint32_t xstate_size, padding[7]; } sw = {
		FP_XSTATE_MAGIC1, (uint32_t)used + 4, features, (uint32_t)used, { 0 }
	};
	memcpy(x + FX_SW_OFFSET, &sw, sizeof(sw));
	uint32_t magic2 = FP_XSTATE_MAGIC2;
	memcpy(x + used, &magic2, sizeof(magic2));

	*frame_sp = frame + 8;
	*altstack = frame + offsetof(struct k_rt_sigframe, uc.uc_stack);
	return 0;
}

int arch_guard_frame(void *buf, size_t size, uint64_t addr, const struct arch_regs *r, uint64_t mask,
		     const void *xstate, size_t xstate_len, uint64_t sigreturn, uint64_t *sp)
{
	uint64_t frame_sp, altstack;
	int ret = arch_exec_build_frame(buf, size, addr, r, mask, xstate, xstate_len, &frame_sp, &altstack);
	if (ret < 0)
		return ret;
	/* "ret" pops pretcode, and rt_sigreturn finds the frame 8 bytes
	 * below the stack pointer it leaves: the frame's own start */
	struct k_rt_sigframe *f = (struct k_rt_sigframe *)((uint8_t *)buf + (frame_sp - 8 - addr));
	f->pretcode = sigreturn;
	/* neither 0, SS_ONSTACK nor SS_DISABLE: the sigaltstack() inside
	 * rt_sigreturn fails (EINVAL, which it ignores), and the thread's
	 * own alternate stack stays as it is */
	f->uc.uc_stack.ss_flags = 3;
	*sp = frame_sp - 8;
	return 0;
}

/* setup_rt_frame()'s frame: pretcode at a stack pointer 8 past a 16-byte
 * boundary (as after a call), the flags frame_uc_flags() sets, no
 * uc_link, and the thread's own code and stack segments in its context */
int arch_sigframe_altstack(const struct arch_regs *r, const void *buf, size_t len, uint64_t base, uint64_t *ss_sp,
			   uint64_t *ss_size, int *ss_flags)
{
	const uint8_t *b = buf;
	for (size_t off = (24 - base % 16) % 16; off + sizeof(struct k_rt_sigframe) <= len; off += 16) {
		struct k_rt_sigframe f;
		memcpy(&f, b + off, sizeof(f));
		uint64_t fl = f.uc.uc_flags;
		if ((fl & ~(uint64_t)UC_FP_XSTATE) != (UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS) || f.uc.uc_link ||
		    f.uc.uc_mcontext.cs != (uint16_t)r->r.cs || f.uc.uc_mcontext.ss != (uint16_t)r->r.ss)
			continue;
		*ss_sp = f.uc.uc_stack.ss_sp;
		*ss_size = f.uc.uc_stack.ss_size;
		*ss_flags = f.uc.uc_stack.ss_flags;
		return 1;
	}
	return 0;
}

void arch_guard_set(struct arch_regs *r, uint64_t call, uint64_t sp, long nr, const uint64_t args[6])
{
	arch_set_syscall(r, call, nr, args);
	r->r.rsp = sp;
}

uint64_t arch_sp(const struct arch_regs *r)
{
	return r->r.rsp;
}

void arch_exec_set_regs(struct arch_regs *r, uint64_t entry, uint64_t stack_top, uint64_t rw, uint64_t rw_len,
			uint64_t job)
{
	r->r.eflags &= ~(EFLAGS_TF | EFLAGS_DF | EFLAGS_AC);
	r->r.rip = entry;
	r->r.orig_rax = (uint64_t)-1;
	r->r.rsp = stack_top & ~(uint64_t)15;
	r->r.r12 = stack_top & ~(uint64_t)15;
	r->r.r13 = rw;
	r->r.r14 = rw_len;
	r->r.r15 = job;
}
