/* Small helpers shared by the test target programs (the "production
 * processes" sockreap reaches into). Loopback only. */
#pragma once
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

__attribute__((format(printf, 1, 2), noreturn)) static inline void die(const char *fmt, ...)
{
	va_list ap;
	int err = errno;
	va_start(ap, fmt);
	fprintf(stderr, "target %d: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (%s)\n", strerror(err));
	exit(70);
}

/* Loopback address of family (AF_INET: 127.0.0.1, AF_INET6: ::1). */
static inline socklen_t tgt_loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a->sin_port = htons(port);
	return sizeof(*a);
}

/* A TCP listener on loopback, ephemeral port stored in *port. */
static inline int tgt_listen(int family, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = tgt_loopback(family, 0, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0)
		die("listen on loopback");
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname");
	*port = ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					 : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static inline int tgt_connect(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = tgt_loopback(family, port, &ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0)
		die("connect to loopback port %u", port);
	return fd;
}

/* Write text to path so readers never see a partial file. */
static inline void tgt_write_file_atomic(const char *path, const char *text)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) < 0)
		die("write %s", path);
}

static inline double tgt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* n loopback connections whose client end is closed at once: n accepted
 * sockets in CLOSE_WAIT, fds first..last (ascending, no gaps unless
 * something else was opened meanwhile). The listener's fd is returned. */
static inline int tgt_leak_close_wait(int n, uint16_t *port, int *first, int *last)
{
	int l = tgt_listen(AF_INET, n + 8, port);
	*first = *last = -1;
	for (int i = 0; i < n; i++) {
		int c = tgt_connect(AF_INET, *port);
		int s = accept(l, NULL, NULL);
		if (s < 0)
			die("accept");
		close(c); /* the peer is gone: s is in CLOSE_WAIT */
		if (*first < 0)
			*first = s;
		*last = s;
	}
	return l;
}
