/* An architecture without injection support (every one but x86_64 today,
 * aarch64 included: see "The restart model" in arch.h). The tree builds
 * and links; discovery, the dry run, --check, --shutdown over pidfd
 * duplicates and --destroy work; whatever must happen inside a target
 * (the default reuse-safe close, --free-fd, --reset, --shutdown --inject,
 * a --shutdown where pidfd_getfd is refused) is refused at run time with
 * arch_inject_refusal()'s reason: plan refuses the rows of a method that
 * always needs it, inj_attach refuses before any ptrace request.
 *
 * Nothing below is reached once inj_attach has refused; each function
 * still answers "cannot" rather than pretend. */
#include "arch/arch.h"

#include <errno.h>

#ifndef SOCKREAP_CPU
#define SOCKREAP_CPU "this architecture"
#endif

const char arch_name[] = SOCKREAP_CPU;

const char *arch_inject_refusal(void)
{
	return "this build of sockreap cannot inject into processes on " SOCKREAP_CPU
	       " (no src/arch/ support: ARCH=none); --dry-run, --shutdown (pidfd) and --destroy work without it";
}

/* No register set: tracee_real's getregs and setregs fail (EOPNOTSUPP). */
const struct arch_regset arch_regsets[1] = { { 0, 0, 0 } };
const size_t arch_nregsets = 0;

/* No instruction: the search finds nothing. */
const struct arch_insn arch_syscall_insn = { NULL, 0, 1 };

long arch_sysno(const struct arch_regs *r, enum arch_sys sys)
{
	return -1;
}

const char *arch_mode_name(const struct arch_regs *r)
{
	return SOCKREAP_CPU " task (no injection support in this build)";
}

void arch_set_syscall(struct arch_regs *r, uint64_t insn, long nr, const uint64_t args[6])
{
}

long arch_syscall_ret(const struct arch_regs *r)
{
	return -EOPNOTSUPP;
}

uint64_t arch_ip(const struct arch_regs *r)
{
	return 0;
}

long arch_current_syscall(const struct arch_regs *r)
{
	return -1;
}

uint64_t arch_syscall_arg(const struct arch_regs *r, int i)
{
	return 0;
}

void arch_reenter_syscall(struct arch_regs *r)
{
}

bool arch_restart_fixup(struct arch_regs *r)
{
	return false;
}

bool arch_interrupted_call(const struct arch_regs *r, long *nr, uint64_t args[6])
{
	return false;
}

bool arch_call_to_enter(const struct arch_regs *r, long *nr, uint64_t args[6])
{
	return false;
}

enum sc arch_sc_native(long nr)
{
	return SC_UNKNOWN;
}

enum sc arch_sc(const struct arch_regs *r, long nr)
{
	return SC_UNKNOWN;
}

/* No executor either (src/exec/ is not built: the Makefile builds it only
 * for an ARCH with src/arch/exec_ARCH.h). */
const int arch_xstate_regset = -1;

const char *arch_exec_refusal(const char *status)
{
	return "no in-target executor for " SOCKREAP_CPU;
}

size_t arch_exec_frame_size(size_t xstate_len)
{
	return 0;
}

int arch_exec_build_frame(void *buf, size_t size, uint64_t addr, const struct arch_regs *r, uint64_t mask,
			  const void *xstate, size_t xstate_len, uint64_t *frame_sp, uint64_t *altstack)
{
	return -EOPNOTSUPP;
}

void arch_exec_set_regs(struct arch_regs *r, uint64_t entry, uint64_t stack_top, uint64_t rw, uint64_t rw_len,
			uint64_t job)
{
}

const struct arch_insn arch_guard_call = { NULL, 0, 1 }, arch_guard_sigreturn[2] = { { NULL, 0, 1 }, { NULL, 0, 1 } };

int arch_guard_frame(void *buf, size_t size, uint64_t addr, const struct arch_regs *r, uint64_t mask,
		     const void *xstate, size_t xstate_len, uint64_t sigreturn, uint64_t *sp)
{
	return -EOPNOTSUPP;
}

void arch_guard_set(struct arch_regs *r, uint64_t call, uint64_t sp, long nr, const uint64_t args[6])
{
}

uint64_t arch_sp(const struct arch_regs *r)
{
	return 0;
}

int arch_sigframe_altstack(const struct arch_regs *r, const void *buf, size_t len, uint64_t base, uint64_t *ss_sp,
			   uint64_t *ss_size, int *ss_flags)
{
	return 0;
}

bool arch_handler_entry(const struct arch_regs *r, uint64_t *addr, size_t *len)
{
	return false;
}

void arch_frame_context(const void *buf, const struct arch_regs *live, struct arch_regs *ctx)
{
	*ctx = *live;
}
