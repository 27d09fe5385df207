/* zleader: a process whose main thread has exited (pthread_exit from main),
 * so /proc/PID/fd is empty while its other thread still holds every fd.
 *
 *   zleader --leak N --ready FILE
 *
 * Opens a loopback LISTEN socket and N CLOSE_WAIT sockets (consecutive
 * fds), starts a thread that sleeps until killed, writes
 * {"pid":P,"port":N,"leak_first":F,"leak_last":L,"tid":T} to FILE and ends
 * its main thread. The test kills the process. */
#include <pthread.h>
#include <sys/syscall.h>

#include "target.h"

static pid_t worker_tid;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *worker(void *arg)
{
	pthread_mutex_lock(&mu);
	worker_tid = (pid_t)syscall(SYS_gettid);
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int leak = 0;
	const char *ready = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--leak"))
			leak = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--ready"))
			ready = argv[i + 1];
	}
	if (leak < 1 || !ready) {
		fprintf(stderr, "usage: zleader --leak N --ready FILE\n");
		return 2;
	}
	uint16_t port;
	int l = tgt_listen(AF_INET, leak + 1, &port);
	int first = -1, last = -1;
	for (int i = 0; i < leak; i++) {
		int c = tgt_connect(AF_INET, port);
		int s = accept(l, NULL, NULL);
		if (s < 0)
			die("accept");
		close(c); /* the peer hangs up: s is in CLOSE_WAIT */
		if (first < 0)
			first = s;
		last = s;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL) != 0)
		die("pthread_create");
	pthread_mutex_lock(&mu);
	while (!worker_tid)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	char text[256];
	snprintf(text, sizeof(text), "{\"pid\":%d,\"port\":%u,\"leak_first\":%d,\"leak_last\":%d,\"tid\":%d}\n",
		 (int)getpid(), port, first, last, (int)worker_tid);
	tgt_write_file_atomic(ready, text);
	pthread_exit(NULL);
}
