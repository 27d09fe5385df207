#include "plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/socket.h>

#include "util.h"

const char *result_name(enum result r)
{
	static const char *const names[] = {
		[RES_PLANNED] = "planned", [RES_DONE] = "done", [RES_SKIPPED] = "skipped",
		[RES_REFUSED] = "refused", [RES_FAILED] = "failed",
	};
	return names[r];
}

const char *method_name(const struct options *o)
{
	if (o->method == METHOD_SHUTDOWN)
		return o->how == SHUT_RD ? "shutdown-rd" : o->how == SHUT_WR ? "shutdown-wr" : "shutdown-rdwr";
	return method_info(o->method)->name;
}

int plan_ancestors(const char *proc_root, pid_t pid, pid_t **ret, size_t *n)
{
	pid_t *v = NULL;
	size_t cap = 0;

	*n = 0;
	/* Walk up through PPid; stop at 1 or 0 (kthreadd's children) or when
	 * a process vanished. The bound protects against a loop in a fixture. */
	for (int depth = 0; pid > 1 && depth < 4096; depth++) {
		char path[64], buf[512];
		snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
		if (read_small_file(AT_FDCWD, path, buf, sizeof(buf)) < 0)
			break;
		/* "pid (comm) state ppid ...": comm may contain ')' and spaces. */
		const char *p = strrchr(buf, ')');
		int ppid;
		if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid <= 0)
			break;
		if (GROW(v, cap, *n) < 0) {
			free(v);
			return -ENOMEM;
		}
		v[(*n)++] = ppid;
		pid = ppid;
	}
	*ret = v;
	return 0;
}

static bool is_ancestor(const struct plan_env *env, pid_t pid)
{
	for (size_t i = 0; i < env->nancestors; i++)
		if (env->ancestors[i] == pid)
			return true;
	return false;
}

/* Servers: a listener (TCP or unix stream/seqpacket), or a bound datagram
 * socket with no peer (UDP, unix dgram), serves everyone. NULL if not. */
static const char *refusal_server(const struct sock *s, const struct options *opt)
{
	if (opt->allow_listen)
		return NULL;
	if (s->state == SK_LISTEN && (s->proto == IPPROTO_TCP || s->family == AF_UNIX))
		return "LISTEN socket: closing it stops the service accepting (use --allow-listen)";
	if (sock_is_dgram_server(s))
		return s->family == AF_UNIX
			       ? "unix datagram server socket (bound, no peer): acting on it stops the service "
				 "receiving (use --allow-listen)"
			       : "UDP server socket (bound, no peer): acting on it stops the service receiving "
				 "(use --allow-listen)";
	return NULL;
}

/* Must the method act inside the target, whatever happens outside? (A
 * --shutdown does so only where pidfd_getfd is refused: the engine itself
 * refuses then.) */
static bool needs_inject(const struct options *opt)
{
	const struct method_info *m = method_info(opt->method);
	return m->inside != INSIDE_NONE && (m->outside == OUTSIDE_NONE || opt->inject);
}

/* The safety policy: why this owner's socket must not be touched, or NULL. */
static const char *refusal(const struct sock *s, const struct owner *o, const struct options *opt,
			   const struct plan_env *env)
{
	const char *why = refusal_server(s, opt);
	if (why)
		return why;
	if (o->pid == 1)
		return "PID 1 is never touched";
	if (o->pid == env->self)
		return "sockreap's own socket";
	if (!opt->allow_ancestors && is_ancestor(env, o->pid))
		return "ancestor of sockreap, e.g. your own session (use --allow-ancestors)";
	if (!opt->allow_ancestors && session_match(env->sessions, s))
		return "the ssh connection sockreap runs in (SSH_CONNECTION or SSH_CLIENT of sockreap or an "
		       "ancestor; use --allow-ancestors)";
	if (u64_list_has(&opt->exclude_pid, (uint64_t)o->pid))
		return "excluded by --exclude-pid";
	if (str_list_has(&opt->exclude_comm, o->comm))
		return "excluded by --exclude-comm";
	if (env->no_inject && needs_inject(opt))
		return env->no_inject;
	return NULL;
}

/* A per-socket method (shutdown, reset) changes the socket for every
 * owner: if any owner of the socket would be refused, including owners the
 * owner filters left out of the rows (a parent of the --pid given), none
 * of its rows is acted on. */
static void refuse_shared(struct plan *p, const struct options *o, const struct plan_env *env)
{
	for (size_t i = 0; i < p->n; i++) {
		struct row *rw = &p->rows[i];
		if (rw->result != RES_PLANNED)
			continue;
		const struct sock *s = &p->socks.v[rw->sock];
		for (size_t k = 0; k < p->owners.n; k++) {
			const struct owner *other = &p->owners.v[k];
			const char *why;
			if (other->sock != rw->sock || (ssize_t)k == rw->owner || !(why = refusal(s, other, o, env)))
				continue;
			snprintf(rw->detail, sizeof(rw->detail),
				 "%s changes the socket for every owner, and owner %s/%d is refused (fd %d): %s",
				 method_info(o->method)->name, other->comm, (int)other->pid, other->fd, why);
			rw->result = RES_REFUSED;
			rw->reason = rw->detail;
			break;
		}
	}
}

/* --destroy reaches sockets without an owner. With no inode nobody can
 * hold them (TIME-WAIT, orphans, requests): destroy them. With an inode
 * but no owner we can see (fds in another PID namespace, or in flight),
 * the owner checks cannot be made: refuse. */
static void plan_destroy_ownerless(struct row *rw, const struct sock *s, const struct options *o)
{
	rw->reason = refusal_server(s, o);
	if (!rw->reason && s->inode)
		rw->reason = "its owners are not visible to us (another PID namespace?), so they cannot be "
			     "checked: not destroyed";
	rw->result = rw->reason ? RES_REFUSED : RES_PLANNED;
}

/* SOCK_DESTROY acts on the socket, for every owner at once: one row per
 * socket carries it, the socket's other rows point at that one (via); if
 * any owner is refused, none is acted on. Rows are sorted by socket. */
static void plan_destroy_per_socket(struct plan *p)
{
	for (size_t i = 0, end; i < p->n; i = end) {
		const struct row *refused = NULL;
		ssize_t carrier = -1;
		for (end = i; end < p->n && p->rows[end].sock == p->rows[i].sock; end++)
			if (p->rows[end].result == RES_REFUSED && !refused)
				refused = &p->rows[end];
		for (size_t k = i; k < end; k++) {
			struct row *rw = &p->rows[k];
			if (rw->result != RES_PLANNED)
				continue;
			if (refused) {
				const struct owner *ow = refused->owner >= 0 ? &p->owners.v[refused->owner] : NULL;
				snprintf(rw->detail, sizeof(rw->detail),
					 "destroy acts on the socket for all its owners, and owner %s/%d is refused: %s",
					 ow ? ow->comm : "?", ow ? (int)ow->pid : 0, refused->reason);
				rw->reason = rw->detail;
				rw->result = RES_REFUSED;
			} else if (carrier < 0) {
				carrier = (ssize_t)k;
			} else {
				const struct owner *ow = &p->owners.v[p->rows[carrier].owner];
				rw->via = carrier;
				snprintf(rw->detail, sizeof(rw->detail),
					 "one destroy for the socket, through its row of %s/%d/%d", ow->comm, (int)ow->pid,
					 ow->fd);
				rw->reason = rw->detail;
			}
			if (rw->result == RES_PLANNED && rw->owner >= 0)
				rw->note = "the process keeps its fd: SOCK_DESTROY ends the connection, not the "
					   "descriptor (an fd leak stays a leak)";
		}
	}
}

static int push_row(struct plan *p, size_t sock, ssize_t owner, unsigned nowners)
{
	int r = GROW(p->rows, p->cap, p->n);
	if (r < 0)
		return r;
	p->rows[p->n++] = (struct row){ .sock = sock, .owner = owner, .nowners = nowners, .stall_ms = -1, .via = -1,
					.backtrace_fd = -1 };
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->sock != y->sock)
		return x->sock < y->sock ? -1 : 1;
	return (x->owner > y->owner) - (x->owner < y->owner);
}

static int row_by_pid(const void *a, const void *b, void *arg)
{
	const struct plan *p = arg;
	pid_t x = p->owners.v[p->rows[*(const size_t *)a].owner].pid;
	pid_t y = p->owners.v[p->rows[*(const size_t *)b].owner].pid;
	return (x > y) - (x < y);
}

/* What the replacement means in this process, said in the plan: no free
 * fd slot (the fd is closed first and the placeholder takes its number),
 * or SIGPIPE left at its default (a write to the placeholder fails with
 * EPIPE and raises it). NULL when nothing is worth saying. */
static const char *placeholder_note(const char *proc_root, pid_t pid)
{
	char path[64], buf[8192];
	uint64_t nopen = 0, limit = 0, ign = 0, cgt = 0;

	if (procfd_fd_headroom(proc_root, pid, &nopen, &limit) == 0 && nopen >= limit)
		return "the process has no free fd (RLIMIT_NOFILE reached): each fd is closed first and its "
		       "placeholder created in its place";
	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	if (read_small_file(AT_FDCWD, path, buf, sizeof(buf)) > 0) {
		const char *a = strstr(buf, "\nSigIgn:"), *b = strstr(buf, "\nSigCgt:");
		if (a && b && sscanf(a + 8, "%" SCNx64, &ign) == 1 && sscanf(b + 8, "%" SCNx64, &cgt) == 1 &&
		    !((ign | cgt) & (1ull << (SIGPIPE - 1))))
			return "SIGPIPE is not ignored in this process: a write to the placeholder fails with EPIPE "
			       "and raises SIGPIPE, which ends it (as a second write to the CLOSE-WAIT socket would)";
	}
	return NULL;
}

static int mark_epoll(struct plan *p, const struct options *o, const struct plan_env *env)
{
	_cleanup_free_ size_t *idx = malloc((p->n + 1) * sizeof(*idx));
	size_t n = 0;
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].owner >= 0 && p->rows[i].result == RES_PLANNED)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), row_by_pid, p);

	struct epoll_watches w = { 0 };
	_cleanup_free_ int *epfds = malloc((p->owners.nep + 1) * sizeof(*epfds));
	if (!epfds)
		return -ENOMEM;
	pid_t cur = 0;
	const char *proc_note = NULL;
	for (size_t k = 0; k < n; k++) {
		struct row *rw = &p->rows[idx[k]];
		const struct owner *ow = &p->owners.v[rw->owner];
		if (ow->pid != cur) {
			/* the epoll fds the scan saw in this process */
			size_t nep = 0;
			cur = ow->pid;
			proc_note = method_info(o->method)->placeholder ? placeholder_note(env->proc_root, cur) : NULL;
			w.n = 0;
			for (size_t e = 0; e < p->owners.nep; e++)
				if (p->owners.ep[e].pid == cur)
					epfds[nep++] = p->owners.ep[e].fd;
			if (nep && procfd_epoll_watches(env->proc_root, cur, epfds, nep, &w) == -ENOMEM) {
				free(w.v);
				return -ENOMEM;
			}
		}
		if (proc_note && !rw->note)
			rw->note = proc_note;
		if (ow->io_uring)
			rw->note = "the process has an io_uring instance: it may hold this socket as a registered "
				   "file or have operations in flight on it, which replacing or closing the fd does "
				   "not end; the socket is freed only if verify sees it gone";
		if (epoll_watches_has(&w, ow->fd, p->socks.v[rw->sock].inode)) {
			rw->epoll = true;
			if (o->method == METHOD_FREE_FD)
				rw->note = "the process's event loop still watches this fd: after the number "
					   "is freed it may reuse it as this socket; the default close is safer";
		}
	}
	free(w.v);
	return 0;
}

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

size_t plan_count_pids(const struct plan *p, bool planned_only)
{
	pid_t *pids = malloc((p->n + 1) * sizeof(*pids));
	size_t n = 0, distinct = 0;

	if (!pids)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		if (rw->owner >= 0 && (!planned_only || rw->result == RES_PLANNED))
			pids[n++] = p->owners.v[rw->owner].pid;
	}
	qsort(pids, n, sizeof(*pids), pid_cmp);
	for (size_t i = 0; i < n; i++)
		distinct += i == 0 || pids[i] != pids[i - 1];
	free(pids);
	return distinct;
}

/* A container's PID 1 is usually the application itself, not an init: it
 * is acted on like any process (only the host's PID 1 is refused), but the
 * plan says whose process it is. */
static void note_container_main(struct plan *p, const struct options *o)
{
	for (size_t i = 0; i < p->n; i++) {
		struct row *rw = &p->rows[i];
		const struct owner *ow = rw->owner >= 0 ? &p->owners.v[rw->owner] : NULL;
		if (!ow || ow->pid == 1 || !ow->proc || !ow->proc->ctr.pidns || ow->proc->ctr.nspid != 1)
			continue;
		if (rw->epoll && o->method != METHOD_SHUTDOWN)
			rw->note = "the container's main process (PID 1 inside its PID namespace): the container "
				   "depends on it; and its event loop still watches this fd: after close it may reuse "
				   "the number; --shutdown is safer";
		else if (!rw->note)
			rw->note = "the container's main process (PID 1 inside its PID namespace): the container "
				   "depends on it";
	}
}

int plan_build(struct plan *p, struct sock_list *socks, struct owner_list *owners,
	       const struct options *o, const struct plan_env *env)
{
	*p = (struct plan){ .socks = *socks, .owners = *owners };
	*socks = (struct sock_list){ 0 };
	*owners = (struct owner_list){ 0 };

	_cleanup_free_ unsigned *count = calloc(p->socks.n + 1, sizeof(*count));
	if (!count)
		return -ENOMEM;
	for (size_t i = 0; i < p->owners.n; i++)
		count[p->owners.v[i].sock]++;

	int r = 0;
	for (size_t i = 0; i < p->owners.n && r >= 0; i++) {
		const struct owner *ow = &p->owners.v[i];
		if (query_match_owner(&o->q, ow))
			r = push_row(p, ow->sock, (ssize_t)i, count[ow->sock]);
	}
	for (size_t i = 0; i < p->socks.n && r >= 0; i++)
		if (!count[i] && !query_has_owner_filter(&o->q))
			r = push_row(p, i, -1, 0);
	if (r < 0)
		return r;
	if (p->n)
		qsort(p->rows, p->n, sizeof(*p->rows), row_cmp);

	for (size_t i = 0; i < p->n; i++) {
		struct row *rw = &p->rows[i];
		const struct sock *s = &p->socks.v[rw->sock];
		if (rw->owner < 0 && o->method == METHOD_DESTROY) {
			plan_destroy_ownerless(rw, s, o);
			continue;
		}
		if (rw->owner < 0) {
			rw->result = RES_SKIPPED;
			rw->reason = s->inode ? "no process holds this socket (or its fds are not visible to us)"
					      : "no owner: no process holds this socket (TIME-WAIT, request or orphan), "
						"so neither ptrace nor pidfd can reach it; only the kernel's SOCK_DESTROY can";
			continue;
		}
		rw->reason = refusal(s, &p->owners.v[rw->owner], o, env);
		rw->result = rw->reason ? RES_REFUSED : RES_PLANNED;
	}

	if (method_info(o->method)->per_socket)
		refuse_shared(p, o, env);
	if (o->method == METHOD_DESTROY)
		plan_destroy_per_socket(p);

	/* --max counts sockets, not owners: a socket with two owners is one. */
	size_t nsock = 0, nproc = 0;
	for (size_t i = 0; i < p->n; i++) {
		if (p->rows[i].result != RES_PLANNED)
			continue;
		bool first_of_sock = true;
		for (size_t j = i; j-- > 0 && p->rows[j].sock == p->rows[i].sock;)
			if (p->rows[j].result == RES_PLANNED)
				first_of_sock = false;
		nsock += first_of_sock;
	}
	nproc = plan_count_pids(p, true);
	if (o->has_max && nsock > o->max) {
		for (size_t i = 0; i < p->n; i++) {
			struct row *rw = &p->rows[i];
			if (rw->result != RES_PLANNED)
				continue;
			snprintf(rw->detail, sizeof(rw->detail),
				 "the run would touch %zu sockets, more than --max %llu: nothing is touched", nsock,
				 (unsigned long long)o->max);
			rw->result = RES_REFUSED;
			rw->reason = rw->detail;
		}
		nsock = nproc = 0;
	}
	p->nsockets_acting = nsock;
	p->nprocs_acting = nproc;
	int e = mark_epoll(p, o, env);
	note_container_main(p, o);
	return e;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->rows[i].backtrace);
	free(p->rows);
	sock_list_free(&p->socks);
	owner_list_free(&p->owners);
	*p = (struct plan){ 0 };
}
