/* holder: a host state of many sockets over many processes, for the
 * discovery benchmark (scripts/bench). One loopback listener; PROCS
 * processes, started one after another, each connect CONNS times to it and
 * accept CONNS connections from it, then close half of their client ends:
 * every process holds ~1.5 x CONNS sockets, half of its server ends in
 * CLOSE_WAIT. All on one port, so a --port filter matches them all.
 *
 *   holder PROCS CONNS READY-FILE   (prints nothing; runs until killed;
 *   the ready file holds "PORT PID1 PID2 ...") */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "target.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: holder PROCS CONNS READY-FILE\n");
		return 2;
	}
	int procs = atoi(argv[1]), conns = atoi(argv[2]);
	struct rlimit rl = { (rlim_t)conns * 2 + 64, (rlim_t)conns * 2 + 64 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
	uint16_t port;
	int l = tgt_listen(AF_INET, conns + 16, &port);
	size_t cap = 32 + (size_t)procs * 12, len = 0;
	char *text = malloc(cap);
	len += (size_t)snprintf(text, cap, "%u", port);

	for (int p = 0; p < procs; p++) {
		int ready[2];
		if (pipe(ready) < 0)
			die("pipe");
		pid_t c = fork();
		if (c < 0)
			die("fork");
		if (c == 0) {
			int *cl = calloc((size_t)conns, sizeof(int));
			close(ready[0]);
			for (int i = 0; i < conns; i++)
				cl[i] = tgt_connect(AF_INET, port);
			for (int i = 0; i < conns; i++)
				if (accept(l, NULL, NULL) < 0)
					die("accept");
			for (int i = 0; i < conns; i += 2)
				close(cl[i]); /* the peer of a server end: CLOSE_WAIT */
			close(l);
			close(ready[1]);
			for (;;)
				pause();
		}
		close(ready[1]);
		char b;
		if (read(ready[0], &b, 1) < 0)
			die("wait for child %d", p);
		close(ready[0]);
		len += (size_t)snprintf(text + len, cap - len, " %d", (int)c);
	}
	snprintf(text + len, cap - len, "\n");
	tgt_write_file_atomic(argv[3], text);
	for (;;)
		pause();
}
