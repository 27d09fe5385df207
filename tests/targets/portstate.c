/* portstate: a process that leaves loopback ports in the states --explain
 * must tell apart, then waits to be killed.
 *
 *   portstate --ready FILE
 *
 * full_port    a listener with backlog 1 that never accepts, and three
 *              clients: two complete their handshake and wait in its accept
 *              queue (2 > 1: full), the third is stuck in SYN-SENT
 * normal_port  a listener with backlog 16 and one accepted connection
 * tw_port      the server closed first, then the client, then the listener
 *              went: only a TIME-WAIT socket is left on the port
 * orphan_port  the server closed its accepted socket, the client did not:
 *              an orphaned FIN-WAIT-2 on the port (no owner) and the
 *              client's CLOSE-WAIT end, held here
 *
 * The ready FILE is JSON: {"pid","full_port","normal_port","tw_port",
 * "orphan_port","full_backlog"}. */
#include "target.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>

static int accept_one(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	if (poll(&p, 1, 10000) != 1)
		die("no connection to accept");
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		die("accept");
	return fd;
}

/* Wait until the kernel shows n sockets of the state mask on port, by
 * reading our own tcp table: the handshakes finish asynchronously. */
static int wait_state(uint16_t port, int state, int n)
{
	for (int tries = 0; tries < 2000; tries++) {
		FILE *f = fopen("/proc/self/net/tcp", "r");
		char line[512];
		int have = 0;
		if (!f)
			die("open /proc/self/net/tcp");
		while (fgets(line, sizeof(line), f)) {
			unsigned lport, st;
			if (sscanf(line, " %*d: %*x:%x %*x:%*x %x", &lport, &st) == 2 && lport == port && (int)st == state)
				have++;
		}
		fclose(f);
		if (have >= n)
			return 0;
		usleep(5000);
	}
	return -1;
}

static int nonblocking_connect(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = tgt_loopback(AF_INET, port, &ss);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS))
		die("connect to %u", port);
	return fd;
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	uint16_t full, normal, tw, orphan;
	char text[512];

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--ready") && i + 1 < argc)
			ready = argv[++i];
	if (!ready) {
		fprintf(stderr, "usage: portstate --ready FILE\n");
		return 2;
	}

	/* full: backlog 1, never accepted */
	int lfull = tgt_listen(AF_INET, 1, &full);
	(void)lfull;
	for (int i = 0; i < 2; i++)
		nonblocking_connect(full);
	if (wait_state(full, 1 /* ESTABLISHED */, 2) < 0)
		die("the accept queue of %u did not fill", full);
	nonblocking_connect(full); /* its SYN is dropped: the queue is full */

	/* normal: one accepted connection */
	int lnormal = tgt_listen(AF_INET, 16, &normal);
	int cnormal = tgt_connect(AF_INET, normal);
	int anormal = accept_one(lnormal);
	(void)cnormal, (void)anormal;

	/* tw: server closes first, so TIME-WAIT stays on the server's port */
	int ltw = tgt_listen(AF_INET, 16, &tw);
	int ctw = tgt_connect(AF_INET, tw);
	int atw = accept_one(ltw);
	close(atw);
	if (wait_state(tw, 5 /* FIN_WAIT2 */, 1) < 0)
		die("no FIN-WAIT-2 on %u", tw);
	close(ctw);
	close(ltw);
	if (wait_state(tw, 6 /* TIME_WAIT */, 1) < 0)
		die("no TIME-WAIT on %u", tw);

	/* orphan: the server's end closed, the client keeps its CLOSE-WAIT */
	int lorphan = tgt_listen(AF_INET, 16, &orphan);
	int corphan = tgt_connect(AF_INET, orphan);
	int aorphan = accept_one(lorphan);
	close(aorphan);
	close(lorphan);
	if (wait_state(orphan, 5 /* FIN_WAIT2 */, 1) < 0)
		die("no FIN-WAIT-2 on %u", orphan);
	(void)corphan;

	snprintf(text, sizeof(text),
		 "{\"pid\":%d,\"full_port\":%u,\"normal_port\":%u,\"tw_port\":%u,\"orphan_port\":%u,"
		 "\"full_backlog\":1}\n",
		 (int)getpid(), full, normal, tw, orphan);
	tgt_write_file_atomic(ready, text);
	for (;;)
		pause();
}
