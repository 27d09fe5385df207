#include "explain.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "escape.h"
#include "netns.h"
#include "report.h"
#include "util.h"

/* Why a socket is there, as a person would put it. The order is the order
 * of the paragraphs under a port. */
enum why {
	W_LISTEN,        /* a listener, with its accept queue */
	W_ACCEPT_QUEUE,  /* no fd yet: waiting in a listener's accept queue */
	W_SYN_QUEUE,     /* a request in a listener's SYN queue */
	W_UDP_SERVER,    /* a bound UDP socket with no peer */
	W_CLOSE_WAIT,    /* owned; the peer closed, the process did not */
	W_CONN,          /* owned connection in any other state */
	W_BOUND,         /* owned TCP socket in CLOSE: bound, not listening */
	W_TIME_WAIT,
	W_ORPHAN,        /* closed by its process, the kernel finishes it */
	W_UNSEEN,        /* has a file, but no process we can see holds it */
};

static const char *const why_names[] = {
	[W_LISTEN] = "listener", [W_UDP_SERVER] = "udp-server", [W_CLOSE_WAIT] = "close-wait-leak",
	[W_CONN] = "connection", [W_BOUND] = "bound", [W_ACCEPT_QUEUE] = "accept-queue",
	[W_SYN_QUEUE] = "syn-queue", [W_TIME_WAIT] = "time-wait", [W_ORPHAN] = "orphan",
	[W_UNSEEN] = "owner-not-visible",
};

struct item {
	size_t sock;
	size_t row0, nrows;   /* its rows (contiguous: rows are sorted by socket) */
	uint16_t port;        /* the port it is listed under */
	bool local;           /* that port is its local end */
	enum why why;
};

struct ctx {
	FILE *f;
	const struct plan *p;
	const struct options *o;
	struct item *items;
	size_t n;
};

static const struct sock *sk(const struct ctx *c, const struct item *it)
{
	return &c->p->socks.v[it->sock];
}

static const struct owner *owner0(const struct ctx *c, const struct item *it)
{
	const struct row *rw = &c->p->rows[it->row0];
	return rw->owner >= 0 ? &c->p->owners.v[rw->owner] : NULL;
}

static enum why classify(const struct sock *s, bool owned)
{
	if (s->proto == IPPROTO_UDP)
		return owned ? (s->state == SK_CLOSE ? W_UDP_SERVER : W_CONN) : W_UNSEEN;
	if (owned) {
		switch (s->state) {
		case SK_LISTEN: return W_LISTEN;
		case SK_CLOSE_WAIT: return W_CLOSE_WAIT;
		case SK_CLOSE: return W_BOUND;
		default: return W_CONN;
		}
	}
	switch (s->state) {
	case SK_TIME_WAIT: return W_TIME_WAIT;
	case SK_SYN_RECV:
	case SK_NEW_SYN_RECV: return s->inode ? W_UNSEEN : W_SYN_QUEUE;
	case SK_FIN_WAIT1:
	case SK_FIN_WAIT2:
	case SK_CLOSING:
	case SK_LAST_ACK: return s->inode ? W_UNSEEN : W_ORPHAN;
	case SK_ESTABLISHED:
	case SK_CLOSE_WAIT: return s->inode ? W_UNSEEN : W_ACCEPT_QUEUE;
	default: return W_UNSEEN;
	}
}

/* The port a socket is listed under: the end the port filter matched
 * (the local one first), else its local port. */
static void port_key(const struct query *q, const struct sock *s, uint16_t *port, bool *local)
{
	*local = true;
	if (q->port.n)
		*local = port_list_match(&q->port, s->sport);
	else if (!q->sport.n && q->dport.n)
		*local = false;
	*port = *local ? s->sport : s->dport;
}

static int item_cmp(const void *a, const void *b, void *arg)
{
	const struct ctx *c = arg;
	const struct item *x = a, *y = b;
	const struct sock *sx = sk(c, x), *sy = sk(c, y);
	uint64_t self = netns_self();
	if (sx->proto != sy->proto)
		return sx->proto == IPPROTO_TCP ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	if (sx->netns != sy->netns) {
		if (sx->netns == self || sy->netns == self)
			return sx->netns == self ? -1 : 1;
		return sx->netns < sy->netns ? -1 : 1;
	}
	if (x->why != y->why)
		return x->why < y->why ? -1 : 1;
	if (sx->state != sy->state)
		return sx->state < sy->state ? -1 : 1;
	if (x->local != y->local)
		return x->local ? -1 : 1;
	const struct owner *ox = owner0(c, x), *oy = owner0(c, y);
	pid_t px = ox ? ox->pid : 0, py = oy ? oy->pid : 0;
	if (px != py)
		return px < py ? -1 : 1;
	return (x->sock > y->sock) - (x->sock < y->sock);
}

static int build(struct ctx *c)
{
	const struct plan *p = c->p;
	c->items = calloc(p->n + 1, sizeof(*c->items));
	if (!c->items)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		if (c->n && c->items[c->n - 1].sock == p->rows[i].sock) {
			c->items[c->n - 1].nrows++;
			continue;
		}
		struct item *it = &c->items[c->n++];
		const struct sock *s = &p->socks.v[p->rows[i].sock];
		*it = (struct item){ .sock = p->rows[i].sock, .row0 = i, .nrows = 1 };
		it->why = classify(s, p->rows[i].owner >= 0);
		port_key(&c->o->q, s, &it->port, &it->local);
	}
	if (c->n)
		qsort_r(c->items, c->n, sizeof(*c->items), item_cmp, c);
	return 0;
}

/* Do a and b read as one paragraph: same port, namespace, reason, state,
 * side and first holder? */
static bool same_group(const struct ctx *c, const struct item *a, const struct item *b)
{
	const struct owner *oa = owner0(c, a), *ob = owner0(c, b);
	return sk(c, a)->proto == sk(c, b)->proto && a->port == b->port && sk(c, a)->netns == sk(c, b)->netns &&
	       a->why == b->why && sk(c, a)->state == sk(c, b)->state && a->local == b->local &&
	       (oa ? oa->pid : 0) == (ob ? ob->pid : 0) && a->why != W_LISTEN;
}

static bool same_port(const struct ctx *c, const struct item *a, const struct item *b)
{
	return sk(c, a)->proto == sk(c, b)->proto && a->port == b->port && sk(c, a)->netns == sk(c, b)->netns;
}

/* ---- wording helpers ---- */

static unsigned secs(uint32_t ms)
{
	return (ms + 999) / 1000;
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void state_lower(const struct sock *s, char *buf, size_t size)
{
	snprintf(buf, size, "%s", sock_state_name(s));
	for (char *q = buf; *q; q++)
		*q = (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q);
}

/* Commands are printed for a person to paste: a name that is not plain is
 * not pasted into one. */
static bool plain(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("-_.@", *s)))
			return false;
	return true;
}

static void ns_label(uint64_t ino, char *buf, size_t size)
{
	const struct netns *ns = netns_find(ino);
	if (!ino || ino == netns_self()) {
		snprintf(buf, size, "sockreap's own network namespace (net:[%llu])", (unsigned long long)ino);
		return;
	}
	int n = snprintf(buf, size, "network namespace net:[%llu]", (unsigned long long)ino);
	if (ns && ns->name[0] && plain(ns->name))
		n += snprintf(buf + n, size - (size_t)n, " \"%s\"", ns->name);
	if (!ns || !ns->pid || (size_t)n >= size)
		return;
	/* whose namespace it is, when a process in it is in a container */
	char path[64], shortc[96];
	struct container ctr;
	snprintf(path, sizeof(path), "/proc/%d", (int)ns->pid);
	_cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	container_read(dfd, &ctr);
	container_short(&ctr, shortc, sizeof(shortc));
	if (shortc[0])
		snprintf(buf + n, size - (size_t)n, ", %s's", shortc);
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* "blocker (pid 4242; fds 7-18; in docker:3f2a9c81e0b1, its pid 1)" */
static void holders(const struct ctx *c, const struct item *a, size_t cnt, char *buf, size_t size)
{
	pid_t pids[3] = { 0 };
	size_t npid = 0, more = 0;
	const struct owner *first = owner0(c, a);
	int fds[16];
	size_t nfd = 0;
	bool fdmore = false;

	for (size_t k = 0; k < cnt; k++)
		for (size_t r = a[k].row0; r < a[k].row0 + a[k].nrows; r++) {
			const struct owner *ow = &c->p->owners.v[c->p->rows[r].owner];
			bool known = false;
			for (size_t j = 0; j < npid; j++)
				known |= pids[j] == ow->pid;
			if (!known && npid < ARRAY_SIZE(pids))
				pids[npid++] = ow->pid;
			else if (!known)
				more++;
			if (ow->pid == first->pid) {
				if (nfd < ARRAY_SIZE(fds))
					fds[nfd++] = ow->fd;
				else
					fdmore = true;
			}
		}
	qsort(fds, nfd, sizeof(*fds), int_cmp);
	char comm[sizeof(first->comm) * 4 + 1]; /* the process's own choice: escaped */
	esc_term_buf(comm, sizeof(comm), first->comm[0] ? first->comm : "?");
	int n = snprintf(buf, size, "%s (pid%s %d", comm, npid > 1 ? "s" : "",
			 (int)pids[0]);
	for (size_t j = 1; j < npid && (size_t)n < size; j++)
		n += snprintf(buf + n, size - (size_t)n, ", %d", (int)pids[j]);
	if (more && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, " and %zu more", more);
	if ((size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "; %s %d", nfd > 1 ? "fds" : "fd", fds[0]);
	/* fds as ranges: 7-18, 21 */
	for (size_t j = 1; j < nfd && (size_t)n < size; j++) {
		if (fds[j] == fds[j - 1] + 1) {
			size_t e = j;
			while (e + 1 < nfd && fds[e + 1] == fds[e] + 1)
				e++;
			n += snprintf(buf + n, size - (size_t)n, "%s%d", e > j ? "-" : ", ", fds[e]);
			j = e;
		} else
			n += snprintf(buf + n, size - (size_t)n, ", %d", fds[j]);
	}
	if (fdmore && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, ", ...");
	char shortc[96];
	container_short(first->proc ? &first->proc->ctr : NULL, shortc, sizeof(shortc));
	if (shortc[0] && (size_t)n < size) {
		n += snprintf(buf + n, size - (size_t)n, "; in %s", shortc);
		const struct container *ctr = &first->proc->ctr;
		if (ctr->pod_name[0] && (size_t)n < size)
			n += snprintf(buf + n, size - (size_t)n, ", pod %s%s%s", ctr->pod_ns, ctr->pod_ns[0] ? "/" : "",
				      ctr->pod_name);
		if (ctr->pidns && ctr->nspid && (size_t)n < size)
			n += snprintf(buf + n, size - (size_t)n, ", its pid %d", (int)ctr->nspid);
	}
	if ((size_t)n < size)
		snprintf(buf + n, size - (size_t)n, ")");
}

static const char *proto_flag(const struct sock *s)
{
	return s->proto == IPPROTO_UDP ? "-u" : "-t";
}

/* The sockreap command that selects exactly these sockets of this holder. */
static void sockreap_cmd(const struct ctx *c, const struct item *it, const char *extra, char *buf, size_t size)
{
	const struct sock *s = sk(c, it);
	char st[24];
	state_lower(s, st, sizeof(st));
	snprintf(buf, size, "sockreap --pid %d --%s %u --state %s %s%s%s", (int)owner0(c, it)->pid,
		 it->local ? "sport" : "dport", it->port, st, proto_flag(s), extra[0] ? " " : "", extra);
}

/* --netns for a namespace not sockreap's own: its name, a process in it,
 * or (pinned only by sockets) --all-netns. */
static void netns_flag(uint64_t ino, char *buf, size_t size)
{
	const struct netns *ns = netns_find(ino);
	buf[0] = '\0';
	if (!ino || ino == netns_self())
		return;
	if (ns && ns->name[0] && plain(ns->name))
		snprintf(buf, size, " --netns %s", ns->name);
	else if (ns && ns->pid)
		snprintf(buf, size, " --netns %d", (int)ns->pid);
	else
		snprintf(buf, size, " --all-netns");
}

/* For what nobody owns, the kernel's SOCK_DESTROY, through sockreap: it
 * sends it from inside the socket's namespace and audits it, which a bare
 * ss -K does not. */
static void destroy_cmd(const struct ctx *c, const struct item *it, char *buf, size_t size)
{
	const struct sock *s = sk(c, it);
	char st[24], ns[96];
	state_lower(s, st, sizeof(st));
	netns_flag(s->netns, ns, sizeof(ns));
	snprintf(buf, size, "sockreap --destroy --%s %u --state %s %s%s", it->local ? "sport" : "dport", it->port, st,
		 proto_flag(s), ns);
}

/* The plan's verdict on the first row: what sockreap itself says. */
static const struct row *verdict(const struct ctx *c, const struct item *it)
{
	return &c->p->rows[it->row0];
}

static bool is_listen_refusal(const struct row *rw)
{
	return rw->result == RES_REFUSED && rw->reason && !strncmp(rw->reason, "LISTEN", 6);
}

/* Is there a listener on this port (and protocol) in this namespace? */
static const struct item *listener_of(const struct ctx *c, const struct item *it)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct item *l = &c->items[i];
		if (l->why == W_LISTEN && sk(c, l)->netns == sk(c, it)->netns && sk(c, l)->proto == sk(c, it)->proto &&
		    sk(c, l)->sport == (it->local ? it->port : sk(c, it)->sport))
			return l;
	}
	return NULL;
}

static bool listener_in_ns(const struct ctx *c, uint8_t proto, uint16_t port, uint64_t netns)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct sock *s = sk(c, &c->items[i]);
		if (c->items[i].why == W_LISTEN && s->proto == proto && s->sport == port && s->netns == netns)
			return true;
	}
	return false;
}

/* ---- one explanation ---- */

struct words {
	char what[600];   /* who holds it, or why nobody does */
	char queue[300];  /* accept queue of a listener */
	char todo[600];   /* what to do about it, in words */
	char cmd[300];    /* the exact command, "" none */
	bool can;         /* sockreap itself could act (as planned) */
};

static void timer_words(const struct item *a, size_t cnt, const struct ctx *c, char *buf, size_t size)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	for (size_t k = 0; k < cnt; k++) {
		const struct sock *s = sk(c, &a[k]);
		if (!s->timer)
			continue;
		lo = MIN(lo, s->expires_ms);
		hi = MAX(hi, s->expires_ms);
	}
	if (lo == UINT32_MAX)
		snprintf(buf, size, "no timer running");
	else if (secs(hi) == 0)
		snprintf(buf, size, "%s within a second", cnt == 1 ? "it ends" : "they end");
	else if (cnt == 1 || secs(lo) == secs(hi))
		snprintf(buf, size, "%s in %u s", cnt == 1 ? "it ends" : "they end", secs(hi));
	else
		snprintf(buf, size, "the first ends in %u s, the last in %u s", secs(lo), secs(hi));
}

static void explain_group(const struct ctx *c, const struct item *a, size_t cnt, struct words *w)
{
	const struct sock *s = sk(c, a);
	const struct row *rw = verdict(c, a);
	char who[400] = "", addr[SOCK_ADDR_MAX], peer[SOCK_ADDR_MAX], tw[96], st[24];
	const char *state = sock_state_name(s);

	memset(w, 0, sizeof(*w));
	if (rw->owner >= 0)
		holders(c, a, cnt, who, sizeof(who));
	sock_addr_format(s, true, addr, sizeof(addr));
	sock_addr_format(s, false, peer, sizeof(peer));
	state_lower(s, st, sizeof(st));
	timer_words(a, cnt, c, tw, sizeof(tw));
	w->can = rw->result == RES_PLANNED;

	switch (a->why) {
	case W_LISTEN:
		textf(w->what, sizeof(w->what), "Listening on %s: held by %s.", addr, who);
		/* for a listener, Recv-Q is the accept queue and Send-Q its
		 * backlog; the kernel drops connections once more than the
		 * backlog are queued (sk_acceptq_is_full) */
		if (s->rqueue > s->wqueue)
			snprintf(w->queue, sizeof(w->queue),
				 "Accept queue FULL: %u connections wait to be accepted, the backlog is %u. The process is "
				 "not calling accept() (or not fast enough): new connections are dropped until it does.",
				 s->rqueue, s->wqueue);
		else if (s->rqueue)
			snprintf(w->queue, sizeof(w->queue), "Accept queue: %u of %u connections wait to be accepted.",
				 s->rqueue, s->wqueue);
		else
			snprintf(w->queue, sizeof(w->queue), "Accept queue: empty (backlog %u).", s->wqueue);
		if (s->rqueue > s->wqueue)
			snprintf(w->todo, sizeof(w->todo),
				 "sockreap cannot drain an accept queue: the fix is in the process. See where its threads "
				 "wait: grep . /proc/%d/task/*/wchan. If it must let go of port %u (it stops accepting "
				 "there):", (int)owner0(c, a)->pid, a->port);
		else
			snprintf(w->todo, sizeof(w->todo),
				 "This is a service's listener: nothing is wrong with it. If that process must let go of "
				 "port %u (it stops accepting there):", a->port);
		if (is_listen_refusal(rw) || rw->result == RES_PLANNED)
			sockreap_cmd(c, a, "--allow-listen", w->cmd, sizeof(w->cmd));
		else
			snprintf(w->todo + strlen(w->todo), sizeof(w->todo) - strlen(w->todo),
				 " sockreap refuses: %s.", rw->reason ? rw->reason : "?");
		return;
	case W_UDP_SERVER:
		textf(w->what, sizeof(w->what), "Bound UDP socket on %s, no peer (a server): held by %s.", addr,
			 who);
		/* refused like a listener: the same way out */
		if (rw->result == RES_REFUSED && rw->reason && strstr(rw->reason, "--allow-listen")) {
			snprintf(w->todo, sizeof(w->todo),
				 "This is a service's socket: sockreap refuses it unless allowed. If that process must "
				 "let go of port %u (it stops receiving there):", a->port);
			sockreap_cmd(c, a, "--allow-listen", w->cmd, sizeof(w->cmd));
			return;
		}
		break;
	case W_CLOSE_WAIT:
		textf(w->what, sizeof(w->what),
			 "%zu %s in CLOSE-WAIT, held by %s: the peer%s closed and the process never closed its end "
			 "(leaked, if %s stay%s).",
			 cnt, plural(cnt, "connection", "connections"), who, cnt == 1 ? "" : "s", cnt == 1 ? "it" : "they",
			 cnt == 1 ? "s" : "");
		break;
	case W_CONN:
		if (a->local)
			textf(w->what, sizeof(w->what), "%zu %s in %s%s%s, held by %s.", cnt,
				 plural(cnt, "connection", "connections"), state, cnt == 1 ? " with " : "",
				 cnt == 1 ? peer : "", who);
		else
			textf(w->what, sizeof(w->what), "%zu client %s in %s to %s, held by %s.", cnt,
				 plural(cnt, "connection", "connections"), state, peer, who);
		break;
	case W_BOUND:
		textf(w->what, sizeof(w->what),
			 "%zu %s bound to %s but neither listening nor connected, held by %s: %s the port.", cnt,
			 plural(cnt, "socket", "sockets"), addr, who, cnt == 1 ? "it still reserves" : "they still reserve");
		break;
	case W_ACCEPT_QUEUE:
		textf(w->what, sizeof(w->what),
			 "%zu %s in %s that no process holds yet: the kernel completed %s and %s waiting in the accept "
			 "queue of the listener on port %u; nobody has accept()ed %s.",
			 cnt, plural(cnt, "connection", "connections"), state, cnt == 1 ? "it" : "them",
			 cnt == 1 ? "it is" : "they are", s->sport, cnt == 1 ? "it" : "them");
		snprintf(w->todo, sizeof(w->todo), "Only the listener's process can take %s (accept())%s.",
			 cnt == 1 ? "it" : "them", listener_of(c, a) ? "; see its listener" : "");
		return;
	case W_SYN_QUEUE:
		textf(w->what, sizeof(w->what),
			 "%zu connection %s in the SYN queue of the listener on port %u: the client%s not sent the "
			 "handshake's final ACK; the kernel resends its SYN-ACK and drops the request in the end (%s).",
			 cnt, plural(cnt, "request", "requests"), s->sport, cnt == 1 ? " has" : "s have", tw);
		snprintf(w->todo, sizeof(w->todo),
			 "Nothing for sockreap to act on. Many of them mean clients that never finish the handshake, "
			 "or a SYN flood (see net.ipv4.tcp_syncookies).");
		return;
	case W_TIME_WAIT:
		textf(w->what, sizeof(w->what),
			 "%zu %s in TIME-WAIT, held by no process: %s the kernel keeps for 60 s after the close so that "
			 "late packets are not taken for a new connection; %s.",
			 cnt, plural(cnt, "connection", "connections"),
			 cnt == 1 ? "a closed connection" : "closed connections", tw);
		snprintf(w->todo, sizeof(w->todo),
			 "Nothing needs doing: %s by %s. %s not stop a server that binds port %u with "
			 "SO_REUSEADDR. To remove %s now, with the kernel's SOCK_DESTROY:",
			 cnt == 1 ? "it goes away" : "they go away", cnt == 1 ? "itself" : "themselves",
			 cnt == 1 ? "It does" : "They do", a->port, cnt == 1 ? "it" : "them");
		destroy_cmd(c, a, w->cmd, sizeof(w->cmd));
		return;
	case W_ORPHAN:
		textf(w->what, sizeof(w->what),
			 "%zu orphaned %s in %s, held by no process: the process closed %s and the kernel finishes "
			 "the close on its own (%s; FIN-WAIT-2 lasts net.ipv4.tcp_fin_timeout at most).",
			 cnt, plural(cnt, "connection", "connections"), state, cnt == 1 ? "it" : "them", tw);
		snprintf(w->todo, sizeof(w->todo), "Nothing needs doing. To reset %s now, with the kernel's SOCK_DESTROY:",
			 cnt == 1 ? "it" : "them");
		destroy_cmd(c, a, w->cmd, sizeof(w->cmd));
		return;
	case W_UNSEEN:
		textf(w->what, sizeof(w->what),
			 "%zu %s in %s that no process visible to sockreap holds: the owner's fds are not readable "
			 "to sockreap, or it is in a PID namespace this /proc does not show, or it closed %s a moment "
			 "ago.",
			 cnt, plural(cnt, "socket", "sockets"), state, cnt == 1 ? "it" : "them");
		snprintf(w->todo, sizeof(w->todo), "Nothing sockreap can reach from here.");
		return;
	}
	/* owned sockets other than listeners: the plan's verdict */
	if (rw->result == RES_REFUSED) {
		snprintf(w->todo, sizeof(w->todo), "sockreap refuses to act on %s: %s.", cnt == 1 ? "it" : "them",
			 rw->reason ? rw->reason : "?");
		return;
	}
	if (a->why == W_CONN && s->state == SK_ESTABLISHED) {
		snprintf(w->todo, sizeof(w->todo), "If %s must end (the process sees EOF and cleans up itself):",
			 cnt == 1 ? "it" : "they");
		sockreap_cmd(c, a, "--shutdown", w->cmd, sizeof(w->cmd));
	} else {
		snprintf(w->todo, sizeof(w->todo), "To free %s:", cnt == 1 ? "it" : "them");
		sockreap_cmd(c, a, "", w->cmd, sizeof(w->cmd));
	}
	(void)st;
}

/* ---- text ---- */

/* text wrapped at 78 columns: the first line after first, the rest after
 * rest */
static void print_wrapped(FILE *f, const char *first, const char *rest, const char *raw)
{
	const size_t width = 78;
	char text[4096];
	/* comm, container and namespace names come from other processes */
	esc_term_buf(text, sizeof(text), raw);
	size_t il = strlen(first), col = il;
	fputs(first, f);
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, " ");
		if (col > il && col + 1 + n > width) {
			fprintf(f, "\n%s", rest);
			col = il = strlen(rest);
		} else if (col > il) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += n;
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

static void print_header(const struct ctx *c, const struct item *it)
{
	const struct sock *s = sk(c, it);
	char label[300];
	ns_label(s->netns, label, sizeof(label));
	fprintf(c->f, "Port %u/%s, in ", it->port, sock_proto_name(s));
	esc_term(c->f, label);
	fputs(":\n", c->f);
	if (s->netns != netns_self() && listener_in_ns(c, s->proto, it->port, s->netns) &&
	    !listener_in_ns(c, s->proto, it->port, netns_self()))
		print_wrapped(c->f, "  ", "  ",
			      "(The listener below is in another network namespace than sockreap's: it serves, and "
			      "keeps the port busy, only in its own. In sockreap's namespace nothing listens on it.)");
}

static void print_text(const struct ctx *c)
{
	for (size_t i = 0; i < c->n;) {
		const struct item *a = &c->items[i];
		if (i == 0 || !same_port(c, &c->items[i - 1], a)) {
			if (i)
				fputc('\n', c->f);
			print_header(c, a);
		}
		size_t cnt = 1;
		while (i + cnt < c->n && same_group(c, a, &c->items[i + cnt]))
			cnt++;
		struct words w;
		explain_group(c, a, cnt, &w);
		print_wrapped(c->f, "  - ", "    ", w.what);
		if (w.queue[0])
			print_wrapped(c->f, "    ", "    ", w.queue);
		if (w.todo[0])
			print_wrapped(c->f, "    ", "    ", w.todo);
		if (w.cmd[0]) {
			fputs("        ", c->f);
			esc_term(c->f, w.cmd);
			fputc('\n', c->f);
		}
		i += cnt;
	}
}

/* Ports the user asked about by number that nothing holds: say so, that is
 * the answer to "why can't I bind it" being "you can". */
static void print_free_ports(const struct ctx *c)
{
	const struct port_list *l = c->o->q.port.n ? &c->o->q.port : &c->o->q.sport;
	for (size_t i = 0; i < l->n; i++) {
		if (l->r[i].hi - l->r[i].lo > 64)
			continue;
		for (unsigned port = l->r[i].lo; port <= l->r[i].hi; port++) {
			bool seen = false;
			for (size_t k = 0; k < c->n && !seen; k++)
				seen = c->items[k].port == port;
			if (!seen)
				fprintf(c->f, "Port %u: nothing holds it in the %zu network namespace%s searched%s.\n", port,
					netns_searched(), netns_searched() == 1 ? "" : "s",
					c->o->q.states || c->o->q.tcp || c->o->q.udp ? " (with these filters)"
										    : "; it is free to bind");
		}
	}
	if (!c->n && !l->n)
		fprintf(c->f, "No socket matches.\n");
}

/* ---- JSON: one object per socket ---- */

static void print_json(const struct ctx *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct item *it = &c->items[i];
		const struct sock *s = sk(c, it);
		struct words w;
		char local[SOCK_ADDR_MAX], peer[SOCK_ADDR_MAX];
		explain_group(c, it, 1, &w);
		sock_addr_format(s, true, local, sizeof(local));
		sock_addr_format(s, false, peer, sizeof(peer));
		fprintf(c->f, "{\"port\":%u,\"port_side\":\"%s\",\"proto\":\"%s\",\"family\":\"%s\",", it->port,
			it->local ? "local" : "peer", sock_proto_name(s), s->family == AF_INET6 ? "ipv6" : "ipv4");
		report_netns_json(c->f, s->netns);
		fprintf(c->f, "\"state\":\"%s\",\"local\":\"%s\",\"peer\":\"%s\",\"inode\":%llu,\"cookie\":%llu,"
			      "\"why\":\"%s\",\"holders\":[",
			sock_state_name(s), local, peer, (unsigned long long)s->inode, (unsigned long long)s->cookie,
			why_names[it->why]);
		for (size_t r = it->row0; r < it->row0 + it->nrows; r++) {
			const struct row *rw = &c->p->rows[r];
			if (rw->owner < 0)
				continue;
			const struct owner *ow = &c->p->owners.v[rw->owner];
			fprintf(c->f, "%s{\"pid\":%d,\"fd\":%d,", r > it->row0 ? "," : "", (int)ow->pid, ow->fd);
			esc_json_field(c->f, "comm", ow->comm);
			report_owner_proc_json(c->f, ow->proc);
			fputc('}', c->f);
		}
		fputs("]", c->f);
		if (s->state == SK_LISTEN && s->proto == IPPROTO_TCP)
			fprintf(c->f, ",\"accept_queue\":%u,\"backlog\":%u,\"accept_queue_full\":%s", s->rqueue, s->wqueue,
				s->rqueue > s->wqueue ? "true" : "false");
		if (s->timer)
			fprintf(c->f, ",\"expires_ms\":%u", s->expires_ms);
		else
			fputs(",\"expires_ms\":null", c->f);
		fputs(",\"explanation\":", c->f);
		esc_json(c->f, w.what);
		fputs(",\"accept_queue_text\":", c->f);
		esc_json(c->f, w.queue[0] ? w.queue : NULL);
		fputs(",\"todo\":", c->f);
		esc_json(c->f, w.todo[0] ? w.todo : NULL);
		fputs(",\"command\":", c->f);
		esc_json(c->f, w.cmd[0] ? w.cmd : NULL);
		fprintf(c->f, ",\"sockreap_can_act\":%s}\n", w.can ? "true" : "false");
	}
}

void explain_print(FILE *f, const struct plan *p, const struct options *o)
{
	struct ctx c = { .f = f, .p = p, .o = o };
	if (build(&c) < 0) {
		free(c.items);
		return;
	}
	if (o->json)
		print_json(&c);
	else {
		print_text(&c);
		if (c.n && (o->q.port.n || o->q.sport.n))
			fputc('\n', f);
		print_free_ports(&c);
	}
	free(c.items);
}

void explain_summary(FILE *f, const struct plan *p)
{
	size_t nsock = 0;
	for (size_t i = 0; i < p->n; i++)
		nsock += i == 0 || p->rows[i].sock != p->rows[i - 1].sock;
	fprintf(f, "sockreap: explained %zu socket%s in %zu network namespace%s searched; read-only, nothing touched\n",
		nsock, nsock == 1 ? "" : "s", netns_searched(), netns_searched() == 1 ? "" : "s");
}
