/* spawner: a thread-per-connection style server whose main thread creates
 * and joins threads in a loop (so it is often inside clone() when
 * interrupted), holding N CLOSE_WAIT fds. It checks itself: every
 * pthread_create() must succeed and every thread must run; on SIGUSR1 it
 * writes its report and exits.
 *
 *   spawner N READY REPORT [procs]
 *
 * procs: the loop creates processes, not threads: clone() without
 * CLONE_THREAD and with exit signal 0 (a clone event for a tracer, as a
 * thread's creation is), each child exiting 0 at once, waited for with
 * __WALL; "lost" counts children that did not exit 0.
 *
 * READY gets {"pid":..,"port":..,"leak_first":..,"leak_last":..}; REPORT
 * {"created":..,"failed":..,"lost":..,"ok":true|false}. */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "target.h"

static volatile sig_atomic_t stop;
static volatile long ran;

static void on_usr1(int sig) { stop = 1; }

static void *worker(void *arg)
{
	__atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
	return arg;
}

static int child(void *arg)
{
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "procs")))
		die("usage: spawner N READY REPORT [procs]");
	bool procs = argc == 5;
	int n = atoi(argv[1]);
	uint16_t port;
	int first, last;
	tgt_leak_close_wait(n, &port, &first, &last);
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	char buf[256];
	snprintf(buf, sizeof(buf), "{\"pid\":%d,\"port\":%u,\"leak_first\":%d,\"leak_last\":%d}", (int)getpid(),
		 port, first, last);
	tgt_write_file_atomic(argv[2], buf);

	long created = 0, failed = 0;
	static char stack[64 * 1024] __attribute__((aligned(16)));
	while (procs && !stop) {
		int st;
		pid_t c = clone(child, stack + sizeof(stack), 0, NULL);
		if (c < 0) {
			failed++;
			continue;
		}
		created++;
		pid_t w;
		/* the report's SIGUSR1 may interrupt the wait (no SA_RESTART);
		 * an EINTR before it is a failure */
		while ((w = waitpid(c, &st, __WALL)) < 0 && errno == EINTR && stop)
			;
		if (w != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			ran--;
			fprintf(stderr, "spawner: child %d: %s, status 0x%x\n", (int)c, w != c ? strerror(errno) : "ended",
				w == c ? st : 0);
		}
	}
	if (procs)
		ran += created;
	while (!procs && !stop) {
		pthread_t t;
		int e = pthread_create(&t, NULL, worker, NULL);
		if (e) {
			failed++;
			continue;
		}
		created++;
		pthread_join(t, NULL);
	}
	long lost = created - ran;
	snprintf(buf, sizeof(buf), "{\"created\":%ld,\"failed\":%ld,\"lost\":%ld,\"ok\":%s}", created, failed, lost,
		 !failed && !lost ? "true" : "false");
	tgt_write_file_atomic(argv[3], buf);
	return failed || lost ? 1 : 0;
}
