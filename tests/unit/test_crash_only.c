/* The crash-only sequence of the executor (remote.c's rp_run_inside and
 * inject.c's inj_exec) against the fake tracee, which plays the executor:
 * by the time the injection thread's registers become the executor's,
 * the mapping holds its code and a frame from which rt_sigreturn gives
 * back the thread's own context (its registers in their restarted form,
 * its signal mask, its XSAVE state), and its signals are blocked only
 * after that; a thread that restored itself (sockreap gone, or held up
 * past the executor's wait) is left as it restored itself, never rewound;
 * otherwise everything goes back exactly, the mask before the registers. */
#include "unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "fake_tracee.h"
#include "inject.h"
#include "remote.h"
#include "util.h"

#if defined(__x86_64__)
#include <ucontext.h>

#include "exec_abi.h"

extern const uint8_t __start_sockreap_exec[], __stop_sockreap_exec[];

#define MAP 0x10000000ull

static struct arch_regs before;
static uint64_t mask_before;

static int setup(void **state)
{
	fake_threads(3);
	for (int i = 0; i < F.nth; i++)
		F.regs[i].r.eflags = 0x246;
	F.regs[0].r.rip = 0x401002;
	F.mem_addr = MAP;
	F.on_call = fake_result; /* the mmap gets the mapping */
	for (size_t k = 0; k < sizeof(F.xstate); k++)
		F.xstate[k] = (uint8_t)(k * 7 + 1);
	uint64_t xcr0 = 3; /* x87 | SSE: what the legacy area holds */
	memcpy(F.xstate + 464, &xcr0, sizeof(xcr0));
	before = F.regs[0];
	mask_before = F.mask[0];
	return 0;
}

/* what the engine was to leave behind at the moment it started the
 * executor, seen by on_setregs */
static struct {
	int starts;
	bool code_there, frame_ok, mask_still_own, regs_own;
} at_start;

static void on_setregs(int i, const struct arch_regs *r)
{
	if (i != 0 || r->r.rip < MAP || r->r.rip >= MAP + sizeof(F.mem))
		return;
	at_start.starts++;
	size_t len = (size_t)(__stop_sockreap_exec - __start_sockreap_exec);
	at_start.code_there = F.mapped_len && !memcmp(F.mem, __start_sockreap_exec, len);
	/* the registers are about to be ours: the mask must still be the
	 * thread's (blocking it first would leave it running its own code
	 * with every signal blocked if sockreap died in between) */
	at_start.mask_still_own = F.mask[0] == mask_before;
	at_start.regs_own = !memcmp(&F.regs[0], &before, sizeof(before)); /* not after an injected call */
	struct exec_job job;
	memcpy(&job, F.mem + (r->r.r15 - MAP), sizeof(job));
	struct arch_regs got, want = before;
	uint64_t mask = 0;
	arch_restart_fixup(&want); /* read() restarted: rt_sigreturn applies no rules */
	want.r.orig_rax = (uint64_t)-1;
	at_start.frame_ok = fake_frame_context(job.frame_sp, r, &got, &mask) && mask == mask_before &&
			    F.exec_frame_checked && !memcmp(&got, &want, sizeof(got));
}

static void run_one_close(struct inj *t, size_t *ran)
{
	struct rprog p = { 0 };
	if (!t->nth)
		assert_int_equal(inj_attach(t, &fake_exec, 100), 0);
	assert_true(rp_close(&p, 0, 0, RP_IMM(7)) >= 0);
	int r = rp_run_inside(t, &p, ran);
	if (r != 0)
		fail_msg("rp_run_inside: %d (%s)", r, t->why);
	assert_int_equal(p.c[0].ret, 0);
	rprog_free(&p);
}

static void test_ready_before_registers_change(void **state)
{
	struct inj t = { 0 };
	size_t ran;
	memset(&at_start, 0, sizeof(at_start));
	F.on_setregs = on_setregs;
	run_one_close(&t, &ran);
	assert_int_equal(ran, 1);
	assert_int_equal(F.exec_runs, 1);
	assert_int_equal(at_start.starts, 1);
	assert_true(at_start.code_there);
	assert_true(at_start.frame_ok);
	/* blocked only once the registers are ours: here they were since
	 * the injected mmap that made the mapping */
	assert_true(at_start.mask_still_own || !at_start.regs_own);
	assert_int_equal(F.mask[0], ~0ull); /* blocked while it ran */
	assert_int_equal(t.self_restored, 0);
	/* the next batch, in the same mapping: nothing is injected before
	 * the executor starts, so the thread's own registers and mask are
	 * there until the very setregs that starts it */
	assert_int_equal(inj_pause(&t), 0);
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	assert_int_equal(F.mask[0], mask_before);
	assert_int_equal(inj_restop(&t), 0);
	memset(&at_start, 0, sizeof(at_start));
	run_one_close(&t, &ran);
	assert_int_equal(F.exec_runs, 2);
	assert_int_equal(at_start.starts, 1);
	assert_true(at_start.regs_own);
	assert_true(at_start.mask_still_own);
	assert_true(at_start.code_there);
	assert_true(at_start.frame_ok);
	F.log[0] = '\0';
	assert_int_equal(inj_release(&t), 0);
	/* back exactly, from a stop inside signal delivery; the mask first */
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	assert_int_equal(F.mask[0], mask_before);
	const char *m = strchr(F.log, 'M'), *rr = strrchr(F.log, 'R');
	assert_non_null(m);
	assert_true(!rr || m < rr);
	assert_int_equal(F.mapped_len, 0);
	for (int i = 0; i < F.nth; i++)
		assert_int_equal(F.detached[i], 1);
}

/* sockreap gone (or held up past the executor's wait): the executor
 * restores the thread from its frame. That is the thread's own context,
 * restarted, with its mask; the engine, finding it so, writes nothing back
 * over it (that would rewind it). */
static void test_self_restored_thread_left_as_it_is(void **state)
{
	struct inj t = { 0 };
	size_t ran;
	F.exec_self_restore = true;
	run_one_close(&t, &ran);
	assert_true(F.exec_frame_checked);
	assert_int_equal(t.self_restored, 1);
	struct arch_regs want = before;
	arch_restart_fixup(&want);
	want.r.orig_rax = (uint64_t)-1;
	assert_memory_equal(&F.regs[0], &want, sizeof(want));
	assert_int_equal(F.mask[0], mask_before);
	int setregs = F.nsetregs;
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(F.mask[0], mask_before);
	/* the munmap's call may set registers and put them back; what the
	 * thread holds at the end is what it restored itself */
	assert_memory_equal(&F.regs[0], &want, sizeof(want));
	assert_true(F.nsetregs >= setregs);
	for (int i = 0; i < F.nth; i++)
		assert_int_equal(F.detached[i], 1);
}

/* The scratch mapping's own calls (its mmap, its munmap) come before our
 * code exists in the target, or after it is gone: guarded, from "syscall;
 * ret" in the target's own code, with the stack pointer at a frame below
 * the main thread's red zone. The frame is in place before the registers
 * change; whenever sockreap dies after that, the thread finishes the call,
 * returns into rt_sigreturn, and is back as it was: its registers
 * (restarted), its mask, its XSAVE state, its alternate stack untouched. */
static struct {
	int starts;
	bool frame_ok, mask_still_own, altstack_kept;
} at_guard;

static struct arch_regs restarted(void)
{
	struct arch_regs want = before;
	arch_restart_fixup(&want);
	want.r.orig_rax = (uint64_t)-1;
	return want;
}

/* what the guarded call's frame must give back: restarted(), or (set)
 * the thread's registers at the call */
static bool guard_wants_live;

static void on_guard_setregs(int i, const struct arch_regs *r)
{
	if (i != 0 || r->r.rip != GUARD_CALL)
		return;
	at_guard.starts++;
	at_guard.mask_still_own = F.mask[0] == mask_before;
	uint64_t ret_to = 0, mask = 0;
	struct arch_regs got, want = guard_wants_live ? F.regs[0] : restarted();
	if (guard_wants_live)
		want.r.orig_rax = (uint64_t)-1;
	memcpy(&ret_to, F.stack + (r->r.rsp - STACK_LO), sizeof(ret_to));
	F.exec_frame_checked = false;
	at_guard.frame_ok = ret_to == GUARD_RET && fake_frame_context(r->r.rsp + 8, r, &got, &mask) &&
			    mask == mask_before && F.exec_frame_checked && !memcmp(&got, &want, sizeof(got));
	/* the kernel's stack_t: ss_sp, then ss_flags */
	int32_t ss_flags;
	memcpy(&ss_flags, F.stack + (r->r.rsp + 8 + offsetof(ucontext_t, uc_stack.ss_flags) - STACK_LO),
	       sizeof(ss_flags));
	at_guard.altstack_kept = ss_flags != 0 && ss_flags != SS_ONSTACK && ss_flags != SS_DISABLE;
}

static int setup_guard(void **state)
{
	setup(state);
	F.gadgets = true;
	F.regs[0].r.rsp = STACK_HI - 256;
	before = F.regs[0];
	memset(F.stack, 0xa5, sizeof(F.stack));
	memset(&at_guard, 0, sizeof(at_guard));
	guard_wants_live = false;
	F.on_setregs = on_guard_setregs;
	return 0;
}

/* The executor restored the thread itself (sockreap held up) and it ran
 * on: the munmap's frame is made again, from where it is now, never the
 * mmap's from before (a death in the munmap would rewind it). */
static void test_guard_frame_after_self_restore(void **state)
{
	struct inj t = { 0 };
	size_t ran;
	F.exec_self_restore = F.exec_runs_on = true;
	run_one_close(&t, &ran);
	assert_int_equal(t.self_restored, 1);
	assert_int_equal(at_guard.starts, 1);
	assert_true(at_guard.frame_ok);
	struct arch_regs now = F.regs[0];
	memset(&at_guard, 0, sizeof(at_guard));
	guard_wants_live = true;
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(t.nguarded, 2);
	assert_int_equal(at_guard.starts, 1);
	assert_true(at_guard.frame_ok);
	assert_memory_equal(&F.regs[0], &now, sizeof(now));
}

static void test_mapping_calls_guarded(void **state)
{
	struct inj t = { 0 };
	uint64_t addr;
	assert_int_equal(inj_attach(&t, &fake_exec, 100), 0);
	assert_int_equal(inj_scratch(&t, 256 * 1024, PROT_READ | PROT_EXEC, &addr), 0);
	assert_int_equal(addr, MAP);
	assert_int_equal(t.nguarded, 1);
	assert_int_equal(t.nunguarded, 0);
	assert_int_equal(at_guard.starts, 1);
	assert_true(at_guard.frame_ok);
	assert_true(at_guard.mask_still_own);
	assert_true(at_guard.altstack_kept);
	assert_int_equal(F.regs[0].r.rip, GUARD_CALL + 2);
	/* nothing written from the red zone up */
	for (uint64_t a = before.r.rsp - ARCH_RED_ZONE; a < STACK_HI; a++)
		if (F.stack[a - STACK_LO] != 0xa5)
			fail_msg("the stack was written at %#" PRIx64 ", above the red zone's end", a);
	/* sockreap dies now, the mapping made: the thread returns into
	 * rt_sigreturn, and is itself again */
	struct arch_regs now = F.regs[0], want = restarted();
	assert_true(fake_run_on(0));
	assert_memory_equal(&F.regs[0], &want, sizeof(want));
	assert_int_equal(F.mask[0], mask_before);
	assert_true(F.exec_frame_checked);
	/* ... or before the call ran: it runs, then the same */
	F.regs[0] = now;
	F.regs[0].r.rip = GUARD_CALL;
	F.regs[0].r.rax = (uint64_t)arch_sysno(&before, ASYS_MUNMAP);
	F.regs[0].r.rdi = MAP;
	assert_true(fake_run_on(0));
	assert_memory_equal(&F.regs[0], &want, sizeof(want));
	assert_int_equal(F.mapped_len, 0);
	/* sockreap lives on: its munmap, guarded too, then all back */
	F.regs[0] = now;
	F.mapped_len = 256 * 1024;
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(t.nguarded, 2);
	assert_int_equal(t.nunguarded, 0);
	assert_int_equal(F.mapped_len, 0);
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
	assert_int_equal(F.mask[0], mask_before);
}

/* Where the frame cannot go (no gadgets in the code, a stack pointer
 * outside [stack], a shadow stack that would fault at the "ret"), the
 * calls are plain ones, and say so. */
static void test_mapping_calls_unguarded(void **state)
{
	for (int c = 0; c < 3; c++) {
		struct inj t = { 0 };
		uint64_t addr;
		setup_guard(state);
		if (c == 0)
			F.gadgets = false;
		else if (c == 1)
			F.regs[0].r.rsp = 0x12345000;
		else
			F.shstk = true;
		before = F.regs[0];
		assert_int_equal(inj_attach(&t, &fake_exec, 100), 0);
		assert_int_equal(inj_scratch(&t, 256 * 1024, PROT_READ | PROT_EXEC, &addr), 0);
		assert_int_equal(t.nguarded, 0);
		assert_int_equal(t.nunguarded, 1);
		assert_int_equal(at_guard.starts, 0);
		assert_int_equal(F.regs[0].r.rip, INSN + 2);
		assert_false(fake_run_on(0));
		assert_int_equal(inj_release(&t), 0);
		assert_memory_equal(&F.regs[0], &before, sizeof(before));
	}
}

/* A signal frame as the kernel writes it, at addr on the main stack, with
 * the alternate stack it saved */
static void put_sigframe(uint64_t addr, uint64_t ss_sp, int ss_flags, uint64_t ss_size)
{
	ucontext_t uc;
	memset(&uc, 0, sizeof(uc));
	uc.uc_flags = 7; /* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
	uc.uc_stack.ss_sp = (void *)(uintptr_t)ss_sp;
	uc.uc_stack.ss_flags = ss_flags;
	uc.uc_stack.ss_size = ss_size;
	uc.uc_mcontext.gregs[REG_CSGSFS] = (greg_t)((F.regs[0].r.cs & 0xffff) | (F.regs[0].r.ss & 0xffff) << 48);
	memcpy(F.stack + (addr + 8 - STACK_LO), &uc, offsetof(ucontext_t, uc_mcontext) + sizeof(uc.uc_mcontext.gregs));
}

static void scratch_once(struct inj *t)
{
	uint64_t addr;
	before = F.regs[0];
	assert_int_equal(inj_attach(t, &fake_exec, 100), 0);
	assert_int_equal(inj_scratch(t, 256 * 1024, PROT_READ | PROT_EXEC, &addr), 0);
}

/* The main thread runs a signal handler on an alternate stack that is an
 * array on its own stack: the frame goes there only if it fits in that
 * alternate stack (below it is live memory); else the call is plain. */
static void test_guard_on_altstack_in_stack(void **state)
{
	for (int c = 0; c < 4; c++) {
		struct inj t = { 0 };
		setup_guard(state);
		F.regs[0].r.cs = 0x33, F.regs[0].r.ss = 0x2b;
		uint64_t sp = STACK_LO + 8192; /* 8 past a 16-byte boundary, as at a handler's entry */
		F.regs[0].r.rsp = sp - 256;
		uint64_t lo = c == 1 ? STACK_LO : sp - 1024; /* 1: room enough in it */
		put_sigframe(sp - 8, lo, c == 2 ? SS_DISABLE : SS_ONSTACK, 4096);
		if (c == 3) /* not the kernel's frame: no code segment of the thread's */
			put_sigframe(sp - 8, lo, SS_ONSTACK, 4096), F.stack[sp + 40 + 144 - STACK_LO] ^= 1;
		scratch_once(&t);
		bool want_guarded = c != 0;
		assert_int_equal(t.nguarded, want_guarded);
		assert_int_equal(t.nunguarded, !want_guarded);
		if (!want_guarded) {
			assert_non_null(t.guard_why);
			assert_non_null(strstr(t.guard_why, "alternate stack"));
			for (uint64_t a = STACK_LO; a < lo; a++)
				if (F.stack[a - STACK_LO] != 0xa5)
					fail_msg("written below the alternate stack at %#" PRIx64, a);
		}
		assert_int_equal(inj_release(&t), 0);
		assert_memory_equal(&F.regs[0], &before, sizeof(before));
	}
}

/* Gadgets only in code that nothing rewrites: not in a shared mapping, a
 * memfd's or a deleted file's (a JIT's double-mapped view), and once the
 * threads ran, only if their mapping is still such code. */
static void test_guard_gadgets_fixed_code(void **state)
{
	static const char *const maps[] = {
		"00400000-00401000 r-xs 00000000 08:01 1 /bin/app\n",
		"00400000-00401000 r-xp 00000000 00:01 1 /memfd:jit (deleted)\n",
		"00400000-00401000 r-xp 00000000 08:01 1 /bin/app (deleted)\n",
		"00400000-00401000 r-xp 00000000 00:15 1 /dev/shm/jit\n",
		"00400000-00401000 rwxp 00000000 08:01 1 /bin/app\n",
	};
	for (size_t c = 0; c < ARRAY_SIZE(maps); c++) {
		struct inj t = { 0 };
		char text[256];
		setup_guard(state);
		snprintf(text, sizeof(text), "%s00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n", maps[c]);
		F.maps = text;
		scratch_once(&t);
		assert_int_equal(t.nguarded, 0);
		assert_int_equal(t.nunguarded, 1);
		assert_int_equal(inj_release(&t), 0);
	}
	/* fixed code at the first stop; between batches it is replaced by
	 * anonymous memory with the same bytes: the munmap is plain */
	struct inj t = { 0 };
	setup_guard(state);
	scratch_once(&t);
	assert_int_equal(t.nguarded, 1);
	F.maps = "00400000-00401000 r-xp 00000000 00:00 0 \n00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n";
	assert_int_equal(inj_pause(&t), 0);
	assert_int_equal(inj_restop(&t), 0);
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(t.nguarded, 1);
	assert_int_equal(t.nunguarded, 1);
	assert_non_null(strstr(t.guard_why, "gadgets"));
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_guard_on_altstack_in_stack, setup_guard),
		cmocka_unit_test_setup(test_guard_gadgets_fixed_code, setup_guard),
		cmocka_unit_test_setup(test_ready_before_registers_change, setup),
		cmocka_unit_test_setup(test_self_restored_thread_left_as_it_is, setup),
		cmocka_unit_test_setup(test_mapping_calls_guarded, setup_guard),
		cmocka_unit_test_setup(test_mapping_calls_unguarded, setup_guard),
		cmocka_unit_test_setup(test_guard_frame_after_self_restore, setup_guard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
static void test_not_here(void **state)
{
	skip(); /* the fake plays the x86_64 executor only */
}

/* A signal frame as the kernel writes it, at addr on the main stack, with
 * the alternate stack it saved */
static void put_sigframe(uint64_t addr, uint64_t ss_sp, int ss_flags, uint64_t ss_size)
{
	ucontext_t uc;
	memset(&uc, 0, sizeof(uc));
	uc.uc_flags = 7; /* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
	uc.uc_stack.ss_sp = (void *)(uintptr_t)ss_sp;
	uc.uc_stack.ss_flags = ss_flags;
	uc.uc_stack.ss_size = ss_size;
	uc.uc_mcontext.gregs[REG_CSGSFS] = (greg_t)((F.regs[0].r.cs & 0xffff) | (F.regs[0].r.ss & 0xffff) << 48);
	memcpy(F.stack + (addr + 8 - STACK_LO), &uc, offsetof(ucontext_t, uc_mcontext) + sizeof(uc.uc_mcontext.gregs));
}

static void scratch_once(struct inj *t)
{
	uint64_t addr;
	before = F.regs[0];
	assert_int_equal(inj_attach(t, &fake_exec, 100), 0);
	assert_int_equal(inj_scratch(t, 256 * 1024, PROT_READ | PROT_EXEC, &addr), 0);
}

/* The main thread runs a signal handler on an alternate stack that is an
 * array on its own stack: the frame goes there only if it fits in that
 * alternate stack (below it is live memory); else the call is plain. */
static void test_guard_on_altstack_in_stack(void **state)
{
	for (int c = 0; c < 4; c++) {
		struct inj t = { 0 };
		setup_guard(state);
		F.regs[0].r.cs = 0x33, F.regs[0].r.ss = 0x2b;
		uint64_t sp = STACK_LO + 8192; /* 8 past a 16-byte boundary, as at a handler's entry */
		F.regs[0].r.rsp = sp - 256;
		uint64_t lo = c == 1 ? STACK_LO : sp - 1024; /* 1: room enough in it */
		put_sigframe(sp - 8, lo, c == 2 ? SS_DISABLE : SS_ONSTACK, 4096);
		if (c == 3) /* not the kernel's frame: no code segment of the thread's */
			put_sigframe(sp - 8, lo, SS_ONSTACK, 4096), F.stack[sp + 40 + 144 - STACK_LO] ^= 1;
		scratch_once(&t);
		bool want_guarded = c != 0;
		assert_int_equal(t.nguarded, want_guarded);
		assert_int_equal(t.nunguarded, !want_guarded);
		if (!want_guarded) {
			assert_non_null(t.guard_why);
			assert_non_null(strstr(t.guard_why, "alternate stack"));
			for (uint64_t a = STACK_LO; a < lo; a++)
				if (F.stack[a - STACK_LO] != 0xa5)
					fail_msg("written below the alternate stack at %#" PRIx64, a);
		}
		assert_int_equal(inj_release(&t), 0);
		assert_memory_equal(&F.regs[0], &before, sizeof(before));
	}
}

/* Gadgets only in code that nothing rewrites: not in a shared mapping, a
 * memfd's or a deleted file's (a JIT's double-mapped view), and once the
 * threads ran, only if their mapping is still such code. */
static void test_guard_gadgets_fixed_code(void **state)
{
	static const char *const maps[] = {
		"00400000-00401000 r-xs 00000000 08:01 1 /bin/app\n",
		"00400000-00401000 r-xp 00000000 00:01 1 /memfd:jit (deleted)\n",
		"00400000-00401000 r-xp 00000000 08:01 1 /bin/app (deleted)\n",
		"00400000-00401000 r-xp 00000000 00:15 1 /dev/shm/jit\n",
		"00400000-00401000 rwxp 00000000 08:01 1 /bin/app\n",
	};
	for (size_t c = 0; c < ARRAY_SIZE(maps); c++) {
		struct inj t = { 0 };
		char text[256];
		setup_guard(state);
		snprintf(text, sizeof(text), "%s00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n", maps[c]);
		F.maps = text;
		scratch_once(&t);
		assert_int_equal(t.nguarded, 0);
		assert_int_equal(t.nunguarded, 1);
		assert_int_equal(inj_release(&t), 0);
	}
	/* fixed code at the first stop; between batches it is replaced by
	 * anonymous memory with the same bytes: the munmap is plain */
	struct inj t = { 0 };
	setup_guard(state);
	scratch_once(&t);
	assert_int_equal(t.nguarded, 1);
	F.maps = "00400000-00401000 r-xp 00000000 00:00 0 \n00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n";
	assert_int_equal(inj_pause(&t), 0);
	assert_int_equal(inj_restop(&t), 0);
	assert_int_equal(inj_release(&t), 0);
	assert_int_equal(t.nguarded, 1);
	assert_int_equal(t.nunguarded, 1);
	assert_non_null(strstr(t.guard_why, "gadgets"));
	assert_memory_equal(&F.regs[0], &before, sizeof(before));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_guard_on_altstack_in_stack, setup_guard),
		cmocka_unit_test_setup(test_guard_gadgets_fixed_code, setup_guard), cmocka_unit_test(test_not_here) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
