/* --destroy: the kernel's SOCK_DESTROY, one request per socket (the row
 * plan chose to carry it), before and without any attach: the owners are
 * never stopped and keep their fds. */
#include <errno.h>
#include <stdio.h>

#include "act.h"
#include "destroy.h"
#include "netns.h"
#include "util.h"

/* Only a netlink socket inside a socket's own network namespace may
 * destroy it: sockreap's own for its namespace, else the one netns.c made
 * in the socket's (opened once, while the sockets of one namespace come
 * in a run). */
struct ns_nl { uint64_t ino; struct mnl_socket *nl; int err; };

static int destroy_in_netns(struct ns_nl *c, const struct sock *s, struct mnl_socket *own, int ownerr)
{
	if (!s->netns || s->netns == netns_self())
		return own ? destroy_sock(own, s) : ownerr;
	if (c->ino != s->netns) {
		destroy_close(c->nl);
		*c = (struct ns_nl){ .ino = s->netns };
		c->err = netns_mnl_open(s->netns, &c->nl);
	}
	return c->nl ? destroy_sock(c->nl, s) : c->err;
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
	struct mnl_socket *nl = NULL;
	struct ns_nl other = { 0 };
	int err = 0, nlerr;

	/* Nothing is done unlogged: every intent reaches the log first. */
	for (size_t i = 0; i < p->n && !err; i++)
		if (p->rows[i].result == RES_PLANNED) {
			p->rows[i].acted = true;
			err = audit_record(a, p, &p->rows[i], o, "intent");
		}
	if (!err)
		err = audit_flush(a);
	nlerr = err ? 0 : destroy_open(&nl);
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
		} else
			destroy_result(rw, s, destroy_in_netns(&other, s, nl, nlerr));
	}
	destroy_close(nl);
	destroy_close(other.nl);
	for (size_t i = 0; i < p->n; i++) {
		if (p->rows[i].result == RES_PLANNED && p->rows[i].via >= 0)
			follow_carrier(p, &p->rows[i]);
		if (p->rows[i].acted)
			p->rows[i].note = NULL; /* verify now says what became of the fd */
	}
	verify_rows(p, o);
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].acted)
			audit_record(a, p, &p->rows[i], o, "result");
	int r = audit_flush(a);
	return err ? err : r;
}
