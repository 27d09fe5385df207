/* sigworkers: a target whose worker threads must keep running while
 * sockreap works on it in batches, under a storm of signals.
 *
 *   sigworkers N THREADS READY REPORT
 *
 * Holds N CLOSE_WAIT fds; THREADS workers each wake every 200 us and
 * record the longest gap between two wakeups. SIGUSR1 has an SA_RESTART
 * handler that only counts, and every worker leaves it unblocked: the
 * kernel gives each signal to any thread (under ptrace, every signal stops
 * the thread it is given to). The READY file ({"pid":P,"port":N}) is
 * written once the fds and threads are up; SIGUSR2 starts the measured
 * window (gaps reset); on SIGTERM the REPORT file says
 * {"longest_gap_ms":G,"usr1":K} and the process exits. */
#include "target.h"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#define MAX_THREADS 64

static volatile sig_atomic_t stop, usr1;
static volatile sig_atomic_t epoch;
static double gap[MAX_THREADS];

static void on_usr1(int sig)
{
	(void)sig;
	usr1++;
}

static void on_usr2(int sig)
{
	(void)sig;
	epoch++;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void *worker(void *arg)
{
	long i = (long)arg;
	int seen = epoch;
	double last = tgt_now_ms();
	while (!stop) {
		const struct timespec ts = { 0, 200 * 1000 };
		nanosleep(&ts, NULL);
		double now = tgt_now_ms();
		if (seen != epoch) { /* a new window: forget what came before */
			seen = epoch;
			gap[i] = 0;
		} else if (now - last > gap[i])
			gap[i] = now - last;
		last = now;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 5)
		die("usage: sigworkers N THREADS READY REPORT");
	int n = atoi(argv[1]), nt = atoi(argv[2]), first, last;
	uint16_t port;
	if (n < 1 || nt < 1 || nt > MAX_THREADS)
		die("sigworkers: N >= 1 and 1 <= THREADS <= %d", MAX_THREADS);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	tgt_leak_close_wait(n, &port, &first, &last);
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_term;
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);
	pthread_t th[MAX_THREADS];
	for (long i = 0; i < nt; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i) != 0)
			die("pthread_create");
	char text[128];
	snprintf(text, sizeof(text), "{\"pid\":%d,\"port\":%u}\n", (int)getpid(), port);
	tgt_write_file_atomic(argv[3], text);
	while (!stop)
		pause();
	double longest = 0;
	for (int i = 0; i < nt; i++) {
		pthread_join(th[i], NULL);
		if (gap[i] > longest)
			longest = gap[i];
	}
	snprintf(text, sizeof(text), "{\"longest_gap_ms\":%.3f,\"usr1\":%d}\n", longest, (int)usr1);
	tgt_write_file_atomic(argv[4], text);
	return 0;
}
