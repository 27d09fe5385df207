#include "procfd.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* Open-addressing hash set from inode to socket index: a /proc walk looks up
 * every socket fd of every process, so this must not be a list scan. */
struct inode_set {
	size_t mask;
	struct { uint64_t inode; size_t sock; } *slot;
};

static size_t inode_hash(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return (size_t)v;
}

static int inode_set_init(struct inode_set *h, const struct sock_list *socks)
{
	size_t size = 16;
	while (size < socks->n * 2)
		size <<= 1;
	h->slot = calloc(size, sizeof(*h->slot));
	if (!h->slot)
		return -ENOMEM;
	h->mask = size - 1;
	for (size_t i = 0; i < socks->n; i++) {
		uint64_t ino = socks->v[i].inode;
		if (!ino)
			continue;
		size_t j = inode_hash(ino) & h->mask;
		while (h->slot[j].inode && h->slot[j].inode != ino)
			j = (j + 1) & h->mask;
		/* The same inode twice would be the same socket seen twice in
		 * one dump: keep the first. */
		if (!h->slot[j].inode) {
			h->slot[j].inode = ino;
			h->slot[j].sock = i;
		}
	}
	return 0;
}

static bool inode_set_get(const struct inode_set *h, uint64_t ino, size_t *sock)
{
	for (size_t j = inode_hash(ino) & h->mask; h->slot[j].inode; j = (j + 1) & h->mask)
		if (h->slot[j].inode == ino) {
			*sock = h->slot[j].sock;
			return true;
		}
	return false;
}

uint64_t procfd_socket_inode(const char *link)
{
	uint64_t ino;
	char tail;

	if (strncmp(link, "socket:[", 8) != 0)
		return 0;
	if (sscanf(link + 8, "%" SCNu64 "%c", &ino, &tail) != 2 || tail != ']')
		return 0;
	return ino;
}

static bool parse_pid(const char *name, pid_t *pid)
{
	uint64_t v;
	if (parse_u64(name, INT32_MAX, &v) < 0 || v == 0)
		return false;
	*pid = (pid_t)v;
	return true;
}

/* Fill comm and uid of a process, once it is known to own a wanted socket. */
static void read_identity(int piddir, struct owner *o)
{
	char buf[64];
	struct stat st;

	ssize_t n = read_small_file(piddir, "comm", buf, sizeof(buf));
	if (n > 0) {
		/* the kernel ends the name with a newline; the name itself
		 * may hold one (a program named so): strip the last only */
		if (buf[n - 1] == '\n')
			buf[--n] = '\0';
		memcpy(o->comm, buf, MIN((size_t)n + 1, sizeof(o->comm) - 1));
	}
	/* /proc/PID is owned by the process's effective uid (root for
	 * non-dumpable processes, as ss shows them too). */
	if (fstatat(piddir, "status", &st, 0) == 0)
		o->uid = st.st_uid;
}

static int add_hidden(struct owner_list *out, int piddir, pid_t pid, bool dir)
{
	int r = GROW(out->hidden, out->caphidden, out->nhidden);
	if (r < 0)
		return r;
	struct owner o = { 0 };
	read_identity(piddir, &o);
	struct hidden_proc *h = &out->hidden[out->nhidden++];
	*h = (struct hidden_proc){ .pid = pid, .dir = dir };
	memcpy(h->comm, o.comm, sizeof(h->comm));
	return 0;
}

/* When the main thread has exited (pthread_exit in main: a zombie leader),
 * /proc/PID/fd is empty, yet the live threads share the fd table: read it
 * through one of them. An fd directory, or -ENOENT. */
static int open_thread_fds(int piddir, pid_t pid)
{
	char status[4096], state[8];
	if (read_small_file(piddir, "status", status, sizeof(status)) < 0 ||
	    proc_status_field(status, "State", state, sizeof(state)) < 0 || state[0] != 'Z')
		return -ENOENT;
	int tfd = openat(piddir, "task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return -ENOENT;
	DIR *t = fdopendir(tfd);
	if (!t) {
		close(tfd);
		return -ENOENT;
	}
	int fdd = -ENOENT;
	struct dirent *de;
	while (fdd < 0 && (de = readdir(t))) {
		pid_t tid;
		char rel[64];
		if (!parse_pid(de->d_name, &tid) || tid == pid)
			continue;
		snprintf(rel, sizeof(rel), "%d/fd", (int)tid);
		int fd = openat(tfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			fdd = fd;
	}
	closedir(t);
	return fdd;
}

/* One fd directory: owners of wanted sockets and epoll fds into out.
 * *entries counts the fds seen; *denied: a link could not be read. */
static int scan_fds(int fdd, int piddir, pid_t pid, const struct inode_set *h, struct owner_list *out,
		    size_t *entries, bool *denied)
{
	DIR *d = fdopendir(fdd);
	if (!d) {
		close(fdd);
		return 0;
	}
	size_t first = out->n;
	struct dirent *de;
	int r = 0;
	while ((de = readdir(d))) {
		char link[64];
		uint64_t fdnum, ino;
		size_t sock;

		if (parse_u64(de->d_name, INT32_MAX, &fdnum) < 0)
			continue;
		(*entries)++;
		ssize_t n = readlinkat(fdd, de->d_name, link, sizeof(link) - 1);
		if (n < 0) {
			if (errno == EACCES || errno == EPERM) {
				*denied = true;
				break;
			}
			continue; /* closed meanwhile */
		}
		link[n] = '\0';
		if (!strcmp(link, "anon_inode:[eventpoll]")) {
			if ((r = GROW(out->ep, out->capep, out->nep)) < 0)
				break;
			out->ep[out->nep++] = (struct epoll_fd){ pid, (int)fdnum };
			continue;
		}
		ino = procfd_socket_inode(link);
		if (!ino || !inode_set_get(h, ino, &sock))
			continue;
		if ((r = GROW(out->v, out->cap, out->n)) < 0)
			break;
		struct owner *o = &out->v[out->n++];
		*o = (struct owner){ .pid = pid, .fd = (int)fdnum, .sock = sock, .uid = (uid_t)-1 };
		if (out->n - 1 == first)
			read_identity(piddir, o);
		else {
			o->uid = out->v[first].uid;
			memcpy(o->comm, out->v[first].comm, sizeof(o->comm));
		}
	}
	closedir(d);
	return r;
}

static int scan_pid(int piddir, pid_t pid, const struct inode_set *h, struct owner_list *out)
{
	int fdd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0) {
		if (errno == EACCES || errno == EPERM)
			return add_hidden(out, piddir, pid, true);
		return 0; /* gone meanwhile: not an error */
	}
	size_t first = out->n, entries = 0;
	bool denied = false;
	int r = scan_fds(fdd, piddir, pid, h, out, &entries, &denied);
	if (r >= 0 && !entries && !denied && (fdd = open_thread_fds(piddir, pid)) >= 0)
		r = scan_fds(fdd, piddir, pid, h, out, &entries, &denied);
	if (r >= 0 && denied)
		r = add_hidden(out, piddir, pid, false);
	if (out->n == first)
		while (out->nep > 0 && out->ep[out->nep - 1].pid == pid)
			out->nep--; /* owns nothing we want: its epoll sets do not matter */
	return r;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

int procfd_scan(const char *proc_root, const struct sock_list *socks, struct owner_list *out)
{
	struct inode_set h;
	int r = inode_set_init(&h, socks);
	if (r < 0)
		return r;

	DIR *d = opendir(proc_root);
	if (!d) {
		r = -errno;
		free(h.slot);
		return r;
	}
	size_t first = out->n;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid;
		if (!parse_pid(de->d_name, &pid))
			continue;
		int piddir = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (piddir < 0)
			continue; /* exited meanwhile */
		r = scan_pid(piddir, pid, &h, out);
		close(piddir);
		if (r < 0)
			break;
	}
	closedir(d);
	free(h.slot);
	if (r >= 0 && out->n > first)
		qsort(out->v + first, out->n - first, sizeof(*out->v), owner_cmp);
	return r < 0 ? r : 0;
}

/* fdinfo of an epoll fd has one line per watched file:
 * "tfd:        5 events:       19 data:                5  pos:0 ino:1a3f sdev:8".
 * The fd number alone could be a stale registration of a number closed and
 * reused since, so the inode is kept too. */
int procfd_parse_epoll_fdinfo(const char *text, struct epoll_watches *out)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[256];
		int tfd;
		uint64_t ino;
		const char *p;

		snprintf(buf, sizeof(buf), "%.*s", (int)MIN(len, sizeof(buf) - 1), line);
		line = nl ? nl + 1 : NULL;
		if (sscanf(buf, "tfd: %d", &tfd) != 1 || !(p = strstr(buf, " ino:")) ||
		    sscanf(p + 5, "%" SCNx64, &ino) != 1)
			continue;
		if (GROW(out->v, out->cap, out->n) < 0)
			return -ENOMEM;
		out->v[out->n++] = (struct epoll_watch){ tfd, ino };
	}
	return 0;
}

/* An epoll fd's fdinfo has one line per watched file; an epoll set can
 * watch many thousands, so read it whole. */
static int read_epoll_fdinfo(int piddir, const char *fdname, struct epoll_watches *out)
{
	char info[300], chunk[4096];
	char *text = NULL;
	size_t len = 0;
	snprintf(info, sizeof(info), "fdinfo/%s", fdname);
	_cleanup_close_ int ifd = openat(piddir, info, O_RDONLY | O_CLOEXEC);
	if (ifd < 0)
		return 0; /* closed meanwhile */
	FILE *m = open_memstream(&text, &len);
	if (!m)
		return -ENOMEM;
	ssize_t k;
	while ((k = read(ifd, chunk, sizeof(chunk))) > 0)
		fwrite(chunk, 1, (size_t)k, m);
	if (fclose(m) != 0) {
		free(text);
		return -ENOMEM;
	}
	int r = procfd_parse_epoll_fdinfo(text, out);
	free(text);
	return r;
}

int procfd_epoll_watches(const char *proc_root, pid_t pid, const int *epfds, size_t nepfds,
			 struct epoll_watches *out)
{
	char path[64];
	snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
	_cleanup_close_ int piddir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir < 0)
		return -errno;
	int r = 0;
	for (size_t i = 0; i < nepfds && r >= 0; i++) {
		char name[16];
		snprintf(name, sizeof(name), "%d", epfds[i]);
		r = read_epoll_fdinfo(piddir, name, out);
	}
	return r;
}

bool epoll_watches_has(const struct epoll_watches *w, int fd, uint64_t inode)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->v[i].fd == fd && w->v[i].inode == inode)
			return true;
	return false;
}

/* A zombie leader's fds, through one of its live threads. */
static ssize_t thread_fd_link(const char *proc_root, pid_t pid, int fd, char *link, size_t size)
{
	char path[96], name[16];
	snprintf(path, sizeof(path), "%s/%d", proc_root, (int)pid);
	_cleanup_close_ int piddir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (piddir < 0)
		return -ENOENT;
	_cleanup_close_ int fdd = open_thread_fds(piddir, pid);
	if (fdd < 0)
		return -ENOENT;
	snprintf(name, sizeof(name), "%d", fd);
	ssize_t n = readlinkat(fdd, name, link, size);
	return n < 0 ? -errno : n;
}

int procfd_fd_check(const char *proc_root, pid_t pid, int fd, uint64_t inode)
{
	char path[96], link[64];
	snprintf(path, sizeof(path), "%s/%d/fd/%d", proc_root, (int)pid, fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 && errno == ENOENT)
		n = thread_fd_link(proc_root, pid, fd, link, sizeof(link) - 1);
	else if (n < 0)
		n = -errno;
	if (n < 0)
		return (int)n;
	link[n] = '\0';
	return procfd_socket_inode(link) == inode;
}

bool procfd_fd_is(const char *proc_root, pid_t pid, int fd, uint64_t inode)
{
	return procfd_fd_check(proc_root, pid, fd, inode) == 1;
}

void owner_list_free(struct owner_list *l)
{
	free(l->v);
	free(l->ep);
	free(l->hidden);
	*l = (struct owner_list){ 0 };
}
