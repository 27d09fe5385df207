/* The architecture interface of the injection engine: register layout,
 * system call numbers, the syscall instruction, and the kernel's syscall
 * restart rules. The engine (inject.c) uses only what is declared here;
 * a new architecture (aarch64) or target mode (ia32 compat) adds a file
 * here, not code in the engine. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "syscalls.h"

#if defined(__x86_64__)
#include <sys/user.h>
/* Exactly what PTRACE_GETREGSET NT_PRSTATUS returns for the tracee. */
struct arch_regs { struct user_regs_struct r; };
#else
#error "sockreap: no injection support for this architecture yet (see src/arch/arch.h)"
#endif

/* The system calls the engine injects, independent of numbering. */
enum arch_sys {
	ASYS_CLOSE, ASYS_SHUTDOWN, ASYS_SETSOCKOPT, ASYS_CLOSE_RANGE, ASYS_MMAP, ASYS_MPROTECT, ASYS_MUNMAP,
	ASYS__MAX
};

/* The instruction that enters the kernel ("0f 05" on x86_64), searched for
 * in the target's executable mappings. */
extern const uint8_t arch_syscall_insn[];
extern const size_t arch_syscall_insn_len;

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
uint64_t arch_sp(const struct arch_regs *r);

/* A position-independent loop that closes n fds, one close() each, and
 * traps: the whole batch costs one ptrace stop instead of one per fd. It
 * reads n int32 fds at fds and writes each int32 result (0 or -errno) to
 * results, then executes a breakpoint. arch_set_close_loop() points the
 * registers at a copy of it at code; arch_close_loop_done() says whether
 * a stop is the final breakpoint, and how many fds were left. */
extern const uint8_t arch_close_loop[];
extern const size_t arch_close_loop_len;
void arch_set_close_loop(struct arch_regs *r, uint64_t code, uint64_t fds, uint64_t results, uint64_t n);
bool arch_close_loop_done(const struct arch_regs *r, uint64_t code, uint64_t *left);

/* A thread stopped inside an interrupted system call that the kernel will
 * restart (its return register holds one of the -ERESTART* codes): true,
 * with the call's number and its six arguments. What the call looks up
 * again on restart is in the arch-neutral table (syscalls.h) under
 * arch_sc(r, nr); the engine reads any fd sets in the target's memory. */
bool arch_interrupted_call(const struct arch_regs *r, long *nr, uint64_t args[6]);

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
