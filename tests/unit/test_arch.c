/* The architecture seam, on every architecture: the syscall-instruction
 * search honours the instruction's size and alignment (against a fixture
 * address space), the register sets describe struct arch_regs, the page
 * size is the kernel's, and a build without injection (none.c) refuses
 * before any ptrace request. x86_64's own file: test_arch_x86_64.c. */
#include "unit.h"

#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "inject.h"
#include "util.h"

/* The fixture's memory: zeros everywhere, but the patterns placed. */
#define MAX_PUT 4
static struct { uint64_t addr; uint8_t bytes[8]; size_t len; } put[MAX_PUT];
static size_t nput;
static int nread;

static void place(uint64_t addr, const uint8_t *bytes, size_t len)
{
	assert_true(nput < MAX_PUT && len <= sizeof(put[0].bytes));
	put[nput].addr = addr;
	memcpy(put[nput].bytes, bytes, len);
	put[nput++].len = len;
}

static int f_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	nread++;
	memset(buf, 0, len);
	for (size_t i = 0; i < nput; i++)
		for (size_t k = 0; k < put[i].len; k++)
			if (put[i].addr + k >= addr && put[i].addr + k < addr + len)
				((uint8_t *)buf)[put[i].addr + k - addr] = put[i].bytes[k];
	return 0;
}

static const struct tracee_ops fake = { .read_mem = f_read_mem };

static const char maps[] = "400000-420000 r-xp 00000000 08:01 1234 /usr/bin/app\n"
			   "7000-8000 r-xp 00000000 00:00 0 [vdso]\n"
			   "9000-a000 rw-p 00000000 00:00 0 [heap]\n";

static int reset(void **state)
{
	nput = 0;
	nread = 0;
	return 0;
}

/* aarch64's "svc #0" (d4000001), as the seam describes it: 4 bytes, 4-aligned. */
static const uint8_t svc[] = { 0x01, 0x00, 0x00, 0xd4 };
static const struct arch_insn svc_insn = { svc, sizeof(svc), 4 };
static const uint8_t sysc[] = { 0x0f, 0x05 };
static const struct arch_insn syscall_insn = { sysc, sizeof(sysc), 1 };

static void test_find_aligned(void **state)
{
	uint64_t at = 0;
	/* bytes that look like svc at an address no instruction can start at
	 * are not one: the vdso has none, the program's code has one */
	place(0x7002, svc, sizeof(svc));
	place(0x400106, svc, sizeof(svc));
	place(0x400204, svc, sizeof(svc));
	assert_int_equal(inj_find_insn(&fake, 1, maps, &svc_insn, &at), 0);
	assert_int_equal(at, 0x400204);
	/* an aligned one in the vdso comes first */
	place(0x7010, svc, sizeof(svc));
	assert_int_equal(inj_find_insn(&fake, 1, maps, &svc_insn, &at), 0);
	assert_int_equal(at, 0x7010);
}

static void test_find_unaligned(void **state)
{
	uint64_t at = 0;
	/* x86_64's syscall may start anywhere */
	place(0x7003, sysc, sizeof(sysc));
	assert_int_equal(inj_find_insn(&fake, 1, maps, &syscall_insn, &at), 0);
	assert_int_equal(at, 0x7003);
}

/* The mapping is read in 64 KiB chunks: an instruction across a chunk's
 * end is found, and a 4-byte one that only matches across two chunks at
 * an unaligned address is not. */
static void test_find_across_chunks(void **state)
{
	uint64_t at = 0;
	place(0x400000 + 65535, sysc, sizeof(sysc));
	assert_int_equal(inj_find_insn(&fake, 1, "400000-420000 r-xp 0 0 0 /app\n", &syscall_insn, &at), 0);
	assert_int_equal(at, 0x400000 + 65535);
	reset(state);
	place(0x400000 + 65534, svc, sizeof(svc));
	assert_int_equal(inj_find_insn(&fake, 1, "400000-420000 r-xp 0 0 0 /app\n", &svc_insn, &at), -ENOENT);
	place(0x400000 + 65536 + 8, svc, sizeof(svc));
	assert_int_equal(inj_find_insn(&fake, 1, "400000-420000 r-xp 0 0 0 /app\n", &svc_insn, &at), 0);
	assert_int_equal(at, 0x400000 + 65536 + 8);
}

/* Nothing executable holds it; non-executable memory is not read. */
static void test_find_none(void **state)
{
	uint64_t at = 0;
	place(0x9000, sysc, sizeof(sysc));
	assert_int_equal(inj_find_insn(&fake, 1, "9000-a000 rw-p 0 0 0 [heap]\n", &syscall_insn, &at), -ENOENT);
	assert_int_equal(nread, 0);
	/* an architecture without an instruction (none.c) finds nothing */
	static const struct arch_insn empty = { NULL, 0, 1 };
	assert_int_equal(inj_find_insn(&fake, 1, maps, &empty, &at), -ENOENT);
}

/* The arch's own instruction: found where it is, at its alignment. */
static void test_find_arch_insn(void **state)
{
	uint64_t at = 0;
	if (!arch_syscall_insn.len) {
		assert_non_null(arch_inject_refusal()); /* only a build that cannot inject has none */
		assert_int_equal(inj_find_syscall_insn(&fake, 1, maps, &at), -ENOENT);
		return;
	}
	uint64_t where = 0x7000 + 4 * arch_syscall_insn.align;
	place(where, arch_syscall_insn.bytes, arch_syscall_insn.len);
	assert_int_equal(inj_find_syscall_insn(&fake, 1, maps, &at), 0);
	assert_int_equal(at, where);
}

/* The register sets lie inside struct arch_regs without overlapping and,
 * where the engine injects, cover it exactly. */
static void test_regsets(void **state)
{
	size_t total = 0;
	for (size_t i = 0; i < arch_nregsets; i++) {
		const struct arch_regset *a = &arch_regsets[i];
		assert_true(a->size > 0);
		assert_true(a->offset + a->size <= sizeof(struct arch_regs));
		for (size_t k = 0; k < i; k++) {
			const struct arch_regset *b = &arch_regsets[k];
			assert_true(a->offset >= b->offset + b->size || b->offset >= a->offset + a->size);
			assert_int_not_equal(a->type, b->type);
		}
		total += a->size;
	}
	if (arch_inject_refusal())
		assert_int_equal(arch_nregsets, 0);
	else
		assert_int_equal(total, sizeof(struct arch_regs));
	assert_true(arch_name[0] != '\0');
}

static void test_page_size(void **state)
{
	uint64_t p = page_size();
	assert_int_equal(p, (uint64_t)sysconf(_SC_PAGESIZE));
	assert_true(p >= 4096 && (p & (p - 1)) == 0);
}

/* A build without injection refuses before any ptrace request or /proc
 * read, naming the architecture; elsewhere nothing is refused. The fake
 * has no operation at all: calling one would crash the test. */
static void test_refusal(void **state)
{
	static const struct tracee_ops nothing = { 0 };
	const char *why = arch_inject_refusal();
	if (!why)
		return; /* this architecture injects: the engine's tests are test_inject.c */
	assert_non_null(strstr(why, arch_name));
	assert_null(strchr(why, '\n'));
	struct inj t;
	assert_int_equal(inj_attach(&t, &nothing, 1234), -EOPNOTSUPP);
	assert_string_equal(t.why, why);
	assert_int_equal(t.nth, 0);
	assert_int_equal(inj_release(&t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_find_aligned, reset),
		cmocka_unit_test_setup(test_find_unaligned, reset),
		cmocka_unit_test_setup(test_find_across_chunks, reset),
		cmocka_unit_test_setup(test_find_none, reset),
		cmocka_unit_test_setup(test_find_arch_insn, reset),
		cmocka_unit_test(test_regsets),
		cmocka_unit_test(test_page_size),
		cmocka_unit_test(test_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
