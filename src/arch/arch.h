/* The architecture interface of the injection engine: register layout and
 * the register sets that hold it, system call numbers, the syscall
 * instruction, and the kernel's syscall restart rules. The engine
 * (inject.c, remote.c, tracee.c) uses only what is declared here; a new
 * architecture (aarch64) or target mode (ia32 compat) adds a file here,
 * not code in the engine.
 *
 * The Makefile picks the file: ARCH from the compiler's target
 * (`$(CC) -dumpmachine`), src/arch/$(ARCH).c, and -DSOCKREAP_ARCH_$(ARCH)
 * for the register struct below. An architecture without a file of its
 * own gets none.c: everything builds and links, discovery, the dry run,
 * the pidfd methods and --destroy work, and arch_inject_refusal() says why
 * nothing is injected (plan and engine refuse at run time).
 *
 * What the seam deliberately does not carry:
 * - a stack red zone: nothing is ever written to the target's stack (the
 *   executor runs on a stack of its own in the scratch mapping, where its
 *   signal frame lives too, and data for calls made one by one goes to
 *   the scratch mapping as well);
 * - the page size: the kernel's, at run time (page_size() in util.h), the
 *   same for sockreap and the target (aarch64 kernels use 4K, 16K or 64K).
 *
 * The restart model. The engine puts the registers back at a stop inside
 * signal delivery and relies on the kernel to apply the restart rules when
 * the task leaves it, as x86_64 does (arch_do_signal_or_restart() decides
 * after get_signal(), where the ptrace stop is). aarch64 does not: its
 * do_signal() rewinds pc and puts orig_x0 back into x0 BEFORE get_signal(),
 * "so that a debugger will see the already changed PC", and clears the
 * syscall number (NT_ARM_SYSTEM_CALL reads -1); only ERESTART_RESTARTBLOCK
 * is finished after the stop (x8 = __NR_restart_syscall, if pc is still
 * the restart address). So at an interrupt stop an aarch64 tracer no longer
 * sees the -ERESTART* code in x0, which arch_interrupted_call() and
 * arch_restart_fixup() read here; an aarch64 file must get that state
 * elsewhere (e.g. a syscall-exit stop) before it can claim the engine's
 * guarantees. That is why aarch64 builds with none.c today. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syscalls.h"

#if defined(SOCKREAP_ARCH_x86_64)
#if !defined(__x86_64__)
#error "sockreap: ARCH=x86_64 needs a compiler for x86_64 (64-bit); ARCH=none builds without injection"
#endif
#include <sys/user.h>
/* Exactly what PTRACE_GETREGSET NT_PRSTATUS returns for the tracee. */
struct arch_regs { struct user_regs_struct r; };
#elif defined(SOCKREAP_ARCH_none)
/* No injection: the engine links, but never holds a thread's registers. */
struct arch_regs { uint64_t unused; };
#else
#error "sockreap: no SOCKREAP_ARCH_*: build with the Makefile, which picks src/arch/$(ARCH).c"
#endif

/* The architecture of this build ("x86_64"; for none.c, the compiler's
 * target CPU), for messages and --check. */
extern const char arch_name[];

/* Why this build cannot inject into any process (none.c: no injection
 * for this architecture), one line naming the architecture; NULL where the
 * engine works. */
const char *arch_inject_refusal(void);

/* The register sets (PTRACE_GETREGSET/SETREGSET types) that make up
 * struct arch_regs, each at its offset and with its exact size; the engine
 * reads all of them and writes all of them back, in this order, and a set
 * the kernel returns shorter than size is an error. x86_64: NT_PRSTATUS
 * alone (orig_rax, the current syscall, is in it). aarch64 would need two:
 * NT_PRSTATUS (struct user_pt_regs: x0-x30, sp, pc, pstate) and
 * NT_ARM_SYSTEM_CALL (an int: the number of the call the task is in,
 * which writing x8 at a syscall stop does not change), as reptyr's aarch64 hook does.
 * none.c: no set (getregs fails with EOPNOTSUPP). */
struct arch_regset {
	int type;      /* NT_* */
	size_t offset; /* in struct arch_regs */
	size_t size;
};
extern const struct arch_regset arch_regsets[];
extern const size_t arch_nregsets;

/* An instruction as the engine searches for it in the target's executable
 * mappings: its bytes, its length, and the alignment the CPU requires of
 * its address (a match elsewhere is not that instruction). x86_64:
 * "syscall", 0f 05, 2 bytes, any address. aarch64: "svc #0", d4000001
 * (bytes 01 00 00 d4), 4 bytes, 4-aligned. The bytes come from the
 * assembler, with a check of their length (x86_64.c). */
struct arch_insn {
	const uint8_t *bytes;
	size_t len, align;
};
/* The instruction that enters the kernel. */
extern const struct arch_insn arch_syscall_insn;

/* The system calls the engine injects, independent of numbering. */
enum arch_sys {
	ASYS_CLOSE, ASYS_SHUTDOWN, ASYS_SETSOCKOPT, ASYS_CLOSE_RANGE, ASYS_MMAP, ASYS_MPROTECT, ASYS_MUNMAP,
	ASYS_SOCKET, ASYS_SOCKETPAIR, ASYS_MADVISE, ASYS_DUP3, ASYS_GETSOCKOPT, ASYS_EPOLL_CTL, ASYS_FCNTL, ASYS_PPOLL, ASYS_RT_SIGRETURN,
	ASYS_SIGALTSTACK, ASYS_EPOLL_WAIT, ASYS_EPOLL_PWAIT, ASYS_EPOLL_PWAIT2, ASYS_CLOCK_GETTIME,
	ASYS__MAX
};

/* Number of sys in the mode the stopped task runs in (64-bit or compat),
 * or -1 if the engine cannot inject into that mode yet. */
long arch_sysno(const struct arch_regs *r, enum arch_sys sys);
/* Why arch_sysno failed for this task (e.g. "32-bit task"), for messages. */
const char *arch_mode_name(const struct arch_regs *r);

/* Turn a copy of the saved registers into an injected call: instruction
 * pointer at the syscall instruction at insn, number nr, up to six args.
 * The "current syscall" is set to none (orig_rax = -1 on x86_64), so the
 * kernel's restart logic, which runs when the task leaves its stop, leaves
 * our instruction pointer and return register alone. */
void arch_set_syscall(struct arch_regs *r, uint64_t insn, long nr, const uint64_t args[6]);
/* The return value after the injected call: >= 0, or -errno. */
long arch_syscall_ret(const struct arch_regs *r);
uint64_t arch_ip(const struct arch_regs *r);
/* The system call a stopped task is in, or -1. */
long arch_current_syscall(const struct arch_regs *r);
/* Argument i (0-5) of the system call a stopped task is in. */
uint64_t arch_syscall_arg(const struct arch_regs *r, int i);
/* Make a call that returned (an error) enter again when the task resumes:
 * its registers as at its entry (x86_64: the number back in rax, from
 * orig_rax), the ip back over the syscall instruction, and no current
 * syscall left for the kernel to restart. */
void arch_reenter_syscall(struct arch_regs *r);

/* The in-target executor (src/exec/exec.c, crash-only injection).
 *
 * arch_exec_refusal: why a hand-made signal frame cannot be used for this
 * task (a user shadow stack rejects it), from the thread's
 * /proc/PID/status text; NULL if it can.
 * arch_xstate_regset: the regset (PTRACE_GETREGSET) with the extended
 * FPU/vector state that rt_sigreturn needs in the frame; its size at most
 * ARCH_XSTATE_MAX.
 * arch_exec_frame_size: bytes of target memory the frame needs.
 * arch_exec_build_frame: in buf (its bytes go to addr in the target), the
 * frame from which rt_sigreturn restores registers r (in the form the task
 * must continue with), signal mask mask and the extended state; returns
 * the stack pointer rt_sigreturn must run with and the address where the
 * executor stores the current sigaltstack settings. 0 or -errno.
 * arch_exec_set_regs: registers that start the executor's entry code with
 * its stack, the range it makes writable, and its job. */
#define ARCH_XSTATE_MAX 16384
extern const int arch_xstate_regset;
const char *arch_exec_refusal(const char *status);
size_t arch_exec_frame_size(size_t xstate_len);
int arch_exec_build_frame(void *buf, size_t size, uint64_t addr, const struct arch_regs *r, uint64_t mask,
			  const void *xstate, size_t xstate_len, uint64_t *frame_sp, uint64_t *altstack);
void arch_exec_set_regs(struct arch_regs *r, uint64_t entry, uint64_t stack_top, uint64_t rw, uint64_t rw_len,
			uint64_t job);

/* The guarded call: a system call that needs no code of ours (the scratch
 * mapping's own mmap and munmap), crash-only all the same. It starts at
 * arch_guard_call in the target's own code, a system call that returns to
 * where the stack says; there the stack holds the address of one of the
 * target's own rt_sigreturn sequences (arch_guard_sigreturn, either
 * form), then a frame holding the thread's own context. If sockreap dies
 * at any point, the call finishes, then rt_sigreturn puts the thread
 * back. x86_64: "syscall; ret" (every syscall wrapper that cannot fail),
 * and "mov $15, %rax; syscall" or "mov $15, %eax; syscall" (glibc's,
 * musl's and Go's signal return). No bytes: no guarded call here.
 *
 * arch_guard_frame: in buf (its bytes go to addr in the target), the
 * frame with sigreturn's address before it, as arch_exec_build_frame
 * builds it, except that rt_sigreturn leaves the alternate signal stack
 * as it is (nothing reads it first); *sp the stack pointer to start with.
 * arch_guard_set: registers that run call nr(args) from the gadget at
 * call with that stack. ARCH_RED_ZONE: the bytes below the stack pointer
 * that code may use without moving it (a signal frame goes below them). */
extern const struct arch_insn arch_guard_call, arch_guard_sigreturn[2];
#define ARCH_RED_ZONE 128
int arch_guard_frame(void *buf, size_t size, uint64_t addr, const struct arch_regs *r, uint64_t mask,
		     const void *xstate, size_t xstate_len, uint64_t sigreturn, uint64_t *sp);
void arch_guard_set(struct arch_regs *r, uint64_t call, uint64_t sp, long nr, const uint64_t args[6]);
uint64_t arch_sp(const struct arch_regs *r);

/* The alternate signal stack saved in the nearest signal frame the kernel
 * wrote in buf (len bytes of the stack of a thread with registers r, from
 * its stack pointer up, at base): a handler that frame entered may be
 * running, on that stack. 1 and the settings (sigaltstack's, as the
 * kernel stored them at delivery), 0 none found. */
int arch_sigframe_altstack(const struct arch_regs *r, const void *buf, size_t len, uint64_t base, uint64_t *ss_sp,
			   uint64_t *ss_size, int *ss_flags);


/* A thread stopped inside an interrupted system call that the kernel will
 * restart (its return register holds one of the -ERESTART* codes): true,
 * with the call's number and its six arguments. What the call looks up
 * again on restart is in the arch-neutral table (syscalls.h) under
 * arch_sc(r, nr); the engine reads any fd sets in the target's memory. */
bool arch_interrupted_call(const struct arch_regs *r, long *nr, uint64_t args[6]);

/* A thread at a signal handler's first instruction, its frame just built
 * by the kernel: where that frame's saved context (the interrupted one)
 * is, *addr and *len, to read and give to arch_frame_context. False when
 * the registers are not that (x86_64: rsi and rdx point at the frame's
 * info and ucontext, right above rsp); libunwind is for the rest. */
bool arch_handler_entry(const struct arch_regs *r, uint64_t *addr, size_t *len);
/* ctx: the live registers with the saved context's (buf, *len bytes from
 * arch_handler_entry) in place: the interrupted context, no current call. */
void arch_frame_context(const void *buf, const struct arch_regs *live, struct arch_regs *ctx);

/* A thread whose registers are set to enter a system call at its
 * instruction pointer, not inside one (no current call): the call it
 * will make, with its arguments, if the instruction there is the syscall
 * instruction (the caller checks that). Where the kernel left a restart
 * for a signal handler's return, rt_sigreturn puts it back this way. */
bool arch_call_to_enter(const struct arch_regs *r, long *nr, uint64_t args[6]);

/* The arch-neutral id of system call nr in the mode of the task whose
 * registers are r (SC_UNKNOWN for a mode the engine cannot handle yet),
 * and of nr in the native numbering. */
enum sc arch_sc(const struct arch_regs *r, long nr);
enum sc arch_sc_native(long nr);

/* Apply the kernel's restart rules to registers saved at a stop, as the
 * kernel would when the task resumes without running a signal handler:
 * a call interrupted with -ERESTARTSYS, -ERESTARTNOINTR or -ERESTARTNOHAND
 * is re-entered (return register = syscall number, ip back over the
 * syscall instruction); -ERESTART_RESTARTBLOCK enters restart_syscall
 * instead. Then the "current syscall" is cleared, so the kernel does not
 * apply the rules a second time. Returns true if the registers changed. */
bool arch_restart_fixup(struct arch_regs *r);

/* Kernel-internal restart codes (include/linux/errno.h); user space must
 * never see them. */
enum {
	K_ERESTARTSYS = 512, K_ERESTARTNOINTR = 513, K_ERESTARTNOHAND = 514,
	K_ENOIOCTLCMD = 515, K_ERESTART_RESTARTBLOCK = 516,
};
