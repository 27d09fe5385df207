/* --destroy: the kernel's SOCK_DESTROY, one request per socket (the row
 * plan chose to carry it), before and without any attach: the owners are
 * never stopped and keep their fds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "act.h"
#include "destroy.h"
#include "netns.h"
#include "util.h"

/* One netlink socket per network namespace the plan's sockets live in: a
 * socket can only be destroyed from inside its own namespace. */
struct nl_entry { uint64_t ns; struct mnl_socket *nl; int err; };
struct nl_cache {
	size_t n, cap;
	struct nl_entry *v;
};

/* The socket for namespace ns (0 or ours: a new one here; another: over
 * the socket netns.c made inside it at discovery), or -errno. */
static int nl_for(struct nl_cache *c, uint64_t ns, struct mnl_socket **ret)
{
	if (ns == netns_self())
		ns = 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].ns == ns) {
			*ret = c->v[i].nl;
			return c->v[i].err;
		}
	struct mnl_socket *nl = NULL;
	int r;
	if (!ns)
		r = destroy_open(&nl);
	else {
		const struct netns *e = netns_find(ns);
		r = !e ? -ENOENT : e->nlfd < 0 ? (e->err ? e->err : -EBADF) : destroy_open_fd(e->nlfd, &nl);
	}
	int g = GROW(c->v, c->cap, c->n);
	if (g < 0) {
		destroy_close(nl);
		return g;
	}
	c->v[c->n++] = (struct nl_entry){ ns, nl, r };
	*ret = nl;
	return r;
}

static void nl_cache_close(struct nl_cache *c)
{
	for (size_t i = 0; i < c->n; i++)
		destroy_close(c->v[i].nl);
	free(c->v);
	*c = (struct nl_cache){ 0 };
}

static void destroy_result(struct row *rw, const struct sock *s, int r)
{
	rw->err = 0;
	rw->reason = NULL;
	if (r == 0) {
		rw->result = RES_DONE;
		return;
	}
	/* gone already, or the id names another socket now: nothing to do */
	rw->result = r == -ENOENT || r == -ESTALE ? RES_SKIPPED : RES_FAILED;
	if (rw->result == RES_FAILED)
		rw->err = -r;
	rw->reason = destroy_strerror(s, r);
}

/* The socket's other rows share the carrier's outcome. */
static void follow_carrier(struct plan *p, struct row *rw)
{
	const struct row *c = &p->rows[rw->via];
	const struct owner *ow = &p->owners.v[c->owner];
	rw->result = c->result;
	rw->err = c->err;
	snprintf(rw->detail, sizeof(rw->detail), "one destroy for the socket, through its row of %s/%d/%d%s%s",
		 ow->comm, (int)ow->pid, ow->fd, c->reason ? ": " : "", c->reason ? c->reason : "");
	rw->reason = rw->detail;
}

int act_destroy_run(struct plan *p, const struct options *o, struct audit *a)
{
	struct nl_cache nls = { 0 };
	int err = 0;

	/* Nothing is done unlogged: every intent reaches the log first. */
	for (size_t i = 0; i < p->n && !err; i++)
		if (p->rows[i].result == RES_PLANNED) {
			p->rows[i].acted = true;
			err = audit_record(a, p, &p->rows[i], o, "intent");
		}
	if (!err)
		err = audit_flush(a);
	for (size_t i = 0; i < p->n; i++) {
		struct row *rw = &p->rows[i];
		const struct sock *s = &p->socks.v[rw->sock];
		if (rw->result != RES_PLANNED || rw->via >= 0)
			continue;
		if (err) {
			rw->result = RES_FAILED;
			rw->err = -err;
			rw->reason = "the audit log could not be written: nothing is done unlogged";
		} else if (act_interrupted) {
			rw->result = RES_SKIPPED;
			rw->reason = "sockreap was interrupted before destroying this socket";
		} else {
			struct mnl_socket *nl;
			int r = nl_for(&nls, s->netns, &nl);
			destroy_result(rw, s, r < 0 ? r : destroy_sock(nl, s));
		}
	}
	nl_cache_close(&nls);
	for (size_t i = 0; i < p->n; i++) {
		if (p->rows[i].result == RES_PLANNED && p->rows[i].via >= 0)
			follow_carrier(p, &p->rows[i]);
		if (p->rows[i].acted)
			p->rows[i].note = NULL; /* verify now says what became of the fd */
	}
	return err;
}
