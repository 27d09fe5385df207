/* gated: a process whose system calls are judged by something other than
 * the kernel's table, holding N CLOSE_WAIT fds. The injected calls must
 * never be judged so (a SIGSYS forced on the engine's code, which runs with
 * every signal blocked, resets the handler and kills the target).
 *
 *   gated sud THREADS N READY REPORT
 *     The main thread turns syscall user dispatch on for itself
 *     (PR_SET_SYSCALL_USER_DISPATCH, as Wine does): its calls are allowed
 *     from libc's code only, any other one becomes a SIGSYS, which a
 *     handler counts. THREADS - 1 more threads, started before, have it
 *     off.
 *   gated late N READY REPORT
 *     A watcher thread waits until one of the fds is closed (sockreap's
 *     first batch), then installs a seccomp filter on every thread
 *     (TSYNC) that kills the process for close, dup2/dup3, socket,
 *     socketpair, shutdown, epoll_ctl and setsockopt: the calls of the
 *     batches still to come; and fails getppid() with EPERM, which the
 *     watcher then calls in a loop: any that succeeds ran with its
 *     sandbox off ("unsandboxed").
 *
 * READY gets {"pid":..,"port":..}; on SIGTERM REPORT gets
 * {"sigsys":..,"filtered":..,"kept_at_filter":..}: the SIGSYS count (sud),
 * and whether the filter came, with how many of the N fds still held their
 * socket then (late). The report is written without close(), which the filter
 * forbids. Elsewhere than x86_64 (the filter names x86_64 numbers) it
 * exits 77. */
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "target.h"

#if !defined(__x86_64__)
int main(void)
{
	return 77;
}
#else
#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_ON 1
#define SYSCALL_DISPATCH_FILTER_BLOCK 1
#endif

static volatile sig_atomic_t stop, sigsys;
static volatile char selector = SYSCALL_DISPATCH_FILTER_BLOCK;
static int first, last;
static volatile int filtered = 0, kept_at_filter = -1;
static ino_t *inodes; /* of each fd, first..last, at the start */

static void on_term(int sig) { stop = 1; }
static void on_sys(int sig) { sigsys++; }

static void *idle(void *arg)
{
	while (!stop)
		pause();
	return NULL;
}

/* libc's code: the range whose calls dispatch lets through */
static void libc_text(uint64_t *lo, uint64_t *len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	*lo = *len = 0;
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s", &a, &b, perm) == 3 && perm[2] == 'x' && strstr(line, "/libc.so")) {
			*lo = a;
			*len = b - a;
		}
	}
	if (f)
		fclose(f);
	if (!*len)
		die("no libc text in /proc/self/maps");
}

/* how many fds still hold their socket (not closed, not replaced) */
static int kept_fds(void)
{
	struct stat st;
	int n = 0;
	for (int fd = first; fd <= last; fd++)
		n += fstat(fd, &st) == 0 && st.st_ino == inodes[fd - first];
	return n;
}

#define KILL_IF(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS)
#define EPERM_IF(nr) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM)

static volatile long unsandboxed; /* getppid() calls the filter let through */

static void *watch(void *arg)
{
	struct stat st;
	/* the first fd the run replaces or closes: sample a spread of them */
	for (;;) {
		bool changed = false;
		for (int fd = first; fd <= last && !changed; fd += 1 + (last - first) / 16)
			changed = fstat(fd, &st) < 0 || st.st_ino != inodes[fd - first];
		if (changed || stop)
			break;
	}
	if (stop)
		return NULL;
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		KILL_IF(__NR_close),      KILL_IF(__NR_dup2),     KILL_IF(__NR_dup3),
		KILL_IF(__NR_socket),     KILL_IF(__NR_socketpair), KILL_IF(__NR_shutdown),
		KILL_IF(__NR_epoll_ctl),  KILL_IF(__NR_setsockopt), EPERM_IF(__NR_getppid),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = { sizeof(prog) / sizeof(prog[0]), prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) != 0)
		die("seccomp");
	kept_at_filter = kept_fds();
	filtered = 1;
	/* its sandbox must hold whenever it runs its own code: between
	 * sockreap's batches too */
	while (!stop)
		if (syscall(SYS_getppid) >= 0)
			unsandboxed++;
	return NULL;
}

/* no close(): the filter forbids it; the file is renamed into place */
static void report(const char *path)
{
	char buf[256], tmp[4096];
	int n = snprintf(buf, sizeof(buf), "{\"sigsys\":%d,\"filtered\":%s,\"kept_at_filter\":%d,\"unsandboxed\":%ld}\n",
			 (int)sigsys, filtered ? "true" : "false", kept_at_filter, unsandboxed);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, buf, (size_t)n) != n || rename(tmp, path) < 0)
		die("write %s", path);
}

int main(int argc, char **argv)
{
	bool sud = argc == 6 && !strcmp(argv[1], "sud"), late = argc == 5 && !strcmp(argv[1], "late");
	if (!sud && !late)
		die("usage: gated sud THREADS N READY REPORT | gated late N READY REPORT");
	int threads = sud ? atoi(argv[2]) : 1;
	const char *ready = argv[argc - 2], *rep = argv[argc - 1];
	uint16_t port;
	tgt_leak_close_wait(atoi(argv[argc - 3]), &port, &first, &last);
	if (!(inodes = calloc((size_t)(last - first + 1), sizeof(*inodes))))
		die("calloc");
	for (int fd = first; fd <= last; fd++) {
		struct stat st;
		inodes[fd - first] = fstat(fd, &st) == 0 ? st.st_ino : 0;
	}
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	struct sigaction ss = { .sa_handler = on_sys };
	sigaction(SIGSYS, &ss, NULL);
	pthread_t th;
	for (int i = 1; i < threads; i++)
		if (pthread_create(&th, NULL, idle, NULL))
			die("pthread_create");
	if (late && pthread_create(&th, NULL, watch, NULL))
		die("pthread_create");
	char buf[128];
	snprintf(buf, sizeof(buf), "{\"pid\":%d,\"port\":%u}", (int)getpid(), port);
	uint64_t lo = 0, len = 0;
	if (sud)
		libc_text(&lo, &len);
	if (sud && prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, lo, len, &selector) < 0)
		die("PR_SET_SYSCALL_USER_DISPATCH");
	tgt_write_file_atomic(ready, buf); /* from libc: allowed */
	while (!stop)
		pause();
	report(rep);
	return 0;
}
#endif
