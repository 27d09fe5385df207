#include "discover.h"

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "container.h"
#include "netns.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define RUN_NETNS "/run/netns"

static const uint8_t families[] = { AF_INET, AF_INET6 };
static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };

/* States in which a socket never has a file, so never an owner: TIME_WAIT
 * and requests. The known set (below) can leave them to the kernel filter. */
#define SK_NO_INODE (1u << SK_TIME_WAIT | 1u << SK_SYN_RECV | 1u << SK_NEW_SYN_RECV)

struct run {
	const struct options *o;
	const char *proc_root;
	struct discovery *d;
	/* Every socket dumped, matching or not: a socket fd in /proc whose
	 * inode is not among them lives in a namespace no dump covered. For
	 * that to hold, every state that can have an inode is dumped (TIME_WAIT
	 * floods stay filtered in the kernel). Only when hidden sockets matter,
	 * i.e. without --netns. */
	bool known;
	struct sock_list all;
	uint64_t *ns;             /* namespaces to dump, in order */
	size_t nns, capns, ndumped;
	char *err;
	size_t errlen;
};

static int errf(struct run *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int errf(struct run *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err, r->errlen, fmt, ap);
	va_end(ap);
	return code;
}

static int want_ns(struct run *r, uint64_t ino)
{
	for (size_t i = 0; i < r->nns; i++)
		if (r->ns[i] == ino)
			return 0;
	int e = GROW(r->ns, r->capns, r->nns);
	if (e < 0)
		return e;
	r->ns[r->nns++] = ino;
	return 1;
}

static uint32_t dump_states(const struct run *r)
{
	uint32_t states = query_states(&r->o->q);
	return r->known ? states | (SK_ALL_STATES & ~SK_NO_INODE) : states;
}

static int skip_ns(struct run *r, const struct netns *e)
{
	struct discovery *d = r->d;
	struct netns_skip *n = reallocarray(d->skipped, d->nskipped + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	d->skipped = n;
	d->skipped[d->nskipped++] = (struct netns_skip){ e->ino, e->pid, -e->err };
	return 0;
}

/* Dump every namespace not dumped yet; the matching sockets go to the
 * discovery, all of them to the known set. */
static int dump_pending(struct run *r)
{
	const struct query *q = &r->o->q;
	int e = netns_open_sockets();
	if (e < 0)
		return errf(r, e, "cannot start the thread that enters network namespaces: %s", strerror(-e));
	for (; r->ndumped < r->nns; r->ndumped++) {
		uint64_t ino = r->ns[r->ndumped];
		const struct netns *ns = netns_find(ino);
		if (!ns)
			continue;
		if (ns->nlfd < 0) {
			/* asked for by name: nothing else would do */
			if (r->o->netns.n)
				return errf(r, ns->err ? ns->err : -EBADF, "cannot enter network namespace net:[%llu]: %s",
					    (unsigned long long)ino, strerror(ns->err ? -ns->err : EBADF));
			if ((e = skip_ns(r, ns)) < 0)
				return e;
			continue;
		}
		size_t start = r->all.n;
		for (size_t f = 0; f < ARRAY_SIZE(families); f++)
			for (size_t p = 0; p < ARRAY_SIZE(protos); p++) {
				if (!query_wants(q, families[f], protos[p]))
					continue;
				e = netns_dump(ino, families[f], protos[p], dump_states(r), &r->all);
				if (e < 0)
					return errf(r, e, "sock_diag dump of %s%s sockets in net:[%llu] failed: %s%s",
						    protos[p] == IPPROTO_TCP ? "tcp" : "udp", families[f] == AF_INET6 ? "6" : "",
						    (unsigned long long)ino, strerror(-e),
						    e == -ENOENT || e == -EPROTONOSUPPORT || e == -EOPNOTSUPP
							? " (is the kernel's inet_diag/udp_diag available? try modprobe inet_diag udp_diag)"
							: "");
			}
		if (query_wants(q, AF_UNIX, 0)) {
			/* every state: the peers' names come from the same dump */
			e = netns_dump(ino, AF_UNIX, 0, SK_ALL_STATES, &r->all);
			if (e < 0)
				return errf(r, e, "unix_diag dump of unix sockets in net:[%llu] failed: %s%s",
					    (unsigned long long)ino, strerror(-e),
					    e == -ENOENT || e == -EOPNOTSUPP
						? " (is the kernel's unix_diag available? try modprobe unix_diag)"
						: "");
		}
		/* the kernel filtered by state; everything else is filtered here */
		for (size_t i = start; i < r->all.n; i++)
			if (query_match_sock(q, &r->all.v[i]) && (e = sock_list_push(&r->d->socks, &r->all.v[i])) < 0)
				return e;
		r->d->nsearched++;
	}
	return 0;
}

static int add_spec(struct run *r, const char *spec)
{
	uint64_t ino;
	int e = netns_add_spec(spec, &ino);
	switch (e) {
	case 0:
		return want_ns(r, ino) < 0 ? -ENOMEM : 0;
	case -ENOENT:
	case -ESRCH:
	case -ENOTDIR:
		return errf(r, -EINVAL, "--netns: no network namespace '%s' (no such file, process, or name under "
			    RUN_NETNS ")", spec);
	case -EINVAL:
		return errf(r, -EINVAL, "--netns: '%s' is not a network namespace (expected e.g. /run/netns/NAME, "
			    "/proc/PID/ns/net, a PID or a name)", spec);
	default:
		return errf(r, e, "--netns: cannot open '%s': %s", spec, strerror(-e));
	}
}

static void read_comm(int piddir, char *comm, size_t size)
{
	char buf[64];
	if (read_small_file(piddir, "comm", buf, sizeof(buf)) > 0) {
		size_t n = MIN(strcspn(buf, "\n"), size - 1);
		memcpy(comm, buf, n);
		comm[n] = '\0';
	}
}

/* --pid, --comm, --container, --pod without namespace flags: the namespaces
 * the matching processes are in (and, later, wherever their sockets are). */
static int add_owner_namespaces(struct run *r)
{
	const struct query *q = &r->o->q;
	uint64_t ino;
	int e = 0;

	if (!q->comm.n && !q->container.n && !q->pod.n) {
		for (size_t i = 0; i < q->pid.n && e >= 0; i++)
			if (netns_add_pid((pid_t)q->pid.v[i], &ino) == 0)
				e = want_ns(r, ino);
		return e < 0 ? e : 0;
	}
	DIR *d = opendir(r->proc_root);
	struct dirent *de;
	if (!d)
		return errf(r, -errno, "cannot read %s: %s", r->proc_root, strerror(errno));
	while ((de = readdir(d)) && e >= 0) {
		uint64_t pid;
		if (parse_u64(de->d_name, INT32_MAX, &pid) < 0 || !pid || (q->pid.n && !u64_list_has(&q->pid, pid)))
			continue;
		_cleanup_close_ int piddir = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (piddir < 0)
			continue;
		struct owner_proc pr = { .pid = (pid_t)pid };
		struct owner ow = { .pid = (pid_t)pid, .proc = &pr };
		if (q->comm.n)
			read_comm(piddir, ow.comm, sizeof(ow.comm));
		if (q->container.n || q->pod.n)
			container_read(piddir, &pr.ctr);
		if (query_match_owner(q, &ow) && netns_add_pid((pid_t)pid, &ino) == 0)
			e = want_ns(r, ino);
	}
	closedir(d);
	return e < 0 ? e : 0;
}

static int hid_cmp(const void *a, const void *b)
{
	const struct hidden_fd *x = a, *y = b;
	if (x->inode != y->inode)
		return x->inode < y->inode ? -1 : 1;
	if (x->o.pid != y->o.pid)
		return x->o.pid < y->o.pid ? -1 : 1;
	return (x->o.fd > y->o.fd) - (x->o.fd < y->o.fd);
}

/* The first hidden fd with this inode (the list is sorted), or NULL. */
static struct hidden_fd *hid_find(const struct owner_list *l, uint64_t inode)
{
	size_t lo = 0, hi = l->nhid;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->hid[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->nhid && l->hid[lo].inode == inode ? &l->hid[lo] : NULL;
}

/* Is this hidden fd one the run is after: a wanted protocol, and (with
 * owner filters) a matching process? */
static bool hid_wanted(const struct run *r, const struct hidden_fd *h, bool owners)
{
	const struct query *q = &r->o->q;
	return query_wants(q, h->family, h->proto) && (!owners || query_match_owner(q, &h->o));
}

/* Where does the socket behind h live? Asked of the socket itself. */
static int probe(const struct hidden_fd *h, uint64_t *ino)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, h->o.pid, 0);
	int nsfd;
	if (pidfd < 0)
		return -errno;
	int e = netns_of_fd(pidfd, h->o.fd, &nsfd);
	if (e < 0)
		return e;
	return netns_add_fd(nsfd, "socket", ino);
}

/* Every hidden socket of interest is asked for its namespace; each new
 * namespace is dumped at once, which settles every other hidden socket in
 * it, so there is one probe per unknown namespace (plus one per socket
 * that appeared after the dumps), not one per socket. */
static int resolve_hidden(struct run *r, bool owners)
{
	struct owner_list *l = &r->d->owners;
	if (!l->nhid)
		return 0;
	qsort(l->hid, l->nhid, sizeof(*l->hid), hid_cmp);
	_cleanup_free_ bool *settled = calloc(l->nhid, sizeof(*settled));
	if (!settled)
		return -ENOMEM;
	size_t first_new = r->d->socks.n;

	for (size_t i = 0; i < l->nhid; i++) {
		if (settled[i])
			continue;
		/* one decision per inode: wanted if any holder is */
		size_t end = i + 1;
		bool want = hid_wanted(r, &l->hid[i], owners);
		while (end < l->nhid && l->hid[end].inode == l->hid[i].inode)
			want |= hid_wanted(r, &l->hid[end++], owners);
		uint64_t ino;
		for (size_t k = i; k < end && want; k++)
			if (probe(&l->hid[k], &ino) == 0) {
				int e = want_ns(r, ino);
				if (e < 0)
					return e;
				size_t start = r->all.n;
				if (e > 0 && (e = dump_pending(r)) < 0)
					return e;
				for (size_t s = start; s < r->all.n; s++) {
					struct hidden_fd *h = hid_find(l, r->all.v[s].inode);
					for (; h && h < l->hid + l->nhid && h->inode == r->all.v[s].inode; h++)
						settled[h - l->hid] = true;
				}
				break; /* one holder answered for the socket */
			}
		for (size_t k = i; k < end; k++)
			settled[k] = true;
		i = end - 1;
	}
	/* the owners of the sockets found this way are the hidden fds */
	for (size_t s = first_new; s < r->d->socks.n; s++) {
		uint64_t inode = r->d->socks.v[s].inode;
		struct hidden_fd *h = inode ? hid_find(l, inode) : NULL;
		for (; h && h < l->hid + l->nhid && h->inode == inode; h++) {
			int e = GROW(l->v, l->cap, l->n);
			if (e < 0)
				return e;
			l->v[l->n] = h->o;
			l->v[l->n++].sock = s;
		}
	}
	return 0;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct owner *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* Default run: only count what could not be seen, for the summary. */
static int count_hidden(struct run *r)
{
	struct owner_list *l = &r->d->owners;
	struct discovery *d = r->d;
	_cleanup_free_ pid_t *pids = malloc((l->nhid + 1) * sizeof(*pids));
	size_t np = 0;
	uint64_t last = 0;
	if (!pids)
		return -ENOMEM;
	if (l->nhid)
		qsort(l->hid, l->nhid, sizeof(*l->hid), hid_cmp);
	for (size_t i = 0; i < l->nhid; i++) {
		const struct hidden_fd *h = &l->hid[i];
		if (!hid_wanted(r, h, false))
			continue;
		d->hidden_socks += h->inode != last;
		last = h->inode;
		pids[np++] = h->o.pid;
		if (!d->hidden_pid || h->o.pid < d->hidden_pid) {
			d->hidden_pid = h->o.pid;
			/* another user's name, for a terminal: printable only */
			for (size_t k = 0; k < sizeof(d->hidden_comm); k++) {
				unsigned char ch = (unsigned char)h->o.comm[k];
				d->hidden_comm[k] = ch && (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
			}
		}
	}
	if (np)
		qsort(pids, np, sizeof(*pids), pid_cmp);
	for (size_t i = 0; i < np; i++)
		d->hidden_procs += i == 0 || pids[i] != pids[i - 1];
	return 0;
}

int discover_run(const struct options *o, const char *proc_root, struct discovery *ret, char *err,
		 size_t errlen)
{
	const struct query *q = &o->q;
	bool owner_mode = query_has_owner_filter(q);
	bool all = o->all_netns || (o->explain && !owner_mode);
	struct run r = { .o = o, .proc_root = proc_root, .d = ret, .known = !o->netns.n, .err = err,
			 .errlen = errlen };
	_cleanup_free_ uint64_t *peers = NULL;
	size_t npeers = 0;
	int e;

	*ret = (struct discovery){ 0 };
	if ((e = netns_init(proc_root, RUN_NETNS)) < 0) {
		errf(&r, e, "cannot read %s/self/ns/net: %s", proc_root, strerror(-e));
		goto out;
	}
	if (o->netns.n) {
		for (size_t i = 0; i < o->netns.n; i++)
			if ((e = add_spec(&r, o->netns.s[i])) < 0)
				goto out;
	} else {
		e = want_ns(&r, netns_self());
		if (e >= 0 && all && (e = netns_add_all()) >= 0)
			for (size_t i = 0; i < netns_count() && e >= 0; i++)
				e = want_ns(&r, netns_at(i)->ino);
		else if (e >= 0 && owner_mode)
			e = add_owner_namespaces(&r);
		if (e < 0) {
			if (!err[0])
				errf(&r, e, "cannot list network namespaces: %s", strerror(-e));
			goto out;
		}
	}
	if ((e = dump_pending(&r)) < 0)
		goto out;
	/* "who is on the other end": the peers' owners come from the same pass */
	peers = malloc((ret->socks.n + 1) * sizeof(*peers));
	if (!peers) {
		e = -ENOMEM;
		errf(&r, e, "%s", strerror(-e));
		goto out;
	}
	for (size_t i = 0; i < ret->socks.n; i++)
		if (ret->socks.v[i].family == AF_UNIX && ret->socks.v[i].peer_inode)
			peers[npeers++] = ret->socks.v[i].peer_inode;
	if ((e = procfd_scan_all(proc_root, &ret->socks, peers, npeers, r.known ? &r.all : NULL, &ret->owners)) < 0) {
		errf(&r, e, "cannot read %s: %s", proc_root, strerror(-e));
		goto out;
	}
	if (o->netns.n)
		e = 0;
	else if (all || owner_mode)
		e = resolve_hidden(&r, !all);
	else
		e = count_hidden(&r);
	if (e < 0) {
		if (!err[0])
			errf(&r, e, "%s", strerror(-e));
		goto out;
	}
	if (ret->owners.n)
		qsort(ret->owners.v, ret->owners.n, sizeof(*ret->owners.v), owner_cmp);
out:
	sock_list_free(&r.all);
	free(r.ns);
	if (e < 0)
		discovery_free(ret);
	return e < 0 ? e : 0;
}

bool discover_hint(const struct discovery *d, char *buf, size_t size)
{
	if (!d->hidden_socks)
		return false;
	snprintf(buf, size,
		 "%zu more TCP/UDP socket%s, held by %zu process%s (e.g. pid %d %s), %s in network namespaces this run "
		 "did not search: add --all-netns, or --pid %d for that process's",
		 d->hidden_socks, d->hidden_socks == 1 ? "" : "s", d->hidden_procs, d->hidden_procs == 1 ? "" : "es",
		 (int)d->hidden_pid, d->hidden_comm[0] ? d->hidden_comm : "?", d->hidden_socks == 1 ? "is" : "are",
		 (int)d->hidden_pid);
	return true;
}

void discovery_free(struct discovery *d)
{
	sock_list_free(&d->socks);
	owner_list_free(&d->owners);
	free(d->skipped);
	*d = (struct discovery){ 0 };
}
