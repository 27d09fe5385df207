#include "procfd.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "procinfo.h"
#include "util.h"
#include <netinet/in.h>
#include <sys/socket.h>

/* Open-addressing hash set from inode to socket index: a /proc walk looks up
 * every socket fd of every process, so this must not be a list scan. A slot
 * is wanted as a socket (its index), as a peer, or as both. */
struct inode_slot { uint64_t inode; size_t sock; bool is_sock, is_peer; };
struct inode_set {
	size_t mask;
	struct inode_slot *slot;
};

static size_t inode_hash(uint64_t v)
{
	v ^= v >> 33;
	v *= 0xff51afd7ed558ccdull;
	v ^= v >> 33;
	return (size_t)v;
}

static struct inode_slot *inode_set_slot(struct inode_set *h, uint64_t ino)
{
	size_t j = inode_hash(ino) & h->mask;
	while (h->slot[j].inode && h->slot[j].inode != ino)
		j = (j + 1) & h->mask;
	h->slot[j].inode = ino;
	return &h->slot[j];
}

static int inode_set_init(struct inode_set *h, const struct sock_list *socks, const uint64_t *peers,
			  size_t npeers)
{
	size_t size = 16;
	if (!socks) {
		h->slot = NULL;
		h->mask = 0;
		return 0;
	}
	while (size < (socks->n + npeers) * 2)
		size <<= 1;
	h->slot = calloc(size, sizeof(*h->slot));
	if (!h->slot)
		return -ENOMEM;
	h->mask = size - 1;
	for (size_t i = 0; i < socks->n; i++) {
		if (!socks->v[i].inode)
			continue;
		struct inode_slot *sl = inode_set_slot(h, socks->v[i].inode);
		/* The same inode twice would be the same socket seen twice in
		 * one dump: keep the first. */
		if (!sl->is_sock) {
			sl->is_sock = true;
			sl->sock = i;
		}
	}
	for (size_t i = 0; i < npeers; i++)
		if (peers[i])
			inode_set_slot(h, peers[i])->is_peer = true;
	return 0;
}

static const struct inode_slot *inode_set_get(const struct inode_set *h, uint64_t ino)
{
	if (!h->slot)
		return NULL;
	for (size_t j = inode_hash(ino) & h->mask; h->slot[j].inode; j = (j + 1) & h->mask)
		if (h->slot[j].inode == ino)
			return &h->slot[j];
	return NULL;
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
	_cleanup_free_ char *stat = NULL;
	if (procinfo_read_file(piddir, "stat", &stat, NULL) == 0 && procinfo_stat_start_time(stat, &o->start_time) < 0)
		o->start_time = 0;
}

static int push_owner(struct owner **v, size_t *cap, size_t *n, const struct owner *o)
{
	int r = grow((void **)v, cap, *n, sizeof(**v));
	if (r < 0)
		return r;
	(*v)[(*n)++] = *o;
	return 0;
}

/* What one scan needs besides its output. */
struct scan_ctx {
	const char *proc_root;
	struct inode_set want, known;
	bool hidden;                /* collect hidden fds */
};

/* The process's namespace and container, read once, on its first owner
 * or hidden fd. */
static int proc_info(int piddir, pid_t pid, struct owner_list *out, const struct owner_proc **ret)
{
	struct stat st;
	int r = GROW(out->proc, out->capproc, out->nproc);
	if (r < 0)
		return r;
	struct owner_proc *pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	pr->pid = pid;
	if (fstatat(piddir, "ns/net", &st, 0) == 0)
		pr->netns = st.st_ino;
	container_read(piddir, &pr->ctr);
	out->proc[out->nproc++] = pr;
	*ret = pr;
	return 0;
}

/* TCP/UDP by the name sockfs gives the socket's file (the protocol's name:
 * "TCP", "TCPv6", "UDP", "UDPv6"); false for every other kind. */
static bool inet_kind(int fdd, const char *fdname, uint8_t *family, uint8_t *proto)
{
	char path[4096], name[32];
	/* through the fd directory being read: /PID/fd or, for a zombie
	 * leader, /PID/task/TID/fd */
	if (snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", fdd, fdname) >= (int)sizeof(path))
		return false;
	ssize_t n = getxattr(path, "system.sockprotoname", name, sizeof(name) - 1);
	if (n <= 0)
		return false;
	name[n] = '\0';
	*family = strstr(name, "v6") ? AF_INET6 : AF_INET;
	if (!strcmp(name, "TCP") || !strcmp(name, "TCPv6"))
		*proto = IPPROTO_TCP;
	else if (!strcmp(name, "UDP") || !strcmp(name, "UDPv6"))
		*proto = IPPROTO_UDP;
	else
		return false;
	return true;
}

/* Identity for a new owner or hidden fd of the process: the first one
 * reads it, the rest copy it. */
struct proc_seen {
	bool read;
	struct owner id;
};

static int fill_identity(int piddir, pid_t pid, struct proc_seen *seen, struct owner *o,
			 struct owner_list *out)
{
	if (!seen->read) {
		seen->id = (struct owner){ .pid = pid, .uid = (uid_t)-1 };
		read_identity(piddir, &seen->id);
		int r = proc_info(piddir, pid, out, &seen->id.proc);
		if (r < 0)
			return r;
		seen->read = true;
	}
	o->uid = seen->id.uid;
	o->proc = seen->id.proc;
	o->start_time = seen->id.start_time;
	memcpy(o->comm, seen->id.comm, sizeof(o->comm));
	return 0;
}

static int hidden_fd(int fdd, int piddir, pid_t pid, const char *fdname, int fd,
		     uint64_t ino, struct proc_seen *seen, struct owner_list *out)
{
	uint8_t family, proto;
	if (!inet_kind(fdd, fdname, &family, &proto))
		return 0;
	int r = GROW(out->hid, out->caphid, out->nhid);
	if (r < 0)
		return r;
	struct hidden_fd *h = &out->hid[out->nhid];
	*h = (struct hidden_fd){ .o = { .pid = pid, .fd = fd, .inode = ino, .sock = SIZE_MAX }, .inode = ino,
				 .family = family, .proto = proto };
	if ((r = fill_identity(piddir, pid, seen, &h->o, out)) < 0)
		return r;
	out->nhid++;
	return 0;
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
	char status[4096], state[32];
	if (read_small_file(piddir, "status", status, sizeof(status)) < 0 ||
	    procinfo_status_field(status, "State", state, sizeof(state)) < 0 || state[0] != 'Z')
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

/* One fd directory: owners of wanted sockets, hidden fds (c->hidden) and
 * epoll fds into out; *seen carries the process's identity across the
 * calls for one process. *entries counts the fds seen; *denied: a link
 * could not be read. */
static int scan_fds(const struct scan_ctx *c, int fdd, int piddir, pid_t pid, struct proc_seen *seen,
		    struct owner_list *out, size_t *entries, bool *denied)
{
	DIR *d = fdopendir(fdd);
	if (!d) {
		close(fdd);
		return 0;
	}
	size_t first = out->n, hfirst = out->nhid;
	struct dirent *de;
	bool io_uring = false;
	int r = 0;
	while ((de = readdir(d))) {
		char link[64];
		uint64_t fdnum, ino;
		const struct inode_slot *sl;

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
		if (!strcmp(link, "anon_inode:[io_uring]")) {
			io_uring = true;
			continue;
		}
		if (!strcmp(link, "anon_inode:[eventpoll]")) {
			if ((r = GROW(out->ep, out->capep, out->nep)) < 0)
				break;
			out->ep[out->nep++] = (struct epoll_fd){ pid, (int)fdnum };
			continue;
		}
		ino = procfd_socket_inode(link);
		if (!ino)
			continue;
		if (!(sl = inode_set_get(&c->want, ino))) {
			if (c->hidden && !inode_set_get(&c->known, ino) &&
			    (r = hidden_fd(fdd, piddir, pid, de->d_name, (int)fdnum, ino, seen, out)) < 0)
				break;
			continue;
		}
		/* comm, uid, namespace, container once per process, when it
		 * owns something wanted */
		struct owner o = { .pid = pid, .fd = (int)fdnum, .inode = ino };
		if ((r = fill_identity(piddir, pid, seen, &o, out)) < 0)
			break;
		if (sl->is_sock) {
			o.sock = sl->sock;
			if ((r = push_owner(&out->v, &out->cap, &out->n, &o)) < 0)
				break;
		}
		if (sl->is_peer) {
			o.sock = SIZE_MAX;
			if ((r = push_owner(&out->peer, &out->cappeer, &out->npeer, &o)) < 0)
				break;
		}
	}
	closedir(d);
	for (size_t i = first; i < out->n; i++)
		out->v[i].io_uring = io_uring;
	for (size_t i = hfirst; i < out->nhid; i++)
		out->hid[i].o.io_uring = io_uring;
	return r;
}

static int scan_pid(const struct scan_ctx *c, int piddir, pid_t pid, struct owner_list *out)
{
	int fdd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdd < 0) {
		if (errno == EACCES || errno == EPERM)
			return add_hidden(out, piddir, pid, true);
		return 0; /* gone meanwhile: not an error */
	}
	size_t first = out->n, entries = 0;
	struct proc_seen seen = { 0 };
	bool denied = false;
	int r = scan_fds(c, fdd, piddir, pid, &seen, out, &entries, &denied);
	if (r >= 0 && !entries && !denied && (fdd = open_thread_fds(piddir, pid)) >= 0)
		r = scan_fds(c, fdd, piddir, pid, &seen, out, &entries, &denied);
	if (r >= 0 && denied)
		r = add_hidden(out, piddir, pid, false);
	if (out->n == first && !seen.read)
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

static int peer_cmp(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	return owner_cmp(a, b);
}

int procfd_scan_all(const char *proc_root, const struct sock_list *socks, const uint64_t *peers, size_t npeers,
		    const struct sock_list *known, struct owner_list *out)
{
	struct scan_ctx c = { .proc_root = proc_root, .hidden = known != NULL };
	int r = inode_set_init(&c.want, socks, peers, npeers);
	if (r < 0 || (r = inode_set_init(&c.known, known, NULL, 0)) < 0) {
		free(c.want.slot);
		return r;
	}

	DIR *d = opendir(proc_root);
	if (!d) {
		r = -errno;
		goto out;
	}
	size_t first = out->n, pfirst = out->npeer;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t pid;
		if (!parse_pid(de->d_name, &pid))
			continue;
		int piddir = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (piddir < 0)
			continue; /* exited meanwhile */
		r = scan_pid(&c, piddir, pid, out);
		close(piddir);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r >= 0 && out->n > first)
		qsort(out->v + first, out->n - first, sizeof(*out->v), owner_cmp);
	if (r >= 0 && out->npeer > pfirst)
		qsort(out->peer + pfirst, out->npeer - pfirst, sizeof(*out->peer), peer_cmp);
out:
	free(c.want.slot);
	free(c.known.slot);
	return r < 0 ? r : 0;
}

int procfd_scan(const char *proc_root, const struct sock_list *socks, struct owner_list *out)
{
	return procfd_scan_peers(proc_root, socks, NULL, 0, out);
}

int procfd_scan_peers(const char *proc_root, const struct sock_list *socks, const uint64_t *peers,
		      size_t npeers, struct owner_list *out)
{
	return procfd_scan_all(proc_root, socks, peers, npeers, NULL, out);
}

size_t procfd_peer_owners(const struct owner_list *l, uint64_t inode, size_t *first)
{
	size_t lo = 0, hi = l->npeer;
	while (lo < hi) { /* the first with an inode >= inode */
		size_t mid = lo + (hi - lo) / 2;
		if (l->peer[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t n = 0;
	while (lo + n < l->npeer && l->peer[lo + n].inode == inode)
		n++;
	*first = lo;
	return inode ? n : 0;
}

/* fdinfo of an epoll fd has one line per watched file:
 * "tfd:        5 events:       19 data:                5  pos:0 ino:1a3f sdev:8".
 * The fd number alone could be a stale registration of a number closed and
 * reused since, so the inode is kept too. */
int procfd_parse_epoll_fdinfo(const char *text, int epfd, struct epoll_watches *out)
{
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[256];
		int tfd;
		uint32_t events;
		uint64_t ino, data;
		const char *p;

		snprintf(buf, sizeof(buf), "%.*s", (int)MIN(len, sizeof(buf) - 1), line);
		line = nl ? nl + 1 : NULL;
		if (sscanf(buf, "tfd: %d events: %" SCNx32 " data: %" SCNx64, &tfd, &events, &data) != 3 ||
		    !(p = strstr(buf, " ino:")) || sscanf(p + 5, "%" SCNx64, &ino) != 1)
			continue;
		if (GROW(out->v, out->cap, out->n) < 0)
			return -ENOMEM;
		out->v[out->n++] = (struct epoll_watch){ .fd = tfd, .inode = ino, .epfd = epfd,
							 .events = events, .data = data };
	}
	return 0;
}

/* An epoll fd's fdinfo has one line per watched file; an epoll set can
 * watch many thousands, so read it whole. */
static int read_epoll_fdinfo(int piddir, int epfd, const char *fdname, struct epoll_watches *out)
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
	int r = procfd_parse_epoll_fdinfo(text, epfd, out);
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
		r = read_epoll_fdinfo(piddir, epfds[i], name, out);
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

int procfd_fd_flags(const char *proc_root, pid_t pid, int fd, unsigned *ret)
{
	char path[96], buf[512];
	snprintf(path, sizeof(path), "%s/%d/fdinfo/%d", proc_root, (int)pid, fd);
	ssize_t n = read_small_file(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const char *p = strstr(buf, "flags:");
	unsigned flags;
	if (!p || sscanf(p + 6, "%o", &flags) != 1)
		return -EIO;
	*ret = flags;
	return 0;
}

int procfd_fd_headroom(const char *proc_root, pid_t pid, uint64_t *nopen, uint64_t *limit)
{
	char path[96], buf[4096];
	snprintf(path, sizeof(path), "%s/%d/limits", proc_root, (int)pid);
	ssize_t n = read_small_file(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	const char *p = strstr(buf, "Max open files");
	char soft[32];
	if (!p || sscanf(p + strlen("Max open files"), " %31s", soft) != 1)
		return -EIO;
	*limit = strcmp(soft, "unlimited") ? strtoull(soft, NULL, 10) : UINT64_MAX;

	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	uint64_t k = 0;
	for (struct dirent *de; (de = readdir(d));)
		k += de->d_name[0] != '.';
	closedir(d);
	*nopen = k;
	return 0;
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
	for (size_t i = 0; i < l->nproc; i++)
		free(l->proc[i]);
	free(l->proc);
	free(l->hid);
	free(l->v);
	free(l->ep);
	free(l->hidden);
	free(l->peer);
	*l = (struct owner_list){ 0 };
}
