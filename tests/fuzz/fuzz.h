/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz_NAME.c). Each harness
 * declares and defines LLVMFuzzerTestOneInput; tests/unit/test_fuzz_replay.c
 * includes them all, renamed, to replay the seeds and past findings with
 * the normal compiler (and sanitizers, and valgrind), so every static name
 * in a harness carries its prefix. */
#pragma once
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* data as a NUL-terminated string (the parsers take C strings). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
