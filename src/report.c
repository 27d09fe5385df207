#include "report.h"

#include <stdbool.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "escape.h"
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
		fprintf(f, "%s{\"pid\":%d,\"fd\":%d,", i ? "," : "", (int)ow->pid, ow->fd);
		esc_json_field(f, "comm", ow->comm);
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
		fprintf(f, "\"netns\":%llu,", (unsigned long long)netns);
	else
		fputs("\"netns\":null,", f);
	if (name)
		esc_json_field(f, "netns_name", name); /* a file name under /run/netns */
	else
		fputs("\"netns_name\":null", f);
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

/* Short codes for the table: reasons are sentences (a TIME-WAIT row's is
 * 150 characters), shown once below the table under their code. Matched
 * on the text so every module keeps writing plain reasons; an unknown
 * text gets a numbered code. */
static const struct { const char *text, *code; } reason_codes[] = {
	{ "LISTEN socket", "listen" },
	{ "PID 1 ", "pid1" },
	{ "sockreap's own socket", "self" },
	{ "ancestor of sockreap", "ancestor" },
	{ "the ssh connection", "ssh-session" },
	{ "excluded by --exclude-pid", "excluded-pid" },
	{ "excluded by --exclude-comm", "excluded-comm" },
	{ "the run would touch", "max" },
	{ "no owner:", "no-owner" },
	{ "no process holds this socket", "no-fd-seen" },
	{ "owners may be hidden", "hidden-owners" },
	{ "fd reused", "fd-reused" },
	{ "the fd was closed meanwhile", "fd-gone" },
	{ "the fd was already closed", "fd-gone" },
	{ "the process or its fd is gone", "gone" },
	{ "the target exited", "gone" },
	{ "process exited", "gone" },
	{ "target exited", "gone" },
	{ "is blocked in system call", "fd-busy" },
	{ "already traced", "traced" },
	{ "ptrace attach refused", "attach" },
	{ "seccomp", "seccomp" },
	{ "syscall user dispatch", "syscall-dispatch" },
	{ "did not stop within", "no-stop" },
	{ "the audit log could not be written", "audit-log" },
	{ "sockreap was interrupted", "interrupted" },
	{ "no CAP_SYS_PTRACE", "no-cap" },
	{ "Yama ptrace_scope", "yama" },
	{ "no terminal", "no-tty" },
	{ "not confirmed", "declined" },
	{ "the fd still holds the socket", "still-open" },
	{ "in the target failed", "call-failed" },
	{ "pidfd_getfd duplicate failed", "pidfd-failed" },
	{ "event loop still watches", "epoll" },
};

static const char *known_code(const char *text)
{
	for (size_t i = 0; text && i < ARRAY_SIZE(reason_codes); i++)
		if (strstr(text, reason_codes[i].text))
			return reason_codes[i].code;
	return NULL;
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
		fprintf(f, "\"pid\":%d,\"fd\":%d,", (int)ow->pid, ow->fd);
		esc_json_field(f, "comm", ow->comm);
		fprintf(f, ",\"io_uring\":%s", ow->io_uring ? "true" : "false");
		report_owner_proc_json(f, ow->proc);
	} else
		fputs("\"pid\":null,\"fd\":null,\"comm\":null,\"io_uring\":null,\"nspid\":null,\"container\":null", f);
	fprintf(f, ",\"owners\":%u,\"epoll\":%s,\"action\":\"%s\",\"result\":\"%s\",",
		rw->nowners, rw->epoll ? "true" : "false", action_name(p, rw, o), result_name(rw->result));
	esc_json_field(f, "reason", rw->reason);
	fputs(",\"reason_code\":", f);
	json_str(f, known_code(rw->reason));
	fputc(',', f);
	esc_json_field(f, "note", rw->note);
	errno_name(rw->err, en, sizeof(en));
	fputs(",\"errno\":", f);
	json_str(f, rw->err ? en : NULL);
	fputc(',', f);
	esc_json_field(f, "verify", rw->verify[0] ? rw->verify : NULL);
	fprintf(f, ",\"dry_run\":%s", o->dry_run ? "true" : "false");
	if (rw->stall_ms >= 0)
		fprintf(f, ",\"stall_ms\":%.3f", rw->stall_ms);
	if (rw->backtrace) {
		fputc(',', f);
		esc_json_field(f, "backtrace", rw->backtrace);
	} else if (rw->backtrace_fd >= 0)
		fprintf(f, ",\"backtrace_at_fd\":%d", rw->backtrace_fd);
}

/* The distinct long texts of a table (reasons or warnings), each with
 * its code, in order of first appearance. */
struct legend {
	size_t n, cap;
	struct { const char *text; char code[24]; } *v;
};

static const char *legend_code(struct legend *l, const char *text, const char *fallback_prefix)
{
	if (!text)
		return NULL;
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].text, text))
			return l->v[i].code;
	if (GROW(l->v, l->cap, l->n) < 0)
		return "?";
	const char *base = known_code(text);
	char code[24];
	unsigned same = 0;
	for (size_t i = 0; i < l->n; i++)
		same += base && !strncmp(l->v[i].code, base, strlen(base)) &&
			(l->v[i].code[strlen(base)] == '\0' || l->v[i].code[strlen(base)] == '-');
	if (!base)
		snprintf(code, sizeof(code), "%s%zu", fallback_prefix, l->n + 1);
	else if (same)
		snprintf(code, sizeof(code), "%s-%u", base, same + 1);
	else
		snprintf(code, sizeof(code), "%s", base);
	l->v[l->n].text = text;
	memcpy(l->v[l->n].code, code, sizeof(code));
	return l->v[l->n++].code;
}

static void legend_print(FILE *f, const struct legend *l, const char *title)
{
	int w = 0;
	if (!l->n)
		return;
	for (size_t i = 0; i < l->n; i++)
		w = MAX(w, (int)strlen(l->v[i].code));
	fprintf(f, "\n%s:\n", title);
	for (size_t i = 0; i < l->n; i++) {
		fprintf(f, "  %-*s  ", w, l->v[i].code);
		esc_term(f, l->v[i].text);
		fputc('\n', f);
	}
}

static void owner_text(const struct plan *p, const struct row *rw, char *buf, size_t size)
{
	if (rw->owner < 0) {
		snprintf(buf, size, "-");
		return;
	}
	const struct owner *ow = &p->owners.v[rw->owner];
	char comm[sizeof(ow->comm) * 4 + 1];
	esc_term_buf(comm, sizeof(comm), ow->comm);
	snprintf(buf, size, "%s/%d/%d", comm, (int)ow->pid, ow->fd);
}

/* "done", "refused: listen", "failed EPERM: attach" */
static void result_text(const struct row *rw, struct legend *reasons, char *buf, size_t size)
{
	char en[32];
	errno_name(rw->err, en, sizeof(en));
	const char *code = legend_code(reasons, rw->reason, "r");
	snprintf(buf, size, "%s%s%s%s%s", result_name(rw->result), rw->err ? " " : "", rw->err ? en : "",
		 code ? ": " : "", code ? code : "");
}

enum { COL_PROTO, COL_STATE, COL_LOCAL, COL_PEER, COL_PEER_OWNER, COL_IDLE, COL_NETNS, COL_OWNER, COL_CONTAINER,
       COL_ACTION, COL_RESULT, NCOL };
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
		char comm[sizeof(ow->comm) * 4 + 1];
		esc_term_buf(comm, sizeof(comm), ow->comm); /* the peer's own choice */
		len += (size_t)snprintf(buf + len, size - len, "%s%s/%d/%d", i ? "," : "", comm, (int)ow->pid, ow->fd);
	}
	if (n > 3 && len < size)
		snprintf(buf + len, size - len, ",+%zu", n - 3);
}


/* The namespace column: its /run/netns name, else its inode. */
static void netns_cell(uint64_t netns, char *buf, size_t size)
{
	const char *name = netns ? netns_name(netns) : NULL;
	if (name)
		esc_term_buf(buf, size, name);
	else
		snprintf(buf, size, "%llu", (unsigned long long)netns);
}

static void container_cell(const struct plan *p, const struct row *rw, char *buf, size_t size)
{
	const struct owner_proc *pr = rw->owner >= 0 ? p->owners.v[rw->owner].proc : NULL;
	char raw[CELL];
	container_short(pr ? &pr->ctr : NULL, raw, sizeof(raw));
	/* ids and service names come from the process's cgroup path */
	esc_term_buf(buf, size, raw[0] ? raw : "-");
}

/* Optional columns only when they say something: PEER-OWNER for unix
 * sockets, IDLE for --idle, NETNS for some socket outside sockreap's own
 * namespace, CONTAINER for some owner in a container. */
static void optional_columns(const struct plan *p, const struct options *o, bool show[NCOL])
{
	bool any_unix = false;
	for (size_t i = 0; i < p->n && !any_unix; i++)
		any_unix = p->socks.v[p->rows[i].sock].family == AF_UNIX;
	for (int c = 0; c < NCOL; c++)
		show[c] = (c != COL_PEER_OWNER || any_unix) && (c != COL_IDLE || o->q.has_idle) && c != COL_NETNS &&
			  c != COL_CONTAINER;
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		uint64_t ns = p->socks.v[rw->sock].netns;
		const struct owner_proc *pr = rw->owner >= 0 ? p->owners.v[rw->owner].proc : NULL;
		show[COL_NETNS] |= ns && ns != netns_self();
		show[COL_CONTAINER] |= pr && (pr->ctr.runtime[0] || pr->ctr.pod_uid[0]);
	}
}

static void row_cells(const struct plan *p, const struct row *rw, const struct options *o,
		      struct legend *reasons, char cells[NCOL][CELL])
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
	result_text(rw, reasons, cells[COL_RESULT], CELL);
}

/* Every row of a process carries the same stacks (for JSON and the audit
 * log); the table shows them once per process, after the rows. Symbol
 * and file names come from the target's files: escaped line by line. */
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
		if (seen)
			continue;
		fputs("\nstacks of ", f);
		esc_term(f, p->owners.v[rw->owner].comm);
		fprintf(f, " (pid %d) when it was stopped:\n", (int)pid);
		_cleanup_free_ char *text = strdup(rw->backtrace);
		char *save = NULL;
		for (char *line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
			esc_term(f, line);
			fputc('\n', f);
		}
	}
}

static void pad(FILE *f, const char *cell, int width)
{
	fputs(cell, f);
	for (int k = (int)esc_width(cell); k < width; k++)
		fputc(' ', f);
}

void report_print(FILE *f, const struct plan *p, const struct options *o)
{
	static const char *const head[NCOL] = { "PROTO", "STATE", "LOCAL", "PEER", "PEER-OWNER", "IDLE", "NETNS",
						"OWNER(comm/pid/fd)", "CONTAINER", "ACTION", "RESULT" };
	static char cells[NCOL][CELL];
	int w[NCOL];
	bool show[NCOL];
	struct legend reasons = { 0 }, notes = { 0 };

	if (o->json) {
		for (size_t i = 0; i < p->n; i++) {
			fputc('{', f);
			report_row_json_fields(f, p, &p->rows[i], o);
			fputs("}\n", f);
		}
		return;
	}
	optional_columns(p, o, show);
	int last = NCOL - 1;
	for (int c = 0; c < NCOL; c++)
		w[c] = (int)strlen(head[c]);
	for (size_t i = 0; i < p->n; i++) {
		row_cells(p, &p->rows[i], o, &reasons, cells);
		for (int c = 0; c < NCOL; c++)
			w[c] = MAX(w[c], (int)esc_width(cells[c]));
	}
	for (int c = 0; c < NCOL; c++)
		if (show[c]) {
			pad(f, head[c], c < last ? w[c] : 0);
			fputs(c < last ? "  " : "\n", f);
		}
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		row_cells(p, rw, o, &reasons, cells);
		for (int c = 0; c < NCOL; c++)
			if (show[c]) {
				pad(f, cells[c], c < last ? w[c] : 0);
				if (c < last)
					fputs("  ", f);
			}
		if (rw->verify[0]) {
			fputs(" [", f);
			esc_term(f, rw->verify);
			fputc(']', f);
		}
		if (rw->note)
			fprintf(f, " (warning: %s)", legend_code(&notes, rw->note, "w"));
		fputc('\n', f);
	}
	legend_print(f, &reasons, "reasons");
	legend_print(f, &notes, "warnings");
	free(reasons.v);
	free(notes.v);
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
