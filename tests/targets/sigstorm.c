/* sigstorm: a target under a storm of signals, checking every siginfo.
 *
 *   sigstorm target N READY REPORT [THREADS]
 *                                     hold N CLOSE_WAIT fds; count SIGUSR1
 *                                     (si_code SI_USER, si_pid one sender's)
 *                                     and SIGRTMIN (SI_QUEUE, si_value the
 *                                     sender's sequence, in order); report
 *                                     and exit on SIGTERM. THREADS more
 *                                     threads wait for signals too (the
 *                                     counts stay exact; the order of the
 *                                     SIGRTMIN values is then not checked)
 *   sigstorm kill PID MS OUT          send SIGUSR1 for MS ms; OUT: how many
 *   sigstorm every PID US MS OUT      send SIGUSR1 every US microseconds for
 *                                     MS ms (a steady rain, not a storm: the
 *                                     target's threads get the CPU meanwhile)
 *   sigstorm queue PID MS OUT         sigqueue SIGRTMIN with 1, 2, 3, ... for
 *                                     MS ms (retried on EAGAIN); OUT: how many
 *   sigstorm trap PID MS OUT          send SIGTRAP for MS ms, each once the
 *                                     last is no longer pending (a standard
 *                                     signal is not queued twice): the target
 *                                     must count exactly as many
 */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "target.h"

static volatile long usr1, usr1_bad, rt, rt_bad, rt_next = 1, trap;
static volatile pid_t usr1_pid; /* the first sender seen: all must be it */
static volatile sig_atomic_t stop;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	usr1++;
	if (!usr1_pid)
		usr1_pid = si->si_pid;
	if (si->si_code != SI_USER || si->si_pid != usr1_pid)
		usr1_bad++;
}

static int nthreads;

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	__atomic_fetch_add(&rt, 1, __ATOMIC_RELAXED);
	if (si->si_code != SI_QUEUE || (!nthreads && si->si_value.sival_int != rt_next))
		rt_bad++;
	rt_next = si->si_value.sival_int + 1;
}

static void on_trap(int sig) { __atomic_fetch_add(&trap, 1, __ATOMIC_RELAXED); }

static void *waiter(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

static void on_term(int sig) { stop = 1; }

static int target(int n, const char *ready, const char *report)
{
	uint16_t port;
	int first, last;
	tgt_leak_close_wait(n, &port, &first, &last);
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO | SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = on_rt;
	sigaction(SIGRTMIN, &sa, NULL);
	struct sigaction tr = { .sa_handler = on_trap, .sa_flags = SA_RESTART };
	sigemptyset(&tr.sa_mask);
	sigaction(SIGTRAP, &tr, NULL);
	struct sigaction st = { .sa_handler = on_term };
	sigaction(SIGTERM, &st, NULL);
	char buf[256];
	snprintf(buf, sizeof(buf), "{\"pid\":%d,\"port\":%u,\"leak_first\":%d,\"leak_last\":%d}", (int)getpid(),
		 port, first, last);
	for (int i = 0; i < nthreads; i++) {
		pthread_t th;
		if (pthread_create(&th, NULL, waiter, NULL))
			die("pthread_create");
	}
	tgt_write_file_atomic(ready, buf);
	while (!stop)
		pause();
	snprintf(buf, sizeof(buf), "{\"usr1\":%ld,\"usr1_bad\":%ld,\"usr1_pid\":%d,\"rt\":%ld,\"rt_bad\":%ld,\"trap\":%ld}",
		 usr1, usr1_bad, (int)usr1_pid, rt, rt_bad, trap);
	tgt_write_file_atomic(report, buf);
	return 0;
}

static int sender(bool queue, pid_t pid, int us, int ms, const char *out)
{
	double end = tgt_now_ms() + ms;
	long sent = 0;
	while (tgt_now_ms() < end) {
		if (us > 0) {
			const struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
			nanosleep(&ts, NULL);
		}
		if (queue) {
			union sigval v = { .sival_int = (int)(sent + 1) };
			if (sigqueue(pid, SIGRTMIN, v) == 0)
				sent++;
			else if (errno != EAGAIN)
				die("sigqueue");
		} else if (kill(pid, SIGUSR1) == 0)
			sent++;
		else
			die("kill");
	}
	char buf[64];
	snprintf(buf, sizeof(buf), "%ld\n", sent);
	tgt_write_file_atomic(out, buf);
	return 0;
}

/* Is SIGTRAP pending for pid (the process's, or any of its threads')? */
static bool trap_pending(pid_t pid)
{
	char path[320], line[256];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		die("opendir %s", path);
	bool pending = false;
	struct dirent *e;
	while (!pending && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue; /* the thread ended */
		while (fgets(line, sizeof(line), f)) {
			unsigned long long m;
			if ((sscanf(line, "SigPnd: %llx", &m) == 1 || sscanf(line, "ShdPnd: %llx", &m) == 1) &&
			    m & (1ull << (SIGTRAP - 1)))
				pending = true;
		}
		fclose(f);
	}
	closedir(d);
	return pending;
}

/* SIGTRAP for ms ms, one at a time: the next only once the last is no
 * longer pending (taken for delivery, or held by a tracer at a stop,
 * which must deliver it later) */
static int trapper(pid_t pid, int ms, const char *out)
{
	double end = tgt_now_ms() + ms;
	long sent = 0;
	while (tgt_now_ms() < end) {
		if (trap_pending(pid)) {
			nanosleep(&(struct timespec){ 0, 20000 }, NULL);
			continue;
		}
		if (kill(pid, SIGTRAP) < 0)
			die("kill");
		sent++;
	}
	char buf[64];
	snprintf(buf, sizeof(buf), "%ld\n", sent);
	tgt_write_file_atomic(out, buf);
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "target")) {
		nthreads = argc == 6 ? atoi(argv[5]) : 0;
		return target(atoi(argv[2]), argv[3], argv[4]);
	}
	if (argc == 5 && (!strcmp(argv[1], "kill") || !strcmp(argv[1], "queue")))
		return sender(argv[1][0] == 'q', atoi(argv[2]), 0, atoi(argv[3]), argv[4]);
	if (argc == 5 && !strcmp(argv[1], "trap"))
		return trapper(atoi(argv[2]), atoi(argv[3]), argv[4]);
	if (argc == 6 && !strcmp(argv[1], "every"))
		return sender(false, atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5]);
	die("usage: sigstorm target N READY REPORT [THREADS] | kill|queue|trap PID MS OUT | every PID US MS OUT");
}
