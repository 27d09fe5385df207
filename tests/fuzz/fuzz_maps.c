/* The /proc/PID/maps parsers: the engine's search for a syscall
 * instruction (inj_find_syscall_insn, memory served from the input through
 * a fake tracee) and the stack printer's file lookup (unwind_file_of).
 * Input: maps text, a NUL, then the bytes the fake memory holds. */
#include "fuzz.h"
#include "inject.h"
#include "unwind.h"

static const uint8_t *fuzz_maps_mem;
static size_t fuzz_maps_memlen;

/* The target's memory: the input bytes, repeated; small reads only (a big
 * mapping would cost a memmem over 1 MiB per run for nothing). */
static int fuzz_maps_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	if (!fuzz_maps_memlen || len > 4096)
		return -EIO;
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = fuzz_maps_mem[(addr + i) % fuzz_maps_memlen];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t tlen = nul ? (size_t)(nul - data) : size;
	char *maps = fuzz_strndup(data, tlen);
	fuzz_maps_mem = nul ? nul + 1 : NULL;
	fuzz_maps_memlen = nul ? size - tlen - 1 : 0;
	struct tracee_ops ops = { .read_mem = fuzz_maps_read_mem };
	uint64_t addr = 0;
	inj_find_syscall_insn(&ops, 1, maps, &addr);
	char file[256];
	static const uint64_t fuzz_maps_ips[] = { 0, 0x400000, 0x7fff00000000, UINT64_MAX };
	for (size_t i = 0; i < sizeof(fuzz_maps_ips) / sizeof(fuzz_maps_ips[0]); i++)
		unwind_file_of(maps, fuzz_maps_ips[i], file, sizeof(file));
	unwind_file_of(maps, addr, file, sizeof(file));
	free(maps);
	return 0;
}
