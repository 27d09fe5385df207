/* spawner: a thread-per-connection style server whose main thread creates
 * and joins threads in a loop (so it is often inside clone() when
 * interrupted), holding N CLOSE_WAIT fds. It checks itself: every
 * pthread_create() must succeed and every thread must run; on SIGUSR1 it
 * writes its report and exits.
 *
 *   spawner N READY REPORT
 *
 * READY gets {"pid":..,"port":..,"leak_first":..,"leak_last":..}; REPORT
 * {"created":..,"failed":..,"lost":..,"ok":true|false}. */
#include <pthread.h>
#include <signal.h>

#include "target.h"

static volatile sig_atomic_t stop;
static volatile long ran;

static void on_usr1(int sig) { stop = 1; }

static void *worker(void *arg)
{
	__atomic_fetch_add(&ran, 1, __ATOMIC_RELAXED);
	return arg;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		die("usage: spawner N READY REPORT");
	int n = atoi(argv[1]);
	uint16_t port;
	int l = tgt_listen(AF_INET, n + 8, &port);
	int first = -1, last = -1;
	for (int i = 0; i < n; i++) {
		int c = tgt_connect(AF_INET, port);
		int s = accept(l, NULL, NULL);
		if (s < 0)
			die("accept");
		close(c); /* the peer is gone: s is in CLOSE_WAIT */
		if (first < 0)
			first = s;
		last = s;
	}
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	char buf[256];
	snprintf(buf, sizeof(buf), "{\"pid\":%d,\"port\":%u,\"leak_first\":%d,\"leak_last\":%d}", (int)getpid(),
		 port, first, last);
	tgt_write_file_atomic(argv[2], buf);

	long created = 0, failed = 0;
	while (!stop) {
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
