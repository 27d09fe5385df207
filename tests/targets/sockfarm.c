/* sockfarm: a known set of loopback sockets for the discovery tests.
 *
 *   sockfarm READY-FILE
 *
 * Opens TCP LISTEN, ESTABLISHED and CLOSE_WAIT sockets over IPv4 and IPv6,
 * an unconnected UDP socket (v4) and a connected one (v6); forks a child
 * that shares every fd but the unconnected UDP one (which it closes); and
 * dup()s the v4 CLOSE_WAIT socket in the parent, whose epoll set (parent
 * only) watches that socket's first fd. Then it writes READY-FILE:
 *
 *   {"pid":P,"child":C,"epoll_watches":[pid,fd],"sockets":[{"name":"cw4","proto":"tcp",
 *     "family":"ipv4","state":"CLOSE-WAIT","lport":N,"rport":N,
 *     "owners":[[pid,fd],...]}, ...]}
 *
 * and sleeps until killed (the test kills both pids). */
#include <signal.h>
#include <sys/epoll.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "target.h"

struct sk {
	const char *name, *proto, *family, *state;
	int fd, dup_fd;
	bool in_child;
};

static uint16_t port_of(int fd, bool local)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if ((local ? getsockname(fd, (struct sockaddr *)&ss, &len) : getpeername(fd, (struct sockaddr *)&ss, &len)) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

/* One server-side socket in state ESTABLISHED or, if the client hangs up,
 * CLOSE_WAIT. The client end of an ESTABLISHED pair is kept too. */
static int accepted(int family, int listener, uint16_t port, bool hang_up, int *client)
{
	int c = tgt_connect(family, port);
	int s = accept(listener, NULL, NULL);
	if (s < 0)
		die("accept");
	if (hang_up)
		close(c);
	else
		*client = c;
	return s;
}

static int udp(int family, bool connected)
{
	struct sockaddr_storage ss;
	socklen_t len = tgt_loopback(family, 0, &ss);
	int fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0)
		die("udp bind");
	if (connected) {
		/* connect to itself: a connected UDP socket with a known peer */
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
			die("udp connect");
	}
	return fd;
}

int main(int argc, char **argv)
{
	uint16_t p4, p6;
	int est4c = -1, est6c = -1, unused = -1;

	if (argc != 2) {
		fprintf(stderr, "usage: sockfarm READY-FILE\n");
		return 2;
	}
	int l4 = tgt_listen(AF_INET, 16, &p4), l6 = tgt_listen(AF_INET6, 16, &p6);
	struct sk s[] = {
		{ "l4", "tcp", "ipv4", "LISTEN", l4, -1, true },
		{ "l6", "tcp", "ipv6", "LISTEN", l6, -1, true },
		{ "est4", "tcp", "ipv4", "ESTAB", accepted(AF_INET, l4, p4, false, &est4c), -1, true },
		{ "est4c", "tcp", "ipv4", "ESTAB", est4c, -1, true },
		{ "cw4", "tcp", "ipv4", "CLOSE-WAIT", accepted(AF_INET, l4, p4, true, &unused), -1, true },
		{ "est6", "tcp", "ipv6", "ESTAB", accepted(AF_INET6, l6, p6, false, &est6c), -1, true },
		{ "est6c", "tcp", "ipv6", "ESTAB", est6c, -1, true },
		{ "cw6", "tcp", "ipv6", "CLOSE-WAIT", accepted(AF_INET6, l6, p6, true, &unused), -1, true },
		{ "u4", "udp", "ipv4", "UNCONN", udp(AF_INET, false), -1, false },
		{ "u6", "udp", "ipv6", "ESTAB", udp(AF_INET6, true), -1, true },
	};
	size_t n = sizeof(s) / sizeof(s[0]);
	int ready[2];
	if (pipe(ready) < 0)
		die("pipe");

	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		close(s[8].fd); /* the child does not share u4 */
		close(ready[0]);
		close(ready[1]); /* tells the parent we are set up */
		for (;;)
			pause();
	}
	close(ready[1]);
	char b;
	if (read(ready[0], &b, 1) < 0)
		die("wait for the child");
	s[4].dup_fd = dup(s[4].fd); /* cw4 has two fds in the parent */
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = s[4].fd };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, s[4].fd, &ev) < 0)
		die("epoll");

	char text[8192];
	size_t len = (size_t)snprintf(text, sizeof(text), "{\"pid\":%d,\"child\":%d,\"epoll_watches\":[%d,%d],\"sockets\":[",
				      (int)getpid(), (int)child, (int)getpid(), s[4].fd);
	for (size_t i = 0; i < n; i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"%s{\"name\":\"%s\",\"proto\":\"%s\",\"family\":\"%s\",\"state\":\"%s\","
					"\"lport\":%u,\"rport\":%u,\"owners\":[[%d,%d]",
					i ? "," : "", s[i].name, s[i].proto, s[i].family, s[i].state,
					port_of(s[i].fd, true), port_of(s[i].fd, false), (int)getpid(), s[i].fd);
		if (s[i].dup_fd >= 0)
			len += (size_t)snprintf(text + len, sizeof(text) - len, ",[%d,%d]", (int)getpid(), s[i].dup_fd);
		if (s[i].in_child)
			len += (size_t)snprintf(text + len, sizeof(text) - len, ",[%d,%d]", (int)child, s[i].fd);
		len += (size_t)snprintf(text + len, sizeof(text) - len, "]}");
	}
	snprintf(text + len, sizeof(text) - len, "]}\n");
	tgt_write_file_atomic(argv[1], text);
	for (;;)
		pause();
}
