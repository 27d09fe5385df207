/* nshop: holds CLOSE-WAIT sockets of a network namespace it has left, so
 * that nothing but those sockets pins the namespace (no process is in it,
 * no bind mount names it): the case sockreap can only find by asking the
 * sockets themselves (SIOCGSKNS).
 *
 *   nshop --leak N --ready FILE
 *
 * It unshares a new network namespace, brings its loopback up, opens a
 * listener and N connections to it, closes the client ends (the accepted
 * server ends go to CLOSE-WAIT, held here), then setns()es back to the
 * namespace it started in and waits to be killed. The ready FILE is JSON:
 * {"pid","port","netns","home_netns","leak_first","leak_last"} (netns: the
 * inode of the namespace it left; leaked fds are consecutive). */
#include "target.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

static unsigned long long ns_ino(void)
{
	struct stat st;
	if (stat("/proc/self/ns/net", &st) < 0)
		die("stat /proc/self/ns/net");
	return (unsigned long long)st.st_ino;
}

static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die("SIOCGIFFLAGS lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die("SIOCSIFFLAGS lo");
	close(s);
}

int main(int argc, char **argv)
{
	const char *ready = NULL;
	int n = 0;
	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--ready"))
			ready = argv[++i];
		else if (!strcmp(argv[i], "--leak"))
			n = atoi(argv[++i]);
	}
	if (!ready || n <= 0) {
		fprintf(stderr, "usage: nshop --leak N --ready FILE\n");
		return 2;
	}
	int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	unsigned long long home_ino = ns_ino();
	if (home < 0 || unshare(CLONE_NEWNET) < 0)
		die("unshare(CLONE_NEWNET)");
	unsigned long long away = ns_ino();
	loopback_up();

	uint16_t port;
	int l = tgt_listen(AF_INET, n + 8, &port);
	int *client = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < n; i++)
		client[i] = tgt_connect(AF_INET, port);
	/* accept after every connect, so the accepted fds are consecutive */
	int first = -1, last = -1;
	for (int i = 0; i < n; i++) {
		int fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			die("accept");
		if (first < 0)
			first = fd;
		last = fd;
	}
	for (int i = 0; i < n; i++)
		close(client[i]);
	if (setns(home, CLONE_NEWNET) < 0)
		die("setns back home");
	close(home);
	if (ns_ino() != home_ino)
		die("not back in the home namespace");

	char text[512];
	snprintf(text, sizeof(text),
		 "{\"pid\":%d,\"port\":%u,\"netns\":%llu,\"home_netns\":%llu,\"leak_first\":%d,\"leak_last\":%d}\n",
		 (int)getpid(), port, away, home_ino, first, last);
	tgt_write_file_atomic(ready, text);
	for (;;)
		pause();
}
