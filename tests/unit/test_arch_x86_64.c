/* x86_64: the kernel's restart rules as the engine applies them on restore,
 * and injected-call register setup that touches only what it must; the
 * syscall instruction as the assembler made it; the register set. */
#include "unit.h"

#include <asm/unistd_64.h>
#include <cpuid.h>
#include <elf.h>
#include <signal.h>
#include <stdbool.h>
#include <ucontext.h>
#include <string.h>

#include "arch/arch.h"

static struct arch_regs sample(long orig, long rax)
{
	struct arch_regs r;
	uint64_t *w = (uint64_t *)&r.r;
	for (size_t k = 0; k < sizeof(r.r) / 8; k++)
		w[k] = 0x0101010101010101ull * (uint64_t)(k + 1);
	r.r.cs = 0x33;
	r.r.orig_rax = (uint64_t)orig;
	r.r.rax = (uint64_t)rax;
	r.r.rip = 0x401002;
	return r;
}

static void test_restart_table(void **state)
{
	static const struct { long orig, rax; bool changes; long new_rax; } cases[] = {
		{ __NR_read, -K_ERESTARTSYS, true, __NR_read },
		{ __NR_accept, -K_ERESTARTNOINTR, true, __NR_accept },
		{ __NR_pause, -K_ERESTARTNOHAND, true, __NR_pause },
		{ __NR_nanosleep, -K_ERESTART_RESTARTBLOCK, true, __NR_restart_syscall },
		{ __NR_ioctl, -K_ENOIOCTLCMD, false, 0 },
		{ __NR_read, -EINTR, false, 0 },
		{ __NR_read, 0, false, 0 },
		{ __NR_read, 42, false, 0 },
		{ -1, -K_ERESTARTSYS, false, 0 }, /* not in a system call */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct arch_regs r = sample(cases[i].orig, cases[i].rax), before = r;
		assert_int_equal(arch_restart_fixup(&r), cases[i].changes);
		if (!cases[i].changes) {
			assert_memory_equal(&r, &before, sizeof(r));
			continue;
		}
		assert_int_equal((long)r.r.rax, cases[i].new_rax);
		assert_int_equal(r.r.rip, 0x401000);
		assert_int_equal((long)r.r.orig_rax, -1);
		/* nothing else moved */
		before.r.rax = r.r.rax;
		before.r.rip = r.r.rip;
		before.r.orig_rax = r.r.orig_rax;
		assert_memory_equal(&r, &before, sizeof(r));
		/* applying it twice changes nothing more */
		assert_false(arch_restart_fixup(&r));
	}
}

static void test_set_syscall(void **state)
{
	struct arch_regs r = sample(__NR_read, -K_ERESTARTSYS), before = r;
	static const uint64_t args[6] = { 1, 2, 3, 4, 5, 6 };
	arch_set_syscall(&r, 0x7000, __NR_close, args);
	assert_int_equal(r.r.rip, 0x7000);
	assert_int_equal(r.r.rax, __NR_close);
	assert_int_equal((long)r.r.orig_rax, -1);
	assert_int_equal(r.r.rdi, 1);
	assert_int_equal(r.r.rsi, 2);
	assert_int_equal(r.r.rdx, 3);
	assert_int_equal(r.r.r10, 4);
	assert_int_equal(r.r.r8, 5);
	assert_int_equal(r.r.r9, 6);
	before.r.rip = r.r.rip;
	before.r.rax = r.r.rax;
	before.r.orig_rax = r.r.orig_rax;
	before.r.rdi = r.r.rdi;
	before.r.rsi = r.r.rsi;
	before.r.rdx = r.r.rdx;
	before.r.r10 = r.r.r10;
	before.r.r8 = r.r.r8;
	before.r.r9 = r.r.r9;
	before.r.eflags &= ~0x100ull; /* but TF: test_own_flags_cleared */
	assert_memory_equal(&r, &before, sizeof(r)); /* rsp, rbx, rbp, r12-15, flags, segments kept */
}

/* A program that steps itself (TF set) or runs with DF or AC set when
 * stopped: none of them holds while the engine's syscall or executor
 * runs (TF would make every instruction of ours trap); the rest of the
 * flags are kept, and the application's come back with its registers. */
static void test_own_flags_cleared(void **state)
{
	const uint64_t tf = 0x100, df = 0x400, ac = 0x40000, kept = 0x202 | 0x1 | 0x80; /* IF, bit 1, CF, SF */
	struct arch_regs r = sample(__NR_read, -K_ERESTARTSYS);
	static const uint64_t args[6] = { 1, 2, 3, 4, 5, 6 };
	r.r.eflags = kept | tf | df | ac;
	arch_set_syscall(&r, 0x7000, __NR_close, args);
	assert_int_equal(r.r.eflags & tf, 0);
	assert_int_equal(r.r.eflags & kept, kept);
	r.r.eflags = kept | tf | df | ac;
	arch_exec_set_regs(&r, 0x9000, 0xa000, 0xb000, 4096, 0xc000);
	assert_int_equal(r.r.eflags, kept);
}

static void test_sysno_and_mode(void **state)
{
	struct arch_regs r = sample(-1, 0);
	assert_int_equal(arch_sysno(&r, ASYS_CLOSE), __NR_close);
	assert_int_equal(arch_sysno(&r, ASYS_SHUTDOWN), __NR_shutdown);
	assert_int_equal(arch_sysno(&r, ASYS_CLOSE_RANGE), 436);
	r.r.cs = 0x23; /* ia32 compat task */
	assert_int_equal(arch_sysno(&r, ASYS_CLOSE), -1);
	assert_non_null(strstr(arch_mode_name(&r), "32-bit"));
}

/* A thread inside a call the kernel will restart: its number and args;
 * what those mean is in the arch-neutral table (test_syscalls.c). */
static void test_interrupted_call(void **state)
{
	long nr = -1;
	uint64_t args[6];
	struct arch_regs r = sample(__NR_splice, -K_ERESTARTSYS);
	r.r.rdi = 3;
	r.r.rsi = 4;
	r.r.rdx = 9;
	r.r.r10 = 10;
	r.r.r8 = 11;
	r.r.r9 = 12;
	assert_true(arch_interrupted_call(&r, &nr, args));
	assert_int_equal(nr, __NR_splice);
	assert_int_equal(args[0], 3);
	assert_int_equal(args[1], 4);
	assert_int_equal(args[2], 9);
	assert_int_equal(args[3], 10); /* the fourth argument is r10, not rcx */
	assert_int_equal(args[4], 11);
	assert_int_equal(args[5], 12);
	assert_int_equal(arch_sc(&r, nr), SC_SPLICE);
	r = sample(__NR_read, 5); /* finished: nothing will be looked up */
	assert_false(arch_interrupted_call(&r, &nr, args));
	r = sample(__NR_ioctl, -K_ENOIOCTLCMD); /* never restarted */
	assert_false(arch_interrupted_call(&r, &nr, args));
	r = sample(-1, -K_ERESTARTSYS); /* not in a system call */
	assert_false(arch_interrupted_call(&r, &nr, args));
	r = sample(__NR_poll, -K_ERESTART_RESTARTBLOCK);
	assert_true(arch_interrupted_call(&r, &nr, args));
	assert_int_equal(arch_sc(&r, nr), SC_POLL);
	r.r.cs = 0x23; /* ia32 numbers mean other calls: unknown, not misread */
	assert_int_equal(arch_sc(&r, __NR_poll), SC_UNKNOWN);
}

/* The frame rt_sigreturn reads in the crash path: the registers at their
 * sigcontext offsets, the mask, 64-byte aligned XSAVE state with both
 * magic words, the stack pointer 8 bytes into the frame. */
static void test_exec_frame(void **state)
{
	struct arch_regs r;
	uint8_t xs[832], buf[2048];
	uint64_t sp, alt, base = 0x100008;
	memset(&r, 0, sizeof(r));
	r.r.rax = 0x1111, r.r.rip = 0x401000, r.r.rsp = 0x7ffe0000, r.r.r15 = 0xf15, r.r.cs = 0x33, r.r.ss = 0x2b;
	r.r.eflags = 0x246;
	memset(xs, 0xab, sizeof(xs));
	const uint64_t xcr0 = 0xe7;
	memcpy(xs + 464, &xcr0, sizeof(xcr0));
	assert_true(arch_exec_frame_size(sizeof(xs)) <= sizeof(buf));
	assert_int_equal(arch_exec_build_frame(buf, sizeof(buf), base, &r, 0x4000, xs, sizeof(xs), &sp, &alt), 0);
	uint64_t frame = sp - 8;
	assert_int_equal(frame % 16, 0);
	const uint8_t *f = buf + (frame - base);
	uint64_t v;
	/* ucontext at +8: uc_flags, uc_link, uc_stack (24), then sigcontext */
	const uint8_t *sc = f + 8 + 8 + 8 + 24;
	memcpy(&v, sc + 13 * 8, 8); assert_int_equal(v, 0x1111);       /* rax */
	memcpy(&v, sc + 16 * 8, 8); assert_int_equal(v, 0x401000);     /* rip */
	memcpy(&v, sc + 15 * 8, 8); assert_int_equal(v, 0x7ffe0000);   /* rsp */
	memcpy(&v, sc + 7 * 8, 8); assert_int_equal(v, 0xf15);         /* r15 */
	memcpy(&v, sc + 17 * 8, 8); assert_int_equal(v, 0x246);        /* eflags */
	uint16_t seg[4];
	memcpy(seg, sc + 18 * 8, sizeof(seg));
	assert_int_equal(seg[0], 0x33); /* cs */
	assert_int_equal(seg[3], 0x2b); /* ss */
	uint64_t fp;
	memcpy(&fp, sc + 18 * 8 + 8 + 4 * 8, 8);
	assert_int_equal(fp % 64, 0);
	memcpy(&v, sc + 256, 8); assert_int_equal(v, 0x4000);          /* uc_sigmask */
	assert_int_equal(alt, frame + 8 + 16);                          /* uc_stack */
	const uint8_t *x = buf + (fp - base);
	uint32_t m1, ext, xsize, m2;
	memcpy(&m1, x + 464, 4);
	memcpy(&ext, x + 468, 4);
	memcpy(&v, x + 472, 8);
	memcpy(&xsize, x + 480, 4);
	memcpy(&m2, x + sizeof(xs), 4);
	assert_int_equal(m1, 0x46505853);
	assert_int_equal(ext, sizeof(xs) + 4);
	assert_int_equal(v, xcr0);
	assert_int_equal(xsize, sizeof(xs));
	assert_int_equal(m2, 0x46505845);
	assert_int_equal(x[0], 0xab); /* the state itself, as ptrace gave it */
	/* too small a buffer: refused, not overrun */
	assert_int_equal(arch_exec_build_frame(buf, 600, base, &r, 0, xs, sizeof(xs), &sp, &alt), -EINVAL);
}

/* The frame's XSAVE part is the state in use, never more: the kernel takes
 * a frame whole only if its size is at most the thread's own, which for a
 * thread that has not used AMX is smaller than the area ptrace gives on an
 * AMX machine (else it restores x87/SSE only). A 12 KiB area from ptrace
 * with x87, SSE and AVX in use becomes the legacy area, the header and AVX's
 * component, with its magic word right after. */
static void test_exec_frame_xstate_in_use(void **state)
{
	static uint8_t xs[12288], buf[16384];
	struct arch_regs r;
	uint64_t sp, alt, base = 0x100000;
	unsigned avx_size = 0, avx_off = 0, ecx, edx;
	if (!__get_cpuid_count(0xd, 2, &avx_size, &avx_off, &ecx, &edx) || !avx_size)
		skip(); /* no AVX component on this CPU */
	memset(&r, 0, sizeof(r));
	r.r.cs = 0x33, r.r.ss = 0x2b;
	for (int c = 0; c < 3; c++) {
		memset(xs, 0xab, sizeof(xs));
		const uint64_t xcr0 = 0x600e7, /* x87 SSE AVX, AVX-512's three, AMX's two */
			bv = c == 0 ? 0x3 : c == 1 ? 0x7 : 0x40007, /* 2: tiles in use, not placed below */
			zero = 0;
		memcpy(xs + 464, &xcr0, sizeof(xcr0));
		memcpy(xs + 512, &bv, sizeof(bv));
		memcpy(xs + 520, &zero, sizeof(zero));
		assert_int_equal(arch_exec_build_frame(buf, sizeof(buf), base, &r, 0, xs, sizeof(xs), &sp, &alt), 0);
		uint64_t fp;
		memcpy(&fp, buf + (sp - 8 - base) + 48 + 18 * 8 + 8 + 4 * 8, 8);
		const uint8_t *x = buf + (fp - base);
		uint32_t ext, xsize, m2;
		uint64_t features;
		memcpy(&ext, x + 468, 4);
		memcpy(&features, x + 472, 8);
		memcpy(&xsize, x + 480, 4);
		size_t want = c == 0 ? 576 : c == 1 ? avx_off + avx_size : sizeof(xs);
		unsigned tsize, toff;
		if (c == 2 && __get_cpuid_count(0xd, 18, &tsize, &toff, &ecx, &edx) && tsize && toff + tsize <= sizeof(xs))
			want = toff + tsize; /* this CPU has AMX tiles: placed */
		assert_int_equal(xsize, want);
		assert_int_equal(ext, want + 4);
		assert_int_equal(features, c == 2 && want == sizeof(xs) ? xcr0 : (bv & xcr0));
		memcpy(&m2, x + want, 4);
		assert_int_equal(m2, 0x46505845);
		assert_int_equal(x[want - 1], 0xab); /* the state itself, as ptrace gave it */
	}
}

static void test_exec_refusal(void **state)
{
	assert_null(arch_exec_refusal("Name:\tx\nx86_Thread_features:\t\nx86_Thread_features_locked:\tshstk\n"));
	assert_non_null(arch_exec_refusal("x86_Thread_features:\tshstk wrss\n"));
	assert_null(arch_exec_refusal("Name:\tx\n"));
}

/* "syscall" is 0f 05 (Intel SDM), anywhere; the registers are NT_PRSTATUS. */
static void test_insn_and_regsets(void **state)
{
	static const uint8_t sdm[] = { 0x0f, 0x05 };
	assert_int_equal(arch_syscall_insn.len, sizeof(sdm));
	assert_memory_equal(arch_syscall_insn.bytes, sdm, sizeof(sdm));
	assert_int_equal(arch_syscall_insn.align, 1);
	assert_int_equal(arch_nregsets, 1);
	assert_int_equal(arch_regsets[0].type, NT_PRSTATUS);
	assert_int_equal(arch_regsets[0].size, sizeof(struct user_regs_struct));
	assert_null(arch_inject_refusal());
	assert_string_equal(arch_name, "x86_64");
}

/* A real signal frame, as this kernel builds it: the registers at the
 * handler's first instruction (saved by an assembly entry before any C
 * code moves them) are recognised, and the saved context read from the
 * place arch_handler_entry names is the one the kernel gave the handler
 * (uc_mcontext). Then registers that are not a handler's entry are not. */
/* written by handler_entry_asm: not static, so that its symbols are there */
__attribute__((visibility("hidden"), used)) uint64_t entry_rsp, entry_rsi, entry_rdx, entry_rax;
static struct {
	bool entry, other;
	uint64_t addr, want_addr;
	size_t len;
	struct arch_regs ctx;
	greg_t want[NGREG];
} seen;
void handler_entry_c(int sig, siginfo_t *info, void *uc);
void handler_entry_asm(int sig, siginfo_t *info, void *uc);
__asm__(".text\n"
	".globl handler_entry_asm\n"
	"handler_entry_asm:\n\t"
	"movq %rsp, entry_rsp(%rip)\n\t"
	"movq %rsi, entry_rsi(%rip)\n\t"
	"movq %rdx, entry_rdx(%rip)\n\t"
	"movq %rax, entry_rax(%rip)\n\t"
	"jmp handler_entry_c\n");

__attribute__((used)) void handler_entry_c(int sig, siginfo_t *info, void *ucv)
{
	ucontext_t *uc = ucv;
	struct arch_regs live;
	memset(&live, 0, sizeof(live));
	live.r.cs = 0x33;
	live.r.rsp = entry_rsp, live.r.rsi = entry_rsi, live.r.rdx = entry_rdx, live.r.rax = entry_rax;
	live.r.rip = (uint64_t)(uintptr_t)handler_entry_asm;
	seen.want_addr = (uint64_t)(uintptr_t)&uc->uc_mcontext;
	memcpy(seen.want, uc->uc_mcontext.gregs, sizeof(seen.want));
	seen.entry = arch_handler_entry(&live, &seen.addr, &seen.len);
	if (seen.entry)
		arch_frame_context((const void *)(uintptr_t)seen.addr, &live, &seen.ctx);
	struct arch_regs other = live;
	other.r.rax = 1; /* a handler's first instruction has rax 0 */
	uint64_t a;
	size_t l;
	seen.other = arch_handler_entry(&other, &a, &l);
	other = live;
	other.r.rdx += 8;
	seen.other |= arch_handler_entry(&other, &a, &l);
	other = live;
	other.r.cs = 0x23; /* a 32-bit frame is laid out otherwise */
	seen.other |= arch_handler_entry(&other, &a, &l);
}

static void test_handler_entry_real_frame(void **state)
{
	struct sigaction sa = { .sa_sigaction = handler_entry_asm, .sa_flags = SA_SIGINFO }, old;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);
	memset(&seen, 0, sizeof(seen));
	raise(SIGUSR2);
	sigaction(SIGUSR2, &old, NULL);
	assert_true(seen.entry);
	assert_false(seen.other);
	assert_int_equal(seen.addr, seen.want_addr);
	assert_true(seen.len >= sizeof(greg_t) * 18);
	assert_int_equal(seen.ctx.r.rip, (uint64_t)seen.want[REG_RIP]);
	assert_int_equal(seen.ctx.r.rsp, (uint64_t)seen.want[REG_RSP]);
	assert_int_equal(seen.ctx.r.rax, (uint64_t)seen.want[REG_RAX]);
	assert_int_equal(seen.ctx.r.rdi, (uint64_t)seen.want[REG_RDI]);
	assert_int_equal(seen.ctx.r.rsi, (uint64_t)seen.want[REG_RSI]);
	assert_int_equal(seen.ctx.r.rdx, (uint64_t)seen.want[REG_RDX]);
	assert_int_equal(seen.ctx.r.r10, (uint64_t)seen.want[REG_R10]);
	assert_int_equal(seen.ctx.r.r15, (uint64_t)seen.want[REG_R15]);
	assert_int_equal(seen.ctx.r.eflags, (uint64_t)seen.want[REG_EFL]);
	assert_int_equal((int64_t)seen.ctx.r.orig_rax, -1); /* the context is in no call */
	assert_int_equal(seen.ctx.r.cs, 0x33);                /* the rest: the live registers */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_table), cmocka_unit_test(test_set_syscall), cmocka_unit_test(test_own_flags_cleared),
		cmocka_unit_test(test_sysno_and_mode), cmocka_unit_test(test_interrupted_call),
		cmocka_unit_test(test_exec_frame), cmocka_unit_test(test_exec_frame_xstate_in_use),
		cmocka_unit_test(test_exec_refusal),
		cmocka_unit_test(test_insn_and_regsets), cmocka_unit_test(test_handler_entry_real_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
