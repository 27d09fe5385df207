#include "report.h"

#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "netns.h"
#include "util.h"

const char *action_name(const struct plan *p, const struct row *rw, const struct options *o)
{
	return rw->owner < 0 ? "none" : method_name(o);
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
	fprintf(f, "\"proto\":\"%s\",\"family\":\"%s\",\"state\":\"%s\",\"local\":\"%s\",\"peer\":\"%s\","
		   "\"inode\":%llu,\"cookie\":%llu,\"uid\":%u,\"rqueue\":%u,\"wqueue\":%u,",
		sock_proto_name(s), s->family == AF_INET6 ? "ipv6" : "ipv4", sock_state_name(s),
		local, peer, (unsigned long long)s->inode, (unsigned long long)s->cookie, s->uid,
		s->rqueue, s->wqueue);
	report_netns_json(f, s->netns);
	if (ow) {
		fprintf(f, "\"pid\":%d,\"fd\":%d,\"comm\":", (int)ow->pid, ow->fd);
		json_str(f, ow->comm);
		report_owner_proc_json(f, ow->proc);
	} else
		fputs("\"pid\":null,\"fd\":null,\"comm\":null,\"nspid\":null,\"container\":null", f);
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
	}
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

enum { COL_PROTO, COL_STATE, COL_LOCAL, COL_PEER, COL_NETNS, COL_OWNER, COL_CONTAINER, COL_ACTION,
       COL_RESULT, NCOL };

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
static void optional_columns(const struct plan *p, bool show[NCOL])
{
	for (int c = 0; c < NCOL; c++)
		show[c] = c != COL_NETNS && c != COL_CONTAINER;
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		uint64_t ns = p->socks.v[rw->sock].netns;
		const struct owner_proc *pr = rw->owner >= 0 ? p->owners.v[rw->owner].proc : NULL;
		show[COL_NETNS] |= ns && ns != netns_self();
		show[COL_CONTAINER] |= pr && (pr->ctr.runtime[0] || pr->ctr.pod_uid[0]);
	}
}

static void row_cells(const struct plan *p, const struct row *rw, const struct options *o,
		      char cells[NCOL][96])
{
	const struct sock *s = &p->socks.v[rw->sock];
	snprintf(cells[COL_PROTO], 96, "%s%s", sock_proto_name(s), s->family == AF_INET6 ? "6" : "");
	snprintf(cells[COL_STATE], 96, "%s", sock_state_name(s));
	sock_addr_format(s, true, cells[COL_LOCAL], 96);
	sock_addr_format(s, false, cells[COL_PEER], 96);
	netns_cell(s->netns, cells[COL_NETNS], 96);
	owner_text(p, rw, cells[COL_OWNER], 96);
	container_cell(p, rw, cells[COL_CONTAINER], 96);
	snprintf(cells[COL_ACTION], 96, "%s", action_name(p, rw, o));
	result_text(rw, cells[COL_RESULT], 96);
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
	static const char *const head[NCOL] = { "PROTO", "STATE", "LOCAL", "PEER", "NETNS", "OWNER(comm/pid/fd)",
						"CONTAINER", "ACTION", "RESULT" };
	char cells[NCOL][96];
	int w[NCOL];
	bool show[NCOL];

	if (o->json) {
		for (size_t i = 0; i < p->n; i++) {
			fputc('{', f);
			report_row_json_fields(f, p, &p->rows[i], o);
			fputs("}\n", f);
		}
		return;
	}
	optional_columns(p, show);
	for (int c = 0; c < NCOL; c++)
		w[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < p->n; i++) {
		row_cells(p, &p->rows[i], o, cells);
		for (int c = 0; c < NCOL; c++)
			w[c] = MAX(w[c], (int)strlen(cells[c]));
	}
	for (int c = 0; c < NCOL; c++)
		if (show[c])
			fprintf(f, "%-*s%s", c + 1 < NCOL ? w[c] : 0, head[c], c + 1 < NCOL ? "  " : "\n");
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		row_cells(p, rw, o, cells);
		for (int c = 0; c < NCOL; c++)
			if (show[c])
				fprintf(f, "%-*s%s", c + 1 < NCOL ? w[c] : 0, cells[c], c + 1 < NCOL ? "  " : "");
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
		fprintf(f, "; %s: %zu done, %zu failed, %zu refused, %zu skipped\n", method_name(o),
			cnt[RES_DONE], cnt[RES_FAILED], cnt[RES_REFUSED], cnt[RES_SKIPPED]);
}
