/* sniper: SIGKILL a process the moment a thread of another one is seen
 * inside a given system call (an injected one: sockreap's mmap of its
 * scratch mapping), so a test can kill sockreap inside a window a few
 * microseconds wide, which a timed kill hits only now and then.
 *
 *   sniper TID NR ARG1 VICTIM TIMEOUT_MS
 *
 * Reads /proc/TID/syscall (the number and arguments of the call the
 * thread is stopped in) in a loop until it shows call NR with second
 * argument ARG1 (hex, as the file writes it), then sends SIGKILL to VICTIM
 * (a process the test started) and prints "hit". After TIMEOUT_MS without
 * seeing it, or when TID or VICTIM is gone (or a zombie), it prints
 * "missed" and exits 1. */
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>

#include "target.h"

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* VICTIM has exited (a zombie its parent has not reaped yet, or gone) */
static bool victim_done(pid_t victim)
{
	char path[64], stat[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)victim);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	size_t n = fread(stat, 1, sizeof(stat) - 1, f);
	fclose(f);
	stat[n] = '\0';
	const char *end = strrchr(stat, ')'); /* the name may hold anything */
	return !end || end[1] != ' ' || end[2] == 'Z' || end[2] == 'X';
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: sniper TID NR ARG1 VICTIM TIMEOUT_MS\n");
		return 2;
	}
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%s/syscall", argv[1]);
	long want_nr = atol(argv[2]);
	unsigned long want_a1 = strtoul(argv[3], NULL, 16);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		die("open %s", path);
	pid_t victim = (pid_t)atoi(argv[4]);
	uint64_t end = now_ms() + (uint64_t)atoll(argv[5]);
	for (unsigned k = 1; now_ms() < end; k++) {
		if (k % 256 == 0 && victim_done(victim))
			break;
		ssize_t got = pread(fd, buf, sizeof(buf) - 1, 0);
		if (got < 0 && errno == ESRCH)
			break;
		if (got <= 0)
			continue;
		buf[got] = '\0';
		long nr;
		unsigned long a0, a1;
		if (sscanf(buf, "%ld 0x%lx 0x%lx", &nr, &a0, &a1) == 3 && nr == want_nr && a1 == want_a1) {
			kill(victim, SIGKILL);
			printf("hit\n");
			return 0;
		}
	}
	printf("missed\n");
	return 1;
}
