/* sock_diag reply parsing, from dumps recorded from a real kernel
 * (tests/fixtures) and from malformed variants of them. */
#include "unit.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/unix_diag.h>

#include "diag.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

struct chunks { size_t n; uint8_t *buf[64]; uint32_t len[64]; };

static void load(const char *name, struct chunks *c)
{
	char path[256];
	snprintf(path, sizeof(path), FIXTURES "/%s", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run the unit tests from the repository root)", path);
	*c = (struct chunks){ 0 };
	uint32_t len;
	while (fread(&len, sizeof(len), 1, f) == 1) {
		assert_true(c->n < 64);
		c->buf[c->n] = malloc(len);
		assert_int_equal(fread(c->buf[c->n], 1, len, f), len);
		c->len[c->n++] = len;
	}
	fclose(f);
	assert_true(c->n > 0);
}

static void unload(struct chunks *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->buf[i]);
}

/* Parse every chunk as the dump loop does: all but the last say "more". */
static void parse_all(struct chunks *c, uint8_t proto, struct sock_list *out)
{
	for (size_t i = 0; i < c->n; i++) {
		int r = diag_parse_buf(c->buf[i], c->len[i], 0, 0, proto, out);
		assert_int_equal(r, i + 1 == c->n ? 1 : 0);
	}
}

/* Every socket farm.txt lists for proto/family is in the dump, with an
 * inode (an owner) and the right state and ports. */
static void check_farm(const char *bin, const char *proto, const char *family, uint8_t ipproto)
{
	struct chunks c;
	struct sock_list l = { 0 };
	load(bin, &c);
	parse_all(&c, ipproto, &l);

	FILE *f = fopen(FIXTURES "/farm.txt", "r");
	assert_non_null(f);
	char p[8], fam[8], state[16];
	unsigned lport, rport, found = 0, expected = 0;
	while (fscanf(f, "%7s %7s %15s %u %u", p, fam, state, &lport, &rport) == 5) {
		if (strcmp(p, proto) || strcmp(fam, family))
			continue;
		expected++;
		for (size_t i = 0; i < l.n; i++) {
			const struct sock *s = &l.v[i];
			if (s->sport == lport && s->dport == rport && !strcmp(sock_state_name(s), state)) {
				assert_int_equal(s->family, !strcmp(family, "ipv6") ? AF_INET6 : AF_INET);
				assert_int_equal(s->proto, ipproto);
				assert_true(s->inode != 0);
				assert_true(s->cookie != 0);
				found++;
				break;
			}
		}
	}
	fclose(f);
	assert_true(expected > 0);
	assert_int_equal(found, expected);
	sock_list_free(&l);
	unload(&c);
}

static void test_farm_tcp4(void **state) { check_farm("farm-tcp4.bin", "tcp", "ipv4", IPPROTO_TCP); }
static void test_farm_tcp6(void **state) { check_farm("farm-tcp6.bin", "tcp", "ipv6", IPPROTO_TCP); }
static void test_farm_udp4(void **state) { check_farm("farm-udp4.bin", "udp", "ipv4", IPPROTO_UDP); }
static void test_farm_udp6(void **state) { check_farm("farm-udp6.bin", "udp", "ipv6", IPPROTO_UDP); }

/* The TCP v4 dump spans several buffers; the blocker's leaked sockets are
 * all there in CLOSE-WAIT, and the hung-up client ends, closed, are
 * orphans: FIN-WAIT-2 with no inode. tcp_info is kept. */
static void test_multipart_and_orphans(void **state)
{
	struct chunks c;
	struct sock_list l = { 0 };
	unsigned port, leak, cw = 0, orphans = 0, tcpi = 0, full = 0;
	FILE *f = fopen(FIXTURES "/blocker.txt", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%u %u", &port, &leak), 2);
	fclose(f);

	load("farm-tcp4.bin", &c);
	assert_true(c.n >= 2);
	parse_all(&c, IPPROTO_TCP, &l);
	for (size_t i = 0; i < l.n; i++) {
		const struct sock *s = &l.v[i];
		cw += s->sport == port && s->state == SK_CLOSE_WAIT && s->inode != 0;
		orphans += s->dport == port && s->state == SK_FIN_WAIT2 && s->inode == 0;
		tcpi += s->inode != 0 && s->has_tcpi; /* orphans carry no tcp_info */
		full += s->inode != 0;
	}
	assert_int_equal(cw, leak);
	assert_int_equal(orphans, leak);
	assert_int_equal(tcpi, full);
	sock_list_free(&l);
	unload(&c);
}

/* ---- malformed input: always an error, never a crash ---- */

static uint8_t *first_msg(struct chunks *c, size_t *len)
{
	load("farm-tcp6.bin", c);
	*len = c->len[0];
	return c->buf[0];
}

static int parse(const void *buf, size_t len)
{
	struct sock_list l = { 0 };
	int r = diag_parse_buf(buf, len, 0, 0, IPPROTO_TCP, &l);
	sock_list_free(&l);
	return r;
}

static void test_truncated(void **state)
{
	struct chunks c;
	size_t len;
	uint8_t *b = first_msg(&c, &len);
	struct nlmsghdr *h = (struct nlmsghdr *)b;
	assert_true(h->nlmsg_len < len);
	/* cut inside the first message, and inside its header */
	assert_int_equal(parse(b, h->nlmsg_len - 7), -EBADMSG);
	assert_int_equal(parse(b, 10), -EBADMSG);
	/* cut after a complete message but before NLMSG_DONE: more to come */
	assert_int_equal(parse(b, NLMSG_ALIGN(h->nlmsg_len)), 0);
	unload(&c);
}

static void test_bad_lengths(void **state)
{
	struct chunks c;
	size_t len;
	uint8_t *b = first_msg(&c, &len);
	struct nlmsghdr *h = (struct nlmsghdr *)b;
	uint32_t saved = h->nlmsg_len;

	h->nlmsg_len = (uint32_t)len + 64; /* beyond the buffer */
	assert_int_equal(parse(b, len), -EBADMSG);
	h->nlmsg_len = NLMSG_HDRLEN + 10; /* payload shorter than inet_diag_msg */
	assert_true(parse(b, len) < 0);
	/* cut inside the last attribute by less than the alignment: the
	 * attribute would be read past nlmsg_len */
	h->nlmsg_len = saved - 2;
	assert_int_equal(parse(b, len), -EBADMSG);
	h->nlmsg_len = saved;

	/* first attribute claims more than the message holds */
	struct nlattr *a = (struct nlattr *)(b + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct inet_diag_msg)));
	assert_true((uint8_t *)a < b + saved);
	a->nla_len = 0xfff0;
	assert_int_equal(parse(b, len), -EBADMSG);
	unload(&c);
}

/* Crafted fixtures (tests/fixtures/README) for two holes libmnl leaves:
 * an nlmsg_len >= 2^31 passes its signed length check, and the walk then
 * jumps (or the attribute parser reads) outside the buffer; a final
 * message whose length is not aligned makes the attribute parser take
 * the padding after it, 3 bytes past the buffer, as attribute data. Both
 * must be refused before libmnl sees them. */
static void test_huge_nlmsg_len(void **state)
{
	struct chunks c;
	load("nl-huge-len.bin", &c);
	assert_int_equal(c.n, 1);
	const struct nlmsghdr *h = (const struct nlmsghdr *)c.buf[0];
	const struct nlmsghdr *h2 = (const struct nlmsghdr *)(c.buf[0] + NLMSG_ALIGN(h->nlmsg_len));
	assert_true(h2->nlmsg_len >= 0x80000000u); /* the fixture is what it says */
	assert_int_equal(parse(c.buf[0], c.len[0]), -EBADMSG);
	unload(&c);
}

static void test_unaligned_final_message(void **state)
{
	struct chunks c;
	load("nl-unaligned-tail.bin", &c);
	const struct nlmsghdr *h = (const struct nlmsghdr *)c.buf[0];
	assert_int_equal(h->nlmsg_len, c.len[0]);
	assert_true(h->nlmsg_len % 4 != 0);
	assert_int_equal(parse(c.buf[0], c.len[0]), -EBADMSG);
	unload(&c);
}

static void test_bad_fields(void **state)
{
	struct chunks c;
	size_t len;
	uint8_t *b = first_msg(&c, &len);
	struct nlmsghdr *h = (struct nlmsghdr *)b;
	struct inet_diag_msg *m = NLMSG_DATA(h);

	m->idiag_family = AF_UNIX;
	assert_int_equal(parse(b, len), -EBADMSG);
	m->idiag_family = AF_INET6;
	h->nlmsg_type = 0x33; /* not SOCK_DIAG_BY_FAMILY */
	assert_int_equal(parse(b, len), -EBADMSG);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	/* a sequence number that is not ours */
	struct sock_list l = { 0 };
	assert_true(diag_parse_buf(b, len, h->nlmsg_seq + 1, 0, IPPROTO_TCP, &l) < 0);
	sock_list_free(&l);
	/* the intact buffer parses (the DONE may come in a later read) */
	assert_int_equal(parse(b, len), c.n == 1 ? 1 : 0);
	unload(&c);
}

static void test_dump_interrupted(void **state)
{
	struct chunks c;
	size_t len;
	uint8_t *b = first_msg(&c, &len);
	((struct nlmsghdr *)b)->nlmsg_flags |= NLM_F_DUMP_INTR;
	assert_int_equal(parse(b, len), -EINTR);
	unload(&c);
}

/* A hand-made control message: header + payload. */
static size_t ctl(uint8_t *buf, uint16_t type, const void *payload, size_t plen)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	*h = (struct nlmsghdr){ .nlmsg_len = (uint32_t)(NLMSG_HDRLEN + plen), .nlmsg_type = type,
				.nlmsg_flags = NLM_F_MULTI };
	memcpy(buf + NLMSG_HDRLEN, payload, plen);
	return NLMSG_ALIGN(h->nlmsg_len);
}

static void test_errors(void **state)
{
	uint8_t buf[256] __attribute__((aligned(8)));
	struct nlmsgerr e = { .error = -EPERM };
	assert_int_equal(parse(buf, ctl(buf, NLMSG_ERROR, &e, sizeof(e))), -EPERM);
	assert_int_equal(parse(buf, ctl(buf, NLMSG_ERROR, &e, 4)), -EBADMSG); /* short */
	int done_err = -ENOBUFS;
	assert_int_equal(parse(buf, ctl(buf, NLMSG_DONE, &done_err, sizeof(done_err))), -ENOBUFS);
	int done_ok = 0;
	assert_int_equal(parse(buf, ctl(buf, NLMSG_DONE, &done_ok, sizeof(done_ok))), 1);
	assert_int_equal(parse(buf, 0), 0);
}


/* ---- unix sockets (unix_diag) ---- */

static const struct sock *by_inode(const struct sock_list *l, uint64_t ino)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family == AF_UNIX && l->v[i].inode == ino)
			return &l->v[i];
	return NULL;
}

/* Every socket unixfarm opened (unixfarm.txt) is in the recorded dump with
 * its type, state, name as sockreap shows it, peer, and the peer's name;
 * path sockets carry their file (vfs), the listener its pending client. */
static void test_farm_unix(void **state)
{
	struct chunks c;
	struct sock_list l = { 0 };
	char dir[256], line[512], name[16], type[16], st[16], peer[24], path[300];
	unsigned long long ino;
	unsigned n = 0;

	load("farm-unix.bin", &c);
	parse_all(&c, 0, &l);
	assert_int_equal(diag_unix_link_peers(&l, 0), 0);
	FILE *f = fopen(FIXTURES "/unixfarm.dir", "r");
	assert_non_null(f);
	assert_non_null(fgets(dir, sizeof(dir), f));
	dir[strcspn(dir, "\n")] = '\0';
	fclose(f);

	f = fopen(FIXTURES "/unixfarm.txt", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char want[600], shown[SOCK_ADDR_MAX], want_type[16];
		assert_int_equal(sscanf(line, "%15s %15s %15s %llu %23s %299s", name, type, st, &ino, peer, path), 6);
		const struct sock *s = by_inode(&l, ino);
		if (!s)
			fail_msg("socket %s (inode %llu) not in the dump", name, ino);
		n++;
		assert_int_equal(s->family, AF_UNIX);
		assert_int_equal(s->proto, 0);
		snprintf(want_type, sizeof(want_type), "%s", sock_type_name(s));
		assert_string_equal(want_type, type);
		if (strcmp(st, "-"))
			assert_string_equal(sock_state_name(s), st);
		if (strcmp(peer, "-"))
			assert_int_equal(s->peer_inode, strtoull(peer, NULL, 10));
		if (!strncmp(path, "DIR/", 4))
			snprintf(want, sizeof(want), "%s/%s", dir, path + 4);
		else
			snprintf(want, sizeof(want), "%s", path);
		sock_addr_format(s, true, shown, sizeof(shown));
		assert_string_equal(shown, want);
		assert_true(s->cookie != 0);
		assert_int_equal(s->uid, 0); /* recorded as root */
		/* a path name is a file (accepted sockets share their
		 * listener's); abstract and unnamed ones are not */
		assert_int_equal(s->has_vfs, !strncmp(path, "DIR/", 4));
		if (s->peer_inode) {
			const struct sock *p = by_inode(&l, s->peer_inode);
			assert_non_null(p);
			assert_int_equal(p->peer_inode == s->inode || p->type == SOCK_DGRAM, true);
			char a[SOCK_ADDR_MAX], b[SOCK_ADDR_MAX];
			sock_addr_format(s, false, a, sizeof(a));
			sock_addr_format(p, true, b, sizeof(b));
			assert_string_equal(a, b); /* the peer's name, linked from the dump */
		}
		if (!strcmp(name, "lst")) {
			assert_int_equal(s->nicons, 1); /* pend waits in its queue */
			assert_int_equal(s->rqueue, 1);
			assert_int_equal(s->wqueue, 8); /* the backlog */
		}
	}
	fclose(f);
	assert_int_equal(n, 19);
	sock_list_free(&l);
	unload(&c);
}

/* A unix_diag reply built by hand: header, then attributes. */
struct umsg { uint8_t buf[1024] __attribute__((aligned(8))); struct nlmsghdr *h; };

static void umsg_start(struct umsg *m)
{
	memset(m->buf, 0, sizeof(m->buf));
	m->h = mnl_nlmsg_put_header(m->buf);
	m->h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	m->h->nlmsg_flags = NLM_F_MULTI;
	struct unix_diag_msg *d = mnl_nlmsg_put_extra_header(m->h, sizeof(*d));
	*d = (struct unix_diag_msg){ .udiag_family = AF_UNIX, .udiag_type = SOCK_STREAM,
				     .udiag_state = SK_ESTABLISHED, .udiag_ino = 4242,
				     .udiag_cookie = { 7, 1 } };
}

static int uparse(struct umsg *m, struct sock *s)
{
	return diag_unix_parse_msg(m->h, s);
}

static void umsg_valid(struct umsg *m)
{
	static const char name[] = "\0ab\0c";
	struct unix_diag_vfs vfs = { .udiag_vfs_ino = 99, .udiag_vfs_dev = 3 };
	struct unix_diag_rqlen q = { 5, 6 };
	uint32_t icons[2] = { 11, 12 };
	umsg_start(m);
	mnl_attr_put(m->h, UNIX_DIAG_NAME, sizeof(name) - 1, name);
	mnl_attr_put(m->h, UNIX_DIAG_VFS, sizeof(vfs), &vfs);
	mnl_attr_put_u32(m->h, UNIX_DIAG_PEER, 4343);
	mnl_attr_put(m->h, UNIX_DIAG_ICONS, sizeof(icons), icons);
	mnl_attr_put(m->h, UNIX_DIAG_RQLEN, sizeof(q), &q);
	mnl_attr_put_u8(m->h, UNIX_DIAG_SHUTDOWN, 2);
	mnl_attr_put_u32(m->h, UNIX_DIAG_UID, 1000);
	mnl_attr_put_u32(m->h, 30, 1); /* a newer kernel's attribute: ignored */
}

static void test_unix_parse_fields(void **state)
{
	struct umsg m;
	struct sock s;
	char shown[SOCK_ADDR_MAX];

	umsg_valid(&m);
	assert_int_equal(uparse(&m, &s), 0);
	assert_int_equal(s.family, AF_UNIX);
	assert_int_equal(s.type, SOCK_STREAM);
	assert_int_equal(s.inode, 4242);
	assert_int_equal(s.cookie, 7 | 1ull << 32);
	assert_int_equal(s.path_len, 5);
	sock_addr_format(&s, true, shown, sizeof(shown));
	assert_string_equal(shown, "@ab\\x00c");
	assert_true(s.has_vfs);
	assert_int_equal(s.vfs_ino, 99);
	assert_int_equal(s.vfs_dev, 3);
	assert_int_equal(s.peer_inode, 4343);
	assert_int_equal(s.nicons, 2);
	assert_int_equal(s.rqueue, 5);
	assert_int_equal(s.wqueue, 6);
	assert_int_equal(s.shutdown, 2);
	assert_int_equal(s.uid, 1000);

	/* the same through the buffer parser, as a dump delivers it */
	struct sock_list l = { 0 };
	assert_int_equal(diag_parse_buf(m.buf, m.h->nlmsg_len, 0, 0, 0, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].peer_inode, 4343);
	sock_list_free(&l);

	/* no attributes at all: an unnamed socket without peer; no uid is not uid 0 */
	umsg_start(&m);
	assert_int_equal(uparse(&m, &s), 0);
	assert_int_equal(s.path_len, 0);
	assert_int_equal(s.peer_inode, 0);
	assert_int_equal(s.uid, UINT32_MAX);
	sock_addr_format(&s, true, shown, sizeof(shown));
	assert_string_equal(shown, "*");

	/* a path name arrives with its NUL; a full 108-byte name has none */
	char full[SOCK_UNIX_PATH_MAX];
	memset(full, 'a', sizeof(full));
	full[0] = '/';
	umsg_start(&m);
	mnl_attr_put(m.h, UNIX_DIAG_NAME, 7, "/run/x\0");
	assert_int_equal(uparse(&m, &s), 0);
	assert_int_equal(s.path_len, 6);
	umsg_start(&m);
	mnl_attr_put(m.h, UNIX_DIAG_NAME, sizeof(full), full);
	assert_int_equal(uparse(&m, &s), 0);
	assert_int_equal(s.path_len, sizeof(full));
}

/* put ATTR with a payload of len bytes: the parse must fail */
static void expect_bad_attr(uint16_t type, size_t len)
{
	struct umsg m;
	struct sock s;
	uint8_t junk[200] = { '/' };
	umsg_start(&m);
	mnl_attr_put(m.h, type, len, junk);
	if (uparse(&m, &s) != -EBADMSG)
		fail_msg("attribute %u of %zu bytes was accepted", type, len);
}

static void test_unix_malformed(void **state)
{
	struct umsg m;
	struct sock s;

	expect_bad_attr(UNIX_DIAG_NAME, SOCK_UNIX_PATH_MAX + 1); /* longer than sun_path */
	expect_bad_attr(UNIX_DIAG_PEER, 3);
	expect_bad_attr(UNIX_DIAG_PEER, 8);
	expect_bad_attr(UNIX_DIAG_ICONS, 6);
	expect_bad_attr(UNIX_DIAG_RQLEN, 4);
	expect_bad_attr(UNIX_DIAG_VFS, 4);
	expect_bad_attr(UNIX_DIAG_SHUTDOWN, 2);
	expect_bad_attr(UNIX_DIAG_UID, 2);

	/* header shorter than unix_diag_msg */
	umsg_valid(&m);
	uint32_t len = m.h->nlmsg_len;
	m.h->nlmsg_len = NLMSG_HDRLEN + sizeof(struct unix_diag_msg) - 1;
	assert_int_equal(uparse(&m, &s), -EBADMSG);
	/* an attribute overrunning the message */
	m.h->nlmsg_len = len;
	struct nlattr *a = (struct nlattr *)(m.buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct unix_diag_msg)));
	a->nla_len = 0x300;
	assert_int_equal(uparse(&m, &s), -EBADMSG);
	/* the message cut inside its last attribute */
	umsg_valid(&m);
	m.h->nlmsg_len -= 2;
	assert_int_equal(uparse(&m, &s), -EBADMSG);
	/* not AF_UNIX */
	umsg_valid(&m);
	((struct unix_diag_msg *)mnl_nlmsg_get_payload(m.h))->udiag_family = AF_INET;
	assert_int_equal(uparse(&m, &s), -EBADMSG);
	/* a reply without even the family byte */
	umsg_start(&m);
	m.h->nlmsg_len = NLMSG_HDRLEN;
	struct sock_list l = { 0 };
	assert_int_equal(diag_parse_buf(m.buf, NLMSG_HDRLEN, 0, 0, 0, &l), -EBADMSG);
	assert_int_equal(l.n, 0);
	sock_list_free(&l);
}

static void test_unix_names(void **state)
{
	char buf[SOCK_ADDR_MAX], tiny[6];
	sock_unix_name_format("/tmp/a b\\\n\xff", 11, buf, sizeof(buf));
	assert_string_equal(buf, "/tmp/a b\\x5c\\x0a\\xff");
	sock_unix_name_format("\0\0", 2, buf, sizeof(buf));
	assert_string_equal(buf, "@\\x00");
	sock_unix_name_format("", 0, buf, sizeof(buf));
	assert_string_equal(buf, "*");
	/* never past the buffer, never half an escape */
	sock_unix_name_format("/ab\n", 4, tiny, sizeof(tiny));
	assert_string_equal(tiny, "/ab");
	sock_unix_name_format("/abcdefgh", 9, tiny, sizeof(tiny));
	assert_string_equal(tiny, "/abcd");

	struct sock s = { .family = AF_UNIX, .type = SOCK_DGRAM, .state = SK_CLOSE };
	assert_string_equal(sock_state_name(&s), "UNCONN");
	assert_string_equal(sock_netid(&s), "u_dgr");
	assert_string_equal(sock_proto_name(&s), "unix");
	s.type = SOCK_SEQPACKET;
	assert_string_equal(sock_netid(&s), "u_seq");
	s.state = SK_LISTEN;
	assert_string_equal(sock_state_name(&s), "LISTEN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_farm_tcp4),  cmocka_unit_test(test_farm_tcp6),
		cmocka_unit_test(test_farm_udp4),  cmocka_unit_test(test_farm_udp6),
		cmocka_unit_test(test_multipart_and_orphans), cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths), cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_huge_nlmsg_len), cmocka_unit_test(test_unaligned_final_message),
		cmocka_unit_test(test_dump_interrupted), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_farm_unix), cmocka_unit_test(test_unix_parse_fields),
		cmocka_unit_test(test_unix_malformed), cmocka_unit_test(test_unix_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
