/* Small helpers shared by every module: cleanup attributes, growable arrays,
 * number parsing, JSON string output. */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void freep(void *p) { free(*(void **)p); }
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}
static inline void closep(int *fd) { safe_close(*fd); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* A hint to the CPU inside a short busy-wait loop. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Make room for one more element in a growable array; -ENOMEM on failure. */
int grow(void **arr, size_t *cap, size_t n, size_t elem);
#define GROW(arr, cap, n) grow((void **)&(arr), &(cap), (n), sizeof(*(arr)))

/* Parse an unsigned decimal number in [0, max]: -EINVAL if not a number,
 * -ERANGE if too large. */
int parse_u64(const char *s, uint64_t max, uint64_t *ret);

/* Format display text into buf, cut to size on purpose (a sentence for the
 * operator, not data): the length written, at most size-1. */
size_t textf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);
/* CLOCK_REALTIME in ns: the clock no time namespace changes */
uint64_t realtime_ns(void);
/* The kernel's page size (sysconf): 4 KiB on x86_64; 4, 16 or 64 KiB on
 * aarch64. The target runs on the same kernel, so it is its page size too. */
uint64_t page_size(void);

/* Write s as a JSON string (with quotes). */
void json_str(FILE *f, const char *s);

/* Read a small file (e.g. under /proc) into buf, NUL-terminated, at most
 * size-1 bytes: bytes read, or -errno. */
ssize_t read_small_file(int dirfd, const char *path, char *buf, size_t size);
