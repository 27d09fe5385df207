/* execer: a process that keeps calling execve() from a non-main thread
 * while it holds CLOSE_WAIT sockets (issue 8, case 2). sockreap attaching
 * to it must never hang: an exec'ing thread waits (holding the kernel's
 * cred_guard_mutex) until every other thread is gone, and a traced thread
 * is gone only once its tracer reaps it.
 *
 *   execer --ready FILE --report FILE --gens N [--threads K]
 *
 * Generation 0 listens on loopback and writes the ready FILE
 * ({"pid","port"}). Every generation makes two more CLOSE_WAIT sockets
 * (it connects to itself and closes the client ends; the server ends are
 * kept, without FD_CLOEXEC, so they pile up across execs), starts K idle
 * threads and one more that execs the program again as generation g+1,
 * either after 0-200 ms or, sooner, as soon as it sees its main thread
 * traced: in the middle of sockreap's attach. Generation N writes the report FILE
 * ({"gens":N,"leaks":L,"ok":true}) and then waits until killed. Any
 * failure exits 70 with a message. */
#include "target.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>

static int gens, gen, threads = 4, listen_fd = -1;
static const char *ready, *report;
static char **self_argv;

static int ncpus;

static void *idle_thread(void *arg)
{
	(void)arg;
	if (ncpus > 1) {
		cpu_set_t rest;
		CPU_ZERO(&rest);
		for (int c = 0; c < ncpus - 1; c++)
			CPU_SET(c, &rest);
		sched_setaffinity(0, sizeof rest, &rest);
	}
	for (;;)
		pause();
	return NULL;
}

static pid_t main_tid;

/* Is main_tid in a ptrace stop now ('t' in its stat)? The file stays
 * open and is read again from offset 0: a few microseconds a look. */
static int main_stat_fd = -1;

static bool main_traced(void)
{
	char buf[128];
	if (main_stat_fd < 0) {
		char path[64];
		snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)main_tid);
		main_stat_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (main_stat_fd < 0)
			return false;
	}
	ssize_t n = pread(main_stat_fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 't';
}

/* The exec thread, created last (so a tracer listing the threads seizes
 * it last): it execs as soon as it sees the main thread traced, that is
 * while sockreap is seizing the other threads, or after 0-200 ms. Then
 * argv for generation g+1: the same, with --gen and --listen-fd updated. */
static void *exec_thread(void *arg)
{
	(void)arg;
	/* Win the race against the tracer's seize loop: the highest
	 * priority we can get, and a CPU of our own (the idle threads wake
	 * on the other one to enter their stops). */
	setpriority(PRIO_PROCESS, (id_t)gettid(), -20);
	if (ncpus > 1) {
		cpu_set_t one;
		CPU_ZERO(&one);
		CPU_SET(ncpus - 1, &one);
		sched_setaffinity(0, sizeof one, &one);
	}
	double end = tgt_now_ms() + (double)(random() % 200);
	double t0 = tgt_now_ms();
	long iters = 0;
	while (tgt_now_ms() < end && !main_traced())
		iters++;
	if (getenv("EXECER_DEBUG"))
		fprintf(stderr, "gen %d: %s after %.1f ms, %ld reads\n", gen, main_traced() ? "saw the tracer" : "timeout",
			tgt_now_ms() - t0, iters);
	char g[16], l[16];
	snprintf(g, sizeof g, "%d", gen + 1);
	snprintf(l, sizeof l, "%d", listen_fd);
	char *argv[] = { self_argv[0], "--ready", (char *)ready, "--report", (char *)report, "--gens",
			 self_argv[0] /* placeholder */, "--threads", NULL, "--gen", g, "--listen-fd", l, NULL };
	char n[16], k[16];
	snprintf(n, sizeof n, "%d", gens);
	snprintf(k, sizeof k, "%d", threads);
	argv[6] = n;
	argv[8] = k;
	execv("/proc/self/exe", argv);
	die("execv");
}

/* Two more server ends in CLOSE_WAIT, kept across exec. */
static void leak_two(uint16_t port)
{
	for (int i = 0; i < 2; i++) {
		int c = tgt_connect(AF_INET, port);
		int s = accept(listen_fd, NULL, NULL);
		if (s < 0)
			die("accept");
		close(c);
	}
}

/* Sockets held besides the listener: those of earlier generations that
 * survived exec (and sockreap), and ours. */
static int count_sockets(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	if (!d)
		die("/proc/self/fd");
	while ((e = readdir(d))) {
		char path[300], link[64];
		snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(path, link, sizeof link - 1);
		if (k > 0 && atoi(e->d_name) != listen_fd) {
			link[k] = '\0';
			n += !strncmp(link, "socket:", 7);
		}
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	self_argv = argv;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ready"))
			ready = argv[i + 1];
		else if (!strcmp(argv[i], "--report"))
			report = argv[i + 1];
		else if (!strcmp(argv[i], "--gens"))
			gens = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--gen"))
			gen = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--listen-fd"))
			listen_fd = atoi(argv[i + 1]);
		else
			die("usage: execer --ready FILE --report FILE --gens N [--threads K]");
	}
	if (!ready || !report || gens <= 0)
		die("usage: execer --ready FILE --report FILE --gens N [--threads K]");
	srandom((unsigned)getpid() ^ (unsigned)gen * 2654435761u);
	main_tid = gettid();
	ncpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	uint16_t port;
	if (listen_fd < 0) {
		listen_fd = tgt_listen(AF_INET, 64, &port);
		if (fcntl(listen_fd, F_SETFD, 0) < 0)
			die("F_SETFD");
	} else {
		struct sockaddr_in a;
		socklen_t len = sizeof a;
		if (getsockname(listen_fd, (struct sockaddr *)&a, &len) < 0)
			die("the listener did not survive exec");
		port = ntohs(a.sin_port);
	}
	leak_two(port);
	if (gen == 0) {
		char text[128];
		snprintf(text, sizeof text, "{\"pid\":%d,\"port\":%u}\n", (int)getpid(), port);
		tgt_write_file_atomic(ready, text);
	}
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, idle_thread, NULL))
			die("pthread_create");
	}
	if (gen < gens) {
		pthread_t t;
		if (pthread_create(&t, NULL, exec_thread, NULL))
			die("pthread_create");
	} else {
		char text[128];
		snprintf(text, sizeof text, "{\"gens\":%d,\"leaks\":%d,\"ok\":true}\n", gens, count_sockets());
		tgt_write_file_atomic(report, text);
	}
	for (;;)
		pause();
}
