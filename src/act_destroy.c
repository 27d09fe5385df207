/* --destroy: the kernel's SOCK_DESTROY, one request per socket (the row
 * plan chose to carry it), before and without any attach: the owners are
 * never stopped and keep their fds. */
#include <errno.h>
#include <stdio.h>

#include "act.h"
#include "destroy.h"
#include "util.h"

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
			destroy_result(rw, s, nl ? destroy_sock(nl, s) : nlerr);
	}
	destroy_close(nl);
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
