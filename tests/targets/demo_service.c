/* A tiny "production service" for `make demo`: answers every line on a
 * loopback port with "hello", and has the classic bug: when a client hangs
 * up, it stops reading but never closes the connection, so the socket sits
 * in CLOSE_WAIT for ever and the fd leaks.
 *
 *   demo_service PORT   (127.0.0.1 only; runs until killed) */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN 4096

int main(int argc, char **argv)
{
	struct pollfd pfd[MAXCONN];
	int n = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: demo_service PORT\n");
		return 2;
	}
	struct rlimit rl = { MAXCONN + 64, MAXCONN + 64 };
	setrlimit(RLIMIT_NOFILE, &rl);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 512) < 0) {
		perror("demo_service: listen");
		return 1;
	}
	pfd[0] = (struct pollfd){ .fd = l, .events = POLLIN };
	for (;;) {
		if (poll(pfd, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("demo_service: poll");
			return 1;
		}
		if ((pfd[0].revents & POLLIN) && n < MAXCONN) {
			int c = accept(l, NULL, NULL);
			if (c >= 0)
				pfd[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
		}
		for (int i = 1; i < n; i++) {
			char buf[256];
			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			ssize_t k = read(pfd[i].fd, buf, sizeof(buf));
			if (k > 0) {
				if (write(pfd[i].fd, "hello\n", 6) < 0)
					perror("demo_service: write");
				continue;
			}
			/* The bug: the peer hung up, we stop watching the
			 * socket... and forget to close(pfd[i].fd). */
			pfd[i--] = pfd[--n];
		}
	}
}
