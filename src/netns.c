#include "netns.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "util.h"

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SIOCGSKNS
#define SIOCGSKNS 0x894C
#endif

struct ns_name { uint64_t ino; char name[64]; };

static struct {
	char proc[256], run[256];
	uint64_t self;
	dev_t nsfs_dev;          /* the device of every namespace file */
	size_t n, cap;
	struct netns *v;
	size_t nnames, capnames;
	struct ns_name *names;
	size_t last;             /* the entry found last: processes of one
				  * namespace tend to come in runs */
} tab;

void netns_reset(void)
{
	for (size_t i = 0; i < tab.n; i++) {
		safe_close(tab.v[i].nsfd);
		safe_close(tab.v[i].nlfd);
	}
	free(tab.v);
	free(tab.names);
	memset(&tab, 0, sizeof(tab));
}

const char *netns_name(uint64_t ino)
{
	for (size_t i = 0; i < tab.nnames; i++)
		if (tab.names[i].ino == ino)
			return tab.names[i].name;
	return NULL;
}

static struct netns *find(uint64_t ino)
{
	if (tab.last < tab.n && tab.v[tab.last].ino == ino)
		return &tab.v[tab.last];
	for (size_t i = 0; i < tab.n; i++)
		if (tab.v[i].ino == ino) {
			tab.last = i;
			return &tab.v[i];
		}
	return NULL;
}

const struct netns *netns_find(uint64_t ino)
{
	return find(ino);
}

size_t netns_count(void)
{
	return tab.n;
}

size_t netns_searched(void)
{
	size_t n = 0;
	for (size_t i = 0; i < tab.n; i++)
		n += tab.v[i].searched;
	return n;
}

const struct netns *netns_at(size_t i)
{
	return i < tab.n ? &tab.v[i] : NULL;
}

uint64_t netns_self(void)
{
	return tab.self;
}

/* Register ino (nsfd taken over: closed if the namespace is known). */
static int add(uint64_t ino, int nsfd, const char *source, pid_t pid)
{
	struct netns *e = find(ino);
	if (e) {
		safe_close(nsfd);
		if (!e->pid)
			e->pid = pid;
		return 0;
	}
	int r = GROW(tab.v, tab.cap, tab.n);
	if (r < 0) {
		safe_close(nsfd);
		return r;
	}
	e = &tab.v[tab.n++];
	*e = (struct netns){ .ino = ino, .pid = pid, .source = source, .nsfd = nsfd, .nlfd = -1,
			     .self = ino == tab.self };
	const char *name = netns_name(ino);
	if (name)
		snprintf(e->name, sizeof(e->name), "%s", name);
	return 0;
}

static void read_names(void)
{
	DIR *d = opendir(tab.run);
	struct dirent *de;
	if (!d)
		return; /* no /run/netns: nothing is named */
	while ((de = readdir(d))) {
		struct stat st;
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(tab.names->name))
			continue;
		/* `ip netns add` leaves an empty regular file behind when the
		 * mount fails: only namespace files count */
		if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || st.st_dev != tab.nsfs_dev)
			continue;
		if (netns_name(st.st_ino) || GROW(tab.names, tab.capnames, tab.nnames) < 0)
			continue;
		tab.names[tab.nnames].ino = st.st_ino;
		memcpy(tab.names[tab.nnames].name, de->d_name, strlen(de->d_name) + 1); /* length checked above */
		tab.nnames++;
	}
	closedir(d);
}

int netns_init(const char *proc_root, const char *run_netns)
{
	char path[300];
	struct stat st;

	netns_reset();
	snprintf(tab.proc, sizeof(tab.proc), "%s", proc_root);
	snprintf(tab.run, sizeof(tab.run), "%s", run_netns);
	snprintf(path, sizeof(path), "%s/self/ns/net", proc_root);
	/* without a namespace file (a /proc that hides it) our own namespace
	 * is "0": dumps still work in it, only other namespaces are out of
	 * reach */
	if (stat(path, &st) == 0) {
		tab.self = st.st_ino;
		tab.nsfs_dev = st.st_dev;
		read_names();
	}
	return add(tab.self, -1, "self", getpid());
}

int netns_spec_path(const char *spec, const char *proc_root, const char *run_netns, char *path,
		    size_t size)
{
	int n;
	uint64_t pid;

	if (!spec || !*spec)
		return -EINVAL;
	if (strchr(spec, '/'))
		n = snprintf(path, size, "%s", spec);
	else if (parse_u64(spec, INT32_MAX, &pid) == 0 && pid > 0)
		n = snprintf(path, size, "%s/%llu/ns/net", proc_root, (unsigned long long)pid);
	else if (!strcmp(spec, ".") || !strcmp(spec, ".."))
		return -EINVAL;
	else
		n = snprintf(path, size, "%s/%s", run_netns, spec);
	return n < 0 || (size_t)n >= size ? -EINVAL : 0;
}

/* Open path as a network namespace: fd and inode, or -errno. */
static int open_netns(const char *path, uint64_t *ino)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* NS_GET_NSTYPE answers only on namespace files (ENOTTY elsewhere) */
	int type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET || fstat(fd, &st) < 0) {
		close(fd);
		return -EINVAL;
	}
	*ino = st.st_ino;
	return fd;
}

int netns_add_spec(const char *spec, uint64_t *ret_ino)
{
	char path[512];
	uint64_t ino = 0, pid = 0;
	int r = netns_spec_path(spec, tab.proc, tab.run, path, sizeof(path));
	if (r < 0)
		return r;
	int fd = open_netns(path, &ino);
	if (fd < 0)
		return fd;
	if (!strchr(spec, '/'))
		parse_u64(spec, INT32_MAX, &pid);
	if ((r = add(ino, fd, "--netns", (pid_t)pid)) < 0)
		return r;
	*ret_ino = ino;
	return 0;
}

int netns_pid_ino(pid_t pid, uint64_t *ino)
{
	char path[300];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%d/ns/net", tab.proc, (int)pid);
	if (stat(path, &st) < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	*ino = st.st_ino;
	return 0;
}

int netns_add_pid(pid_t pid, uint64_t *ret_ino)
{
	char path[300];
	uint64_t ino = 0;
	int r = netns_pid_ino(pid, &ino);
	if (r < 0)
		return r;
	if (!find(ino)) {
		snprintf(path, sizeof(path), "%s/%d/ns/net", tab.proc, (int)pid);
		int fd = open_netns(path, &ino);
		if (fd < 0)
			return fd == -ENOENT ? -ESRCH : fd;
		if ((r = add(ino, fd, "process", pid)) < 0)
			return r;
	}
	*ret_ino = ino;
	return 0;
}

int netns_add_fd(int nsfd, const char *source, uint64_t *ret_ino)
{
	struct stat st;
	if (ioctl(nsfd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(nsfd, &st) < 0) {
		safe_close(nsfd);
		return -EINVAL;
	}
	*ret_ino = st.st_ino;
	return add(st.st_ino, nsfd, source, 0);
}

int netns_add_all(void)
{
	DIR *d = opendir(tab.proc);
	struct dirent *de;
	int r = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) && r >= 0) {
		char rel[300];
		struct stat st;
		uint64_t pid;
		if (parse_u64(de->d_name, INT32_MAX, &pid) < 0 || !pid)
			continue;
		snprintf(rel, sizeof(rel), "%s/ns/net", de->d_name);
		/* a stat per process; a namespace is opened only when new */
		if (fstatat(dirfd(d), rel, &st, 0) < 0 || find(st.st_ino))
			continue;
		int fd = openat(dirfd(d), rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			continue; /* exited, or not ours to see */
		if (fstat(fd, &st) < 0) {
			close(fd);
			continue;
		}
		r = add(st.st_ino, fd, "process", (pid_t)pid);
	}
	closedir(d);
	for (size_t i = 0; i < tab.nnames && r >= 0; i++) {
		char path[600];
		uint64_t ino = 0;
		if (find(tab.names[i].ino))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tab.run, tab.names[i].name);
		int fd = open_netns(path, &ino);
		if (fd >= 0)
			r = add(ino, fd, "/run/netns", 0);
	}
	return r < 0 ? r : 0;
}

static int make_diag_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int rcvbuf = 1 << 20;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	/* nl_pid 0: the kernel picks the port id; libmnl reads it back */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

/* The short-lived thread: it enters each namespace in turn and makes the
 * socket there. Only it ever changes namespace, and it ends afterwards;
 * the main thread waits in pthread_join, so the table is not touched
 * concurrently. */
static void *opener(void *arg)
{
	for (size_t i = 0; i < tab.n; i++) {
		struct netns *e = &tab.v[i];
		if (e->self || e->nlfd >= 0 || e->nsfd < 0)
			continue;
		if (setns(e->nsfd, CLONE_NEWNET) < 0) {
			e->err = -errno;
			continue;
		}
		int fd = make_diag_socket();
		if (fd < 0)
			e->err = fd;
		else
			e->nlfd = fd;
	}
	return arg;
}

/* Each namespace costs one fd for its socket (and one more while it is
 * made): raise the soft limit to the hard one when the set is large. */
static void ensure_fd_room(size_t need)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need + 256) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int netns_open_sockets(void)
{
	bool others = false;

	ensure_fd_room(2 * tab.n);
	for (size_t i = 0; i < tab.n; i++) {
		struct netns *e = &tab.v[i];
		if (e->nlfd >= 0 || e->err)
			continue;
		if (e->self) {
			int fd = make_diag_socket();
			if (fd < 0)
				e->err = fd;
			else
				e->nlfd = fd;
		} else
			others |= e->nsfd >= 0;
	}
	if (others) {
		pthread_t t;
		sigset_t all, old;
		/* the thread takes no signals: sockreap's handlers stay with
		 * the main thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		int r = pthread_create(&t, NULL, opener, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r)
			return -r;
		pthread_join(t, NULL);
	}
	for (size_t i = 0; i < tab.n; i++)
		tab.v[i].nsfd = safe_close(tab.v[i].nsfd);
	return 0;
}

int netns_dump(uint64_t ino, uint8_t family, uint8_t proto, uint32_t states, struct sock_list *out)
{
	struct netns *e = find(ino);
	if (!e)
		return -ENOENT;
	if (e->nlfd < 0)
		return e->err ? e->err : -EBADF;
	size_t start = out->n;
	int r = family == AF_UNIX ? diag_dump_unix_fd(e->nlfd, states, out, NULL)
				  : diag_dump_fd(e->nlfd, family, proto, states, out, NULL);
	e->searched = true;
	for (size_t i = start; i < out->n; i++)
		out->v[i].netns = ino;
	return r;
}

int netns_of_fd(int pidfd, int fd, int *ret_nsfd)
{
	int dup = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (dup < 0)
		return -errno;
	int ns = ioctl(dup, SIOCGSKNS);
	int r = ns < 0 ? -errno : 0;
	close(dup);
	if (r < 0)
		return r;
	*ret_nsfd = ns;
	return 0;
}
