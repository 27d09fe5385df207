#include "report.h"

#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "netns.h"
#include "util.h"

const char *action_name(const struct plan *p, const struct row *rw, const struct options *o)
{
	/* destroy needs no owner: the kernel reaches TIME-WAIT and orphans */
	return rw->owner < 0 && o->method != METHOD_DESTROY ? "none" : method_name(o);
}

/* "who is on the other end": the owners of a unix socket's peer. */
static void peer_owners_json(FILE *f, const struct plan *p, const struct sock *s)
{
	size_t first, n = procfd_peer_owners(&p->owners, s->peer_inode, &first);
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		const struct owner *ow = &p->owners.peer[first + i];
		fprintf(f, "%s{\"pid\":%d,\"fd\":%d,\"comm\":", i ? "," : "", (int)ow->pid, ow->fd);
		json_str(f, ow->comm);
		fputc('}', f);
	}
	fputc(']', f);
}

static bool has_idle(const struct sock *s)
{
	return s->family != AF_UNIX && s->proto == IPPROTO_TCP && s->has_tcpi && s->state != SK_LISTEN;
}

static void errno_name(int err, char *buf, size_t size)
{
	const char *n = err ? strerrorname_np(err) : NULL;
	snprintf(buf, size, "%s", n ? n : "");
}

void report_netns_json(FILE *f, uint64_t netns)
{
	const char *name = netns ? netns_name(netns) : NULL;
	if (netns)
		fprintf(f, "\"netns\":%llu,\"netns_name\":", (unsigned long long)netns);
	else
		fputs("\"netns\":null,\"netns_name\":", f);
	json_str(f, name);
	fputc(',', f);
}

void report_owner_proc_json(FILE *f, const struct owner_proc *pr)
{
	if (pr && pr->ctr.nspid)
		fprintf(f, ",\"nspid\":%d,\"container\":", (int)pr->ctr.nspid);
	else
		fputs(",\"nspid\":null,\"container\":", f);
	container_json(f, pr ? &pr->ctr : NULL);
}

void report_row_json_fields(FILE *f, const struct plan *p, const struct row *rw,
			    const struct options *o)
{
	const struct sock *s = &p->socks.v[rw->sock];
	const struct owner *ow = rw->owner >= 0 ? &p->owners.v[rw->owner] : NULL;
	char local[SOCK_ADDR_MAX], peer[SOCK_ADDR_MAX], en[32];

	sock_addr_format(s, true, local, sizeof(local));
	sock_addr_format(s, false, peer, sizeof(peer));
	/* unix names come from other users: escaped (sock_unix_name_format)
	 * and written as JSON strings, like every text we did not make */
	fprintf(f, "\"proto\":\"%s\",\"family\":\"%s\",\"state\":\"%s\",\"local\":", sock_proto_name(s),
		s->family == AF_UNIX ? "unix" : s->family == AF_INET6 ? "ipv6" : "ipv4", sock_state_name(s));
	json_str(f, local);
	fputs(",\"peer\":", f);
	json_str(f, peer);
	fprintf(f, ",\"inode\":%llu,\"cookie\":%llu,\"uid\":%u,\"rqueue\":%u,\"wqueue\":%u,",
		(unsigned long long)s->inode, (unsigned long long)s->cookie, s->uid, s->rqueue, s->wqueue);
	fprintf(f, "\"type\":\"%s\",", sock_type_name(s));
	if (s->family == AF_UNIX) {
		fprintf(f, "\"peer_inode\":%llu,\"peer_owners\":", (unsigned long long)s->peer_inode);
		if (s->peer_inode)
			peer_owners_json(f, p, s);
		else
			fputs("[]", f);
		fputc(',', f);
	} else
		fputs("\"peer_inode\":null,\"peer_owners\":null,", f);
	if (has_idle(s))
		fprintf(f, "\"idle_ms\":%u,", sock_idle_ms(s));
	else
		fputs("\"idle_ms\":null,", f);
	report_netns_json(f, s->netns);
	if (ow) {
		fprintf(f, "\"pid\":%d,\"fd\":%d,\"comm\":", (int)ow->pid, ow->fd);
		json_str(f, ow->comm);
		fprintf(f, ",\"io_uring\":%s", ow->io_uring ? "true" : "false");
		report_owner_proc_json(f, ow->proc);
	} else
		fputs("\"pid\":null,\"fd\":null,\"comm\":null,\"io_uring\":null,\"nspid\":null,\"container\":null", f);
	fprintf(f, ",\"owners\":%u,\"epoll\":%s,\"action\":\"%s\",\"result\":\"%s\",\"reason\":",
		rw->nowners, rw->epoll ? "true" : "false", action_name(p, rw, o), result_name(rw->result));
	json_str(f, rw->reason);
	fputs(",\"note\":", f);
	json_str(f, rw->note);
	errno_name(rw->err, en, sizeof(en));
	fputs(",\"errno\":", f);
	json_str(f, rw->err ? en : NULL);
	fputs(",\"verify\":", f);
	json_str(f, rw->verify[0] ? rw->verify : NULL);
	fprintf(f, ",\"dry_run\":%s", o->dry_run ? "true" : "false");
	if (rw->stall_ms >= 0)
		fprintf(f, ",\"stall_ms\":%.3f", rw->stall_ms);
	if (rw->backtrace) {
		fputs(",\"backtrace\":", f);
		json_str(f, rw->backtrace);
	} else if (rw->backtrace_fd >= 0)
		fprintf(f, ",\"backtrace_at_fd\":%d", rw->backtrace_fd);
}

static void owner_text(const struct plan *p, const struct row *rw, char *buf, size_t size)
{
	if (rw->owner < 0) {
		snprintf(buf, size, "-");
		return;
	}
	const struct owner *ow = &p->owners.v[rw->owner];
	snprintf(buf, size, "%s/%d/%d", ow->comm, (int)ow->pid, ow->fd);
}

static void result_text(const struct row *rw, char *buf, size_t size)
{
	char en[32];
	errno_name(rw->err, en, sizeof(en));
	if (rw->result == RES_FAILED && rw->err)
		snprintf(buf, size, "failed (%s: %s)", en, strerror(rw->err));
	else
		snprintf(buf, size, "%s", result_name(rw->result));
}

enum { COL_PROTO, COL_STATE, COL_LOCAL, COL_PEER, COL_PEER_OWNER, COL_IDLE, COL_NETNS, COL_OWNER,
       COL_CONTAINER, COL_ACTION, COL_RESULT, NCOL };
#define CELL (SOCK_ADDR_MAX + 32)

static void peer_cell(const struct plan *p, const struct sock *s, char *buf, size_t size)
{
	char name[SOCK_ADDR_MAX];
	sock_addr_format(s, false, name, sizeof(name));
	if (s->family != AF_UNIX)
		snprintf(buf, size, "%s", name);
	else if (s->peer_inode)
		snprintf(buf, size, "%s %llu", name, (unsigned long long)s->peer_inode);
	else
		snprintf(buf, size, "*");
}

static void peer_owner_cell(const struct plan *p, const struct sock *s, char *buf, size_t size)
{
	size_t first, n = procfd_peer_owners(&p->owners, s->peer_inode, &first), len = 0;
	snprintf(buf, size, "-");
	for (size_t i = 0; i < n && i < 3 && len < size; i++) {
		const struct owner *ow = &p->owners.peer[first + i];
		len += (size_t)snprintf(buf + len, size - len, "%s%s/%d/%d", i ? "," : "", ow->comm, (int)ow->pid, ow->fd);
	}
	if (n > 3 && len < size)
		snprintf(buf + len, size - len, ",+%zu", n - 3);
}

/* The namespace column: its /run/netns name, else its inode. */
static void netns_cell(uint64_t netns, char *buf, size_t size)
{
	const char *name = netns ? netns_name(netns) : NULL;
	if (name)
		snprintf(buf, size, "%s", name);
	else
		snprintf(buf, size, "%llu", (unsigned long long)netns);
}

static void container_cell(const struct plan *p, const struct row *rw, char *buf, size_t size)
{
	const struct owner_proc *pr = rw->owner >= 0 ? p->owners.v[rw->owner].proc : NULL;
	container_short(pr ? &pr->ctr : NULL, buf, size);
	if (!buf[0])
		snprintf(buf, size, "-");
}

/* NETNS and CONTAINER only when they say something: some socket outside
 * sockreap's own namespace, some owner in a container. */
static void namespace_columns(const struct plan *p, bool *netns, bool *container)
{
	*netns = *container = false;
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		uint64_t ns = p->socks.v[rw->sock].netns;
		const struct owner_proc *pr = rw->owner >= 0 ? p->owners.v[rw->owner].proc : NULL;
		*netns |= ns && ns != netns_self();
		*container |= pr && (pr->ctr.runtime[0] || pr->ctr.pod_uid[0]);
	}
}

static void row_cells(const struct plan *p, const struct row *rw, const struct options *o,
		      char cells[NCOL][CELL])
{
	const struct sock *s = &p->socks.v[rw->sock];
	snprintf(cells[COL_PROTO], CELL, "%s", sock_netid(s));
	snprintf(cells[COL_STATE], CELL, "%s", sock_state_name(s));
	sock_addr_format(s, true, cells[COL_LOCAL], CELL);
	peer_cell(p, s, cells[COL_PEER], CELL);
	peer_owner_cell(p, s, cells[COL_PEER_OWNER], CELL);
	if (has_idle(s))
		snprintf(cells[COL_IDLE], CELL, "%.1fs", sock_idle_ms(s) / 1000.0);
	else
		snprintf(cells[COL_IDLE], CELL, "-");
	netns_cell(s->netns, cells[COL_NETNS], CELL);
	owner_text(p, rw, cells[COL_OWNER], CELL);
	container_cell(p, rw, cells[COL_CONTAINER], CELL);
	snprintf(cells[COL_ACTION], CELL, "%s", action_name(p, rw, o));
	result_text(rw, cells[COL_RESULT], CELL);
}

/* Every row of a process carries the same stacks (for JSON and the audit
 * log); the table shows them once per process, after the rows. */
static void print_backtraces(FILE *f, const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		if (!rw->backtrace)
			continue;
		pid_t pid = p->owners.v[rw->owner].pid;
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = p->rows[k].backtrace && p->owners.v[p->rows[k].owner].pid == pid;
		if (!seen)
			fprintf(f, "\nstacks of %s (pid %d) when it was stopped:\n%s", p->owners.v[rw->owner].comm,
				(int)pid, rw->backtrace);
	}
}

void report_print(FILE *f, const struct plan *p, const struct options *o)
{
	static const char *const head[NCOL] = { "PROTO", "STATE", "LOCAL", "PEER", "PEER-OWNER", "IDLE", "NETNS",
						"OWNER(comm/pid/fd)", "CONTAINER", "ACTION", "RESULT" };
	static char cells[NCOL][CELL];
	int w[NCOL];
	bool show[NCOL], any_unix = false, any_netns, any_ctr;

	if (o->json) {
		for (size_t i = 0; i < p->n; i++) {
			fputc('{', f);
			report_row_json_fields(f, p, &p->rows[i], o);
			fputs("}\n", f);
		}
		return;
	}
	for (size_t i = 0; i < p->n && !any_unix; i++)
		any_unix = p->socks.v[p->rows[i].sock].family == AF_UNIX;
	/* the peer's owners for unix sockets, the idle time for --idle */
	namespace_columns(p, &any_netns, &any_ctr);
	for (int c = 0; c < NCOL; c++)
		show[c] = (c != COL_PEER_OWNER || any_unix) && (c != COL_IDLE || o->q.has_idle) &&
			  (c != COL_NETNS || any_netns) && (c != COL_CONTAINER || any_ctr);
	int last = NCOL - 1;
	for (int c = 0; c < NCOL; c++)
		w[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < p->n; i++) {
		row_cells(p, &p->rows[i], o, cells);
		for (int c = 0; c < NCOL; c++)
			w[c] = MAX(w[c], (int)strlen(cells[c]));
	}
	for (int c = 0; c < NCOL; c++)
		if (show[c])
			fprintf(f, "%-*s%s", c < last ? w[c] : 0, head[c], c < last ? "  " : "\n");
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		row_cells(p, rw, o, cells);
		for (int c = 0; c < NCOL; c++)
			if (show[c])
				fprintf(f, "%-*s%s", c < last ? w[c] : 0, cells[c], c < last ? "  " : "");
		if (rw->reason)
			fprintf(f, ": %s", rw->reason);
		if (rw->verify[0])
			fprintf(f, " [%s]", rw->verify);
		if (rw->note)
			fprintf(f, " (warning: %s)", rw->note);
		fputc('\n', f);
	}
	print_backtraces(f, p);
}

void report_summary(FILE *f, const struct plan *p, const struct options *o)
{
	size_t cnt[RES_FAILED + 1] = { 0 };
	size_t nsock = 0, nproc = 0;

	for (size_t i = 0; i < p->n; i++) {
		cnt[p->rows[i].result]++;
		if (i == 0 || p->rows[i].sock != p->rows[i - 1].sock)
			nsock++;
	}
	nproc = plan_count_pids(p, false);
	fprintf(f, "sockreap: %zu socket%s, %zu process%s", nsock, nsock == 1 ? "" : "s", nproc,
		nproc == 1 ? "" : "es");
	if (o->dry_run)
		fprintf(f, "; dry run (%s): %zu would be acted on, %zu refused, %zu skipped; nothing touched\n",
			method_name(o), cnt[RES_PLANNED], cnt[RES_REFUSED], cnt[RES_SKIPPED]);
	else
		fprintf(f, "; %s: %zu done, %zu failed, %zu refused, %zu skipped%s\n", method_name(o),
			cnt[RES_DONE], cnt[RES_FAILED], cnt[RES_REFUSED], cnt[RES_SKIPPED],
			o->method == METHOD_DESTROY && cnt[RES_DONE] ? "; the owners keep their fds" : "");
	if (method_info(o->method)->placeholder && (cnt[RES_PLANNED] || cnt[RES_DONE]))
		fprintf(f, "sockreap: %s: each socket is closed inside its owner and its fd number kept by a "
			   "placeholder that reads EOF until the application closes it (--free-fd frees the number "
			   "instead, for programs that lost the fd)\n", method_name(o));
}
