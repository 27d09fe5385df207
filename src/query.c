#include "query.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

/* Split a comma list; call fn on each element. An empty element (",," or a
 * trailing comma) or an empty list is malformed. */
static int for_each_item(const char *arg, int (*fn)(const char *item, void *ctx), void *ctx)
{
	if (!arg || !*arg)
		return -EINVAL;
	size_t len = strlen(arg);
	if (arg[0] == ',' || arg[len - 1] == ',' || strstr(arg, ",,"))
		return -EINVAL;
	_cleanup_free_ char *buf = strdup(arg);
	if (!buf)
		return -ENOMEM;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int r = fn(tok, ctx);
		if (r < 0)
			return r;
	}
	return 0;
}

static int port_item(const char *item, void *ctx)
{
	struct port_list *l = ctx;
	char buf[32];
	uint64_t lo, hi;

	if (strlen(item) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, item);
	char *dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	int r = parse_u64(buf, 65535, &lo);
	if (r < 0)
		return r;
	hi = lo;
	if (dash) {
		r = parse_u64(dash + 1, 65535, &hi);
		if (r < 0)
			return r;
		if (hi < lo)
			return -EDOM; /* reversed range */
	}
	struct port_range *n = reallocarray(l->r, l->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->r = n;
	l->r[l->n++] = (struct port_range){ (uint16_t)lo, (uint16_t)hi };
	return 0;
}

int port_list_parse(struct port_list *l, const char *arg)
{
	return for_each_item(arg, port_item, l);
}

bool port_list_match(const struct port_list *l, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (port >= l->r[i].lo && port <= l->r[i].hi)
			return true;
	return false;
}

int cidr_parse(const char *arg, struct cidr *ret)
{
	char buf[INET6_ADDRSTRLEN + 8];
	struct cidr c = { 0 };
	uint64_t plen;

	if (!arg || !*arg || strlen(arg) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, arg);
	char *slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	/* Accept "[::1]" as well as "::1". */
	char *a = buf;
	size_t alen = strlen(a);
	if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
		a[alen - 1] = '\0';
		a++;
	}
	if (inet_pton(AF_INET, a, c.addr) == 1)
		c.family = AF_INET;
	else if (inet_pton(AF_INET6, a, c.addr) == 1)
		c.family = AF_INET6;
	else
		return -EINVAL;
	unsigned maxlen = c.family == AF_INET ? 32 : 128;
	plen = maxlen;
	if (slash) {
		int r = parse_u64(slash + 1, maxlen, &plen);
		if (r < 0)
			return r;
	}
	c.plen = (uint8_t)plen;
	*ret = c;
	return 0;
}

static int cidr_item(const char *item, void *ctx)
{
	struct cidr_list *l = ctx;
	struct cidr c;
	int r = cidr_parse(item, &c);
	if (r < 0)
		return r;
	struct cidr *n = reallocarray(l->c, l->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->c = n;
	l->c[l->n++] = c;
	return 0;
}

int cidr_list_parse(struct cidr_list *l, const char *arg)
{
	return for_each_item(arg, cidr_item, l);
}

/* An IPv4 address seen through an AF_INET6 socket (::ffff:a.b.c.d) matches a
 * v4 CIDR: that is how dual-stack servers hold v4 clients. */
bool cidr_match(const struct cidr *c, uint8_t family, const uint8_t *addr)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (c->family == AF_INET && family == AF_INET6 && !memcmp(addr, v4mapped, 12)) {
		addr += 12;
		family = AF_INET;
	}
	if (c->family != family)
		return false;
	unsigned full = c->plen / 8, rest = c->plen % 8;
	if (memcmp(c->addr, addr, full))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));
		if ((c->addr[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}

static bool cidr_list_match(const struct cidr_list *l, uint8_t family, const uint8_t *addr)
{
	for (size_t i = 0; i < l->n; i++)
		if (cidr_match(&l->c[i], family, addr))
			return true;
	return false;
}

struct u64_ctx { struct u64_list *l; uint64_t min, max; };

static int u64_item(const char *item, void *ctx)
{
	struct u64_ctx *c = ctx;
	uint64_t v;
	int r = parse_u64(item, c->max, &v);
	if (r < 0)
		return r;
	if (v < c->min)
		return -ERANGE;
	uint64_t *n = reallocarray(c->l->v, c->l->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	c->l->v = n;
	c->l->v[c->l->n++] = v;
	return 0;
}

int u64_list_parse(struct u64_list *l, const char *arg, uint64_t min, uint64_t max)
{
	struct u64_ctx c = { l, min, max };
	return for_each_item(arg, u64_item, &c);
}

bool u64_list_has(const struct u64_list *l, uint64_t v)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return true;
	return false;
}

int str_list_add(struct str_list *l, const char *arg)
{
	if (!arg || !*arg)
		return -EINVAL;
	char **n = reallocarray(l->s, l->n + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->s = n;
	if (!(l->s[l->n] = strdup(arg)))
		return -ENOMEM;
	l->n++;
	return 0;
}

bool str_list_has(const struct str_list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->s[i], s))
			return true;
	return false;
}

static int state_item(const char *item, void *ctx)
{
	uint32_t m = sock_state_parse(item);
	if (!m)
		return -EINVAL;
	*(uint32_t *)ctx |= m;
	return 0;
}

int state_list_parse(uint32_t *mask, const char *arg)
{
	return for_each_item(arg, state_item, mask);
}

uint32_t query_states(const struct query *q)
{
	return q->states ? q->states : SK_ALL_STATES;
}

bool query_wants(const struct query *q, uint8_t family, uint8_t proto)
{
	/* Unix sockets only when asked for (-x, --path): a plain
	 * "--state estab" must not reach into every desktop bus and
	 * journal connection. -4 and -6 choose among IP sockets. */
	if (family == AF_UNIX)
		return q->unix_socks;
	bool fam = (!q->v4 && !q->v6) || (family == AF_INET ? q->v4 : q->v6);
	bool pro = (!q->tcp && !q->udp && !q->unix_socks) || (proto == IPPROTO_TCP ? q->tcp : q->udp);
	return fam && pro;
}

bool query_match_path(const struct query *q, const struct sock *s)
{
	char name[SOCK_ADDR_MAX];

	if (s->family != AF_UNIX)
		return false;
	for (int local = 1; local >= 0; local--) {
		if (!(local ? s->path_len : s->peer_path_len))
			continue;
		sock_addr_format(s, local, name, sizeof(name));
		for (size_t i = 0; i < q->path.n; i++)
			/* FNM_NOESCAPE: a backslash is literal, as in the \xHH
			 * escapes of the names we show */
			if (fnmatch(q->path.s[i], name, FNM_NOESCAPE) == 0)
				return true;
	}
	return false;
}

/* --idle: no data sent, none received, and no ACK received for that long
 * (an ACK counts: a peer that still answers keepalives is not dead).
 * Only TCP connections have tcp_info; a listener is never idle. */
static bool idle_match(const struct query *q, const struct sock *s)
{
	return s->family != AF_UNIX && s->proto == IPPROTO_TCP && s->has_tcpi && s->state != SK_LISTEN &&
	       sock_idle_ms(s) >= q->idle_ms;
}

bool query_match_sock(const struct query *q, const struct sock *s)
{
	if (!query_wants(q, s->family, s->proto))
		return false;
	if (s->state >= SK_STATE_MAX || !(query_states(q) & (1u << s->state)))
		return false;
	if (s->family == AF_UNIX && (q->port.n || q->sport.n || q->dport.n || q->src.n || q->dst.n))
		return false; /* no ports, no addresses */
	if (q->path.n && !query_match_path(q, s))
		return false;
	if (q->has_idle && !idle_match(q, s))
		return false;
	if (q->port.n && !port_list_match(&q->port, s->sport) && !port_list_match(&q->port, s->dport))
		return false;
	if (q->sport.n && !port_list_match(&q->sport, s->sport))
		return false;
	if (q->dport.n && !port_list_match(&q->dport, s->dport))
		return false;
	if (q->src.n && !cidr_list_match(&q->src, s->family, s->src))
		return false;
	if (q->dst.n && !cidr_list_match(&q->dst, s->family, s->dst))
		return false;
	if (q->uid.n && !u64_list_has(&q->uid, s->uid))
		return false;
	if (q->inode.n && !u64_list_has(&q->inode, s->inode))
		return false;
	return true;
}

bool query_has_owner_filter(const struct query *q)
{
	return q->pid.n || q->comm.n || q->container.n || q->pod.n;
}

static bool container_list_match(const struct str_list *l, const struct owner *o, bool pod)
{
	const struct container *c = o->proc ? &o->proc->ctr : NULL;
	for (size_t i = 0; i < l->n; i++)
		if (pod ? container_match_pod(c, l->s[i]) : container_match(c, l->s[i]))
			return true;
	return false;
}

bool query_match_owner(const struct query *q, const struct owner *o)
{
	if (q->pid.n && !u64_list_has(&q->pid, (uint64_t)o->pid))
		return false;
	if (q->comm.n && !str_list_has(&q->comm, o->comm))
		return false;
	if (q->container.n && !container_list_match(&q->container, o, false))
		return false;
	if (q->pod.n && !container_list_match(&q->pod, o, true))
		return false;
	return true;
}

static void str_list_free(struct str_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
}

void query_free(struct query *q)
{
	free(q->port.r);
	free(q->sport.r);
	free(q->dport.r);
	free(q->src.c);
	free(q->dst.c);
	free(q->pid.v);
	free(q->uid.v);
	free(q->inode.v);
	str_list_free(&q->comm);
	str_list_free(&q->container);
	str_list_free(&q->pod);
	str_list_free(&q->path);
	*q = (struct query){ 0 };
}
