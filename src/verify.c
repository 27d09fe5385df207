/* verify: after acting, read the kernel's view again and say what really
 * happened to each row: the fd freed or not, the socket gone, closing, or
 * alive because other owners hold it; for shutdown the new state. */
#include "verify.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netns.h"
#include "procfd.h"
#include "util.h"

static int cookie_cmp(const void *a, const void *b)
{
	const struct sock *x = a, *y = b;
	return (x->cookie > y->cookie) - (x->cookie < y->cookie);
}

static bool sock_is(const struct sock *s, uint8_t family, uint8_t proto)
{
	return s->family == family && (family == AF_UNIX || s->proto == proto);
}

/* One dump of family/proto (AF_UNIX: every unix socket, proto ignored) in
 * each network namespace where the plan has sockets of that kind (netns 0,
 * from fixtures: our own), so a socket in a container is looked up where it
 * lives. Cookies are unique across namespaces, so the dumps simply go into
 * one list. */
static int dump_in_namespaces(const struct plan *p, uint8_t family, uint8_t proto, struct sock_list *out)
{
	_cleanup_free_ uint64_t *done = malloc((p->socks.n + 1) * sizeof(*done));
	size_t ndone = 0;
	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < p->socks.n; i++) {
		if (!sock_is(&p->socks.v[i], family, proto))
			continue;
		uint64_t ns = p->socks.v[i].netns;
		bool seen = false;
		for (size_t j = 0; j < ndone && !seen; j++)
			seen = done[j] == ns;
		if (seen)
			continue;
		done[ndone++] = ns;
		int r = ns ? netns_dump(ns, family, proto, SK_ALL_STATES, out)
		      : family == AF_UNIX ? diag_dump_unix(SK_ALL_STATES, out, NULL)
					  : diag_dump(family, proto, SK_ALL_STATES, out, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Every socket of the families and protocols the rows involve, in any
 * state, sorted by cookie. */
static int dump_after(const struct plan *p, struct sock_list *out)
{
	static const uint8_t fam[] = { AF_INET, AF_INET6 }, proto[] = { IPPROTO_TCP, IPPROTO_UDP };
	int ru = dump_in_namespaces(p, AF_UNIX, 0, out);
	if (ru < 0)
		return ru;
	for (size_t f = 0; f < ARRAY_SIZE(fam); f++)
		for (size_t k = 0; k < ARRAY_SIZE(proto); k++) {
			int r = dump_in_namespaces(p, fam[f], proto[k], out);
			if (r < 0)
				return r;
		}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cookie_cmp);
	return 0;
}

/* How many of the socket's owners still hold it after this run. */
static unsigned holders_left(const struct plan *p, size_t sock)
{
	unsigned n = 0;
	for (size_t i = 0; i < p->owners.n; i++) {
		const struct owner *ow = &p->owners.v[i];
		if (ow->sock == sock && procfd_fd_is("/proc", ow->pid, ow->fd, p->socks.v[sock].inode))
			n++;
	}
	return n;
}

/* --destroy: the socket must be gone from the kernel's tables (a bound UDP
 * socket stays, disconnected); the owners keep their fds, and we say so. */
static void verify_destroy_row(const struct plan *p, struct row *rw, const struct sock *now, bool have_after)
{
	const struct sock *before = &p->socks.v[rw->sock];
	const struct owner *ow = rw->owner >= 0 ? &p->owners.v[rw->owner] : NULL;
	char sockpart[96], fdpart[128] = "";

	if (!have_after)
		snprintf(sockpart, sizeof(sockpart), "socket state unknown (dump failed)");
	else if (!now)
		snprintf(sockpart, sizeof(sockpart), "socket gone");
	else if (before->proto == IPPROTO_UDP && now->dport == 0)
		snprintf(sockpart, sizeof(sockpart), "socket disconnected, still bound (%s)", sock_state_name(now));
	else {
		snprintf(sockpart, sizeof(sockpart), "socket still %s", sock_state_name(now));
		rw->result = RES_FAILED;
		rw->reason = "the kernel reported the socket destroyed, but it is still there";
	}
	if (ow && procfd_fd_is("/proc", ow->pid, ow->fd, before->inode))
		snprintf(fdpart, sizeof(fdpart), "; fd %d stays open in pid %d: the process keeps its fd (an fd leak "
						 "stays a leak)", ow->fd, (int)ow->pid);
	else if (ow)
		snprintf(fdpart, sizeof(fdpart), "; fd %d is no longer open in pid %d", ow->fd, (int)ow->pid);
	/* The parts are short and bounded; a cut message still says what matters. */
	textf(rw->verify, sizeof(rw->verify), "%s%s", sockpart, fdpart);
}

static const struct sock *find_after(const struct sock_list *after, bool have_after, uint64_t cookie)
{
	if (!have_after || !after->n)
		return NULL;
	struct sock key = { .cookie = cookie };
	return bsearch(&key, after->v, after->n, sizeof(*after->v), cookie_cmp);
}

void verify_rows(struct plan *p, const struct options *o)
{
	struct sock_list after = { 0 };
	bool have_after = dump_after(p, &after) == 0;

	for (size_t i = 0; i < p->n; i++) {
		struct row *rw = &p->rows[i];
		if (o->method == METHOD_DESTROY && rw->result == RES_DONE) {
			verify_destroy_row(p, rw, find_after(&after, have_after, p->socks.v[rw->sock].cookie),
					   have_after);
			continue;
		}
		if (rw->result != RES_DONE || rw->owner < 0)
			continue;
		const struct owner *ow = &p->owners.v[rw->owner];
		const struct sock *before = &p->socks.v[rw->sock];
		char fdpart[48] = "", sockpart[128] = "?";

		const struct method_info *m = method_info(o->method);
		if (m->frees_socket) {
			if (procfd_fd_is("/proc", ow->pid, ow->fd, before->inode)) {
				rw->result = RES_FAILED;
				rw->reason = "the fd still holds the socket after close";
				snprintf(fdpart, sizeof(fdpart), "fd still holds the socket; ");
			} else if (m->placeholder)
				snprintf(fdpart, sizeof(fdpart), "fd %d kept by a placeholder; ", ow->fd);
			else
				snprintf(fdpart, sizeof(fdpart), "fd freed; ");
		}
		const struct sock *now = NULL;
		if (have_after && after.n) {
			struct sock key = { .cookie = before->cookie };
			now = bsearch(&key, after.v, after.n, sizeof(*after.v), cookie_cmp);
		}
		if (!have_after)
			snprintf(sockpart, sizeof(sockpart), "socket state unknown (dump failed)");
		else if (!m->frees_socket)
			/* the fds stay; a fully closed TCP socket leaves the
			 * kernel's tables, so it is not in the dump any more */
			snprintf(sockpart, sizeof(sockpart), "state %s -> %s%s%s; the fd stays for the application",
				 sock_state_name(before), now ? sock_state_name(now) : "CLOSE",
				 now && now->shutdown & 1 ? ", rd shut" : "", now && now->shutdown & 2 ? ", wr shut" : "");
		else if (!now)
			snprintf(sockpart, sizeof(sockpart), "socket gone");
		else {
			unsigned left = holders_left(p, rw->sock);
			if (left)
				snprintf(sockpart, sizeof(sockpart), "socket alive (%s), still held by %u other fd%s",
					 sock_state_name(now), left, left == 1 ? "" : "s");
			else if (ow->io_uring && now->state != SK_FIN_WAIT1 && now->state != SK_LAST_ACK &&
				 now->state != SK_FIN_WAIT2 && now->state != SK_CLOSING && now->state != SK_TIME_WAIT)
				snprintf(sockpart, sizeof(sockpart), "socket still open (%s): the process's io_uring "
					 "holds it", sock_state_name(now));
			else
				snprintf(sockpart, sizeof(sockpart), "socket closing (%s)", sock_state_name(now));
		}
		snprintf(rw->verify, sizeof(rw->verify), "%s%s", fdpart, sockpart);
	}
	sock_list_free(&after);
}
