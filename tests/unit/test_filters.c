/* Socket model and filter language: state names, port lists and ranges,
 * CIDRs (v4, v6, v4-mapped), and matching a socket against a query. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "query.h"
#include "sock.h"

static void test_state_names(void **state)
{
	struct sock s = { .proto = IPPROTO_TCP, .state = SK_CLOSE_WAIT };
	assert_string_equal(sock_state_name(&s), "CLOSE-WAIT");
	s.state = SK_ESTABLISHED;
	assert_string_equal(sock_state_name(&s), "ESTAB");
	s.proto = IPPROTO_UDP;
	s.state = SK_CLOSE;
	assert_string_equal(sock_state_name(&s), "UNCONN");
	s.proto = IPPROTO_TCP;
	assert_string_equal(sock_state_name(&s), "CLOSE");
	s.state = 99;
	assert_string_equal(sock_state_name(&s), "UNKNOWN");
}

static void test_state_parse(void **state)
{
	static const struct { const char *name; int st; } one[] = {
		{ "CLOSE_WAIT", SK_CLOSE_WAIT }, { "close-wait", SK_CLOSE_WAIT }, { "Close_Wait", SK_CLOSE_WAIT },
		{ "closewait", SK_CLOSE_WAIT }, { "established", SK_ESTABLISHED }, { "ESTAB", SK_ESTABLISHED },
		{ "syn-sent", SK_SYN_SENT }, { "SYN_RECV", SK_SYN_RECV }, { "fin-wait-1", SK_FIN_WAIT1 },
		{ "FIN_WAIT_2", SK_FIN_WAIT2 }, { "time-wait", SK_TIME_WAIT }, { "closed", SK_CLOSE },
		{ "unconn", SK_CLOSE }, { "last_ack", SK_LAST_ACK }, { "LISTEN", SK_LISTEN },
		{ "listening", SK_LISTEN }, { "closing", SK_CLOSING },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		assert_int_equal(sock_state_parse(one[i].name), 1u << one[i].st);
	assert_int_equal(sock_state_parse("all"), SK_ALL_STATES);
	uint32_t conn = sock_state_parse("connected");
	assert_false(conn & (1u << SK_LISTEN));
	assert_false(conn & (1u << SK_CLOSE));
	assert_true(conn & (1u << SK_CLOSE_WAIT));
	assert_false(sock_state_parse("synchronized") & (1u << SK_SYN_SENT));
	assert_int_equal(sock_state_parse("bucket"), 1u << SK_SYN_RECV | 1u << SK_TIME_WAIT);
	assert_int_equal(sock_state_parse("bogus"), 0);
	assert_int_equal(sock_state_parse(""), 0);
	assert_int_equal(sock_state_parse("-_-"), 0);
	assert_int_equal(sock_state_parse("close-wait-and-a-very-long-tail-beyond"), 0);
}

static void test_state_list(void **state)
{
	uint32_t m = 0;
	assert_int_equal(state_list_parse(&m, "close-wait,LISTEN"), 0);
	assert_int_equal(m, 1u << SK_CLOSE_WAIT | 1u << SK_LISTEN);
	m = 0;
	assert_int_equal(state_list_parse(&m, "close-wait,"), -EINVAL);
	assert_int_equal(state_list_parse(&m, ",listen"), -EINVAL);
	assert_int_equal(state_list_parse(&m, "listen,,estab"), -EINVAL);
	assert_int_equal(state_list_parse(&m, ""), -EINVAL);
	assert_int_equal(state_list_parse(&m, "listen,nope"), -EINVAL);
}

static void test_port_lists(void **state)
{
	struct port_list l = { 0 };
	assert_int_equal(port_list_parse(&l, "80,443,8000-8100"), 0);
	assert_int_equal(l.n, 3);
	assert_true(port_list_match(&l, 80));
	assert_true(port_list_match(&l, 443));
	assert_true(port_list_match(&l, 8000));
	assert_true(port_list_match(&l, 8050));
	assert_true(port_list_match(&l, 8100));
	assert_false(port_list_match(&l, 8101));
	assert_false(port_list_match(&l, 81));
	assert_int_equal(port_list_parse(&l, "0,65535"), 0);
	assert_true(port_list_match(&l, 65535));
	free(l.r);
	l = (struct port_list){ 0 };
	assert_int_equal(port_list_parse(&l, "65536"), -ERANGE);
	assert_int_equal(port_list_parse(&l, "99999999999999999999999"), -ERANGE);
	assert_int_equal(port_list_parse(&l, "abc"), -EINVAL);
	assert_int_equal(port_list_parse(&l, "-1"), -EINVAL);
	assert_int_equal(port_list_parse(&l, ""), -EINVAL);
	assert_int_equal(port_list_parse(&l, "80,"), -EINVAL);
	assert_int_equal(port_list_parse(&l, ",80"), -EINVAL);
	assert_int_equal(port_list_parse(&l, "80-"), -EINVAL);
	assert_int_equal(port_list_parse(&l, "90-80"), -EDOM);
	assert_int_equal(port_list_parse(&l, "1-2-3"), -EINVAL);
	assert_int_equal(l.n, 0);
	free(l.r);
}

static struct cidr cidr(const char *s)
{
	struct cidr c;
	assert_int_equal(cidr_parse(s, &c), 0);
	return c;
}

static void test_cidr_v4(void **state)
{
	uint8_t a[16] = { 0 };
	inet_pton(AF_INET, "10.1.2.3", a);
	struct cidr c = cidr("10.0.0.0/8");
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.plen, 8);
	assert_true(cidr_match(&c, AF_INET, a));
	c = cidr("10.1.2.3");
	assert_int_equal(c.plen, 32);
	assert_true(cidr_match(&c, AF_INET, a));
	c = cidr("10.1.2.4/32");
	assert_false(cidr_match(&c, AF_INET, a));
	c = cidr("10.1.2.0/31");
	assert_false(cidr_match(&c, AF_INET, a));
	c = cidr("10.1.2.2/31");
	assert_true(cidr_match(&c, AF_INET, a));
	c = cidr("0.0.0.0/0");
	assert_true(cidr_match(&c, AF_INET, a));
	/* a v4 CIDR matches v4-mapped v6 addresses, not other v6 ones */
	uint8_t m[16];
	inet_pton(AF_INET6, "::ffff:10.1.2.3", m);
	c = cidr("10.0.0.0/8");
	assert_true(cidr_match(&c, AF_INET6, m));
	inet_pton(AF_INET6, "::1", m);
	assert_false(cidr_match(&c, AF_INET6, m));

	struct cidr bad;
	assert_int_equal(cidr_parse("10.0.0.0/33", &bad), -ERANGE);
	assert_int_equal(cidr_parse("10.0.0.0/", &bad), -EINVAL);
	assert_int_equal(cidr_parse("300.0.0.1", &bad), -EINVAL);
	assert_int_equal(cidr_parse("10.0.0.0/x", &bad), -EINVAL);
	assert_int_equal(cidr_parse("", &bad), -EINVAL);
}

static void test_cidr_v6(void **state)
{
	uint8_t a[16];
	inet_pton(AF_INET6, "fe80::1:2", a);
	struct cidr c = cidr("fe80::/64");
	assert_int_equal(c.family, AF_INET6);
	assert_true(cidr_match(&c, AF_INET6, a));
	c = cidr("[fe80::1:2]");
	assert_int_equal(c.plen, 128);
	assert_true(cidr_match(&c, AF_INET6, a));
	c = cidr("[fe80::]/10");
	assert_true(cidr_match(&c, AF_INET6, a));
	c = cidr("fe80::1:3/128");
	assert_false(cidr_match(&c, AF_INET6, a));
	c = cidr("fe80::1:0/127");
	assert_false(cidr_match(&c, AF_INET6, a));
	c = cidr("fe80::1:2/127");
	assert_true(cidr_match(&c, AF_INET6, a));
	c = cidr("::/0");
	assert_true(cidr_match(&c, AF_INET6, a));
	uint8_t v4[16] = { 127, 0, 0, 1 };
	assert_false(cidr_match(&c, AF_INET, v4));

	struct cidr bad;
	assert_int_equal(cidr_parse("::1/129", &bad), -ERANGE);
	assert_int_equal(cidr_parse("[::1", &bad), -EINVAL);
	assert_int_equal(cidr_parse("fe80:::1", &bad), -EINVAL);
}

static void test_u64_lists(void **state)
{
	struct u64_list l = { 0 };
	assert_int_equal(u64_list_parse(&l, "1,2,300", 1, 1000), 0);
	assert_true(u64_list_has(&l, 300));
	assert_false(u64_list_has(&l, 3));
	assert_int_equal(u64_list_parse(&l, "0", 1, 1000), -ERANGE);
	assert_int_equal(u64_list_parse(&l, "1001", 1, 1000), -ERANGE);
	assert_int_equal(u64_list_parse(&l, "x", 1, 1000), -EINVAL);
	free(l.v);
}

static struct sock mksock(int family, int proto, int state, const char *src, int sport, const char *dst, int dport)
{
	struct sock s = { .family = (uint8_t)family, .proto = (uint8_t)proto, .state = (uint8_t)state,
			  .sport = (uint16_t)sport, .dport = (uint16_t)dport, .inode = 42, .uid = 1000 };
	inet_pton(family, src, s.src);
	inet_pton(family, dst, s.dst);
	return s;
}

static void test_query_match(void **state)
{
	struct query q = { 0 };
	struct sock s = mksock(AF_INET, IPPROTO_TCP, SK_CLOSE_WAIT, "127.0.0.1", 8080, "127.0.0.1", 5555);
	assert_true(query_match_sock(&q, &s)); /* empty query: everything */

	assert_int_equal(port_list_parse(&q.port, "5555"), 0); /* either end */
	assert_true(query_match_sock(&q, &s));
	assert_int_equal(port_list_parse(&q.sport, "5555"), 0); /* but not the local one */
	assert_false(query_match_sock(&q, &s));
	query_free(&q);

	assert_int_equal(state_list_parse(&q.states, "listen"), 0);
	assert_false(query_match_sock(&q, &s));
	assert_int_equal(state_list_parse(&q.states, "close-wait"), 0);
	assert_true(query_match_sock(&q, &s));
	q.udp = true;
	assert_false(query_match_sock(&q, &s));
	q.tcp = true;
	assert_true(query_match_sock(&q, &s));
	q.v6 = true;
	assert_false(query_match_sock(&q, &s));
	q.v4 = true;
	assert_true(query_match_sock(&q, &s));
	assert_int_equal(cidr_list_parse(&q.dst, "10.0.0.0/8"), 0);
	assert_false(query_match_sock(&q, &s));
	assert_int_equal(cidr_list_parse(&q.dst, "127.0.0.0/8"), 0); /* OR within the flag */
	assert_true(query_match_sock(&q, &s));
	assert_int_equal(u64_list_parse(&q.uid, "0", 0, 100000), 0);
	assert_false(query_match_sock(&q, &s));
	assert_int_equal(u64_list_parse(&q.uid, "1000", 0, 100000), 0);
	assert_true(query_match_sock(&q, &s));
	assert_int_equal(u64_list_parse(&q.inode, "41", 1, UINT64_MAX), 0);
	assert_false(query_match_sock(&q, &s));
	query_free(&q);

	struct owner o = { .pid = 7, .fd = 3, .comm = "nginx" };
	assert_false(query_has_owner_filter(&q));
	assert_int_equal(str_list_add(&q.comm, "postgres"), 0);
	assert_true(query_has_owner_filter(&q));
	assert_false(query_match_owner(&q, &o));
	assert_int_equal(str_list_add(&q.comm, "nginx"), 0);
	assert_true(query_match_owner(&q, &o));
	assert_int_equal(u64_list_parse(&q.pid, "8", 1, 100), 0);
	assert_false(query_match_owner(&q, &o));
	query_free(&q);
}

static struct sock unix_sock(const char *name, size_t len, const char *peer, size_t plen)
{
	struct sock s = { .family = AF_UNIX, .type = SOCK_STREAM, .state = SK_ESTABLISHED, .inode = 9 };
	memcpy(s.path, name, len);
	s.path_len = (uint8_t)len;
	memcpy(s.peer_path, peer, plen);
	s.peer_path_len = (uint8_t)plen;
	return s;
}

/* Unix sockets only with -x (or --path); --path globs the socket's name
 * or its peer's, abstract names as @name; ports never match them. */
static void test_unix_match(void **state)
{
	struct query q = { 0 };
	struct sock srv = unix_sock("/run/db.sock", 12, "", 0);
	struct sock cli = unix_sock("", 0, "/run/db.sock", 12);
	struct sock abs = unix_sock("\0bus\0x", 6, "", 0);
	struct sock tcp = mksock(AF_INET, IPPROTO_TCP, SK_ESTABLISHED, "127.0.0.1", 1, "127.0.0.1", 2);

	assert_false(query_match_sock(&q, &srv)); /* not without -x */
	assert_true(query_match_sock(&q, &tcp));
	q.unix_socks = true;
	assert_true(query_match_sock(&q, &srv));
	assert_false(query_match_sock(&q, &tcp)); /* -x alone: only unix */
	q.tcp = true;
	assert_true(query_match_sock(&q, &tcp));
	assert_int_equal(port_list_parse(&q.port, "1"), 0);
	assert_false(query_match_sock(&q, &srv)); /* no ports */
	assert_true(query_match_sock(&q, &tcp));
	query_free(&q);

	q.unix_socks = true;
	assert_int_equal(str_list_add(&q.path, "/run/*.sock"), 0);
	assert_true(query_match_sock(&q, &srv));
	assert_true(query_match_sock(&q, &cli)); /* through its peer */
	assert_false(query_match_sock(&q, &abs));
	assert_false(query_match_sock(&q, &tcp));
	assert_int_equal(str_list_add(&q.path, "@bus*"), 0);
	assert_true(query_match_sock(&q, &abs));
	query_free(&q);
	q.unix_socks = true;
	assert_int_equal(str_list_add(&q.path, "@bus\\x00x"), 0); /* the NUL as shown */
	assert_true(query_match_sock(&q, &abs));
	query_free(&q);
}

/* --idle: TCP with tcp_info, not listening, the least of the three times. */
static void test_idle_match(void **state)
{
	struct query q = { .has_idle = true, .idle_ms = 5000 };
	struct sock s = mksock(AF_INET, IPPROTO_TCP, SK_ESTABLISHED, "127.0.0.1", 1, "127.0.0.1", 2);
	s.has_tcpi = true;
	s.last_data_recv_ms = s.last_data_sent_ms = s.last_ack_recv_ms = 6000;
	assert_true(query_match_sock(&q, &s));
	assert_int_equal(sock_idle_ms(&s), 6000);
	s.last_data_sent_ms = 200; /* sent data lately */
	assert_false(query_match_sock(&q, &s));
	s.last_data_sent_ms = 6000;
	s.last_ack_recv_ms = 4999; /* an ACK (a keepalive answer) counts as life */
	assert_false(query_match_sock(&q, &s));
	s.last_ack_recv_ms = 5000;
	assert_true(query_match_sock(&q, &s));
	s.has_tcpi = false;
	assert_false(query_match_sock(&q, &s));
	s.has_tcpi = true;
	s.state = SK_LISTEN;
	assert_false(query_match_sock(&q, &s));
	struct sock u = mksock(AF_INET, IPPROTO_UDP, SK_ESTABLISHED, "127.0.0.1", 1, "127.0.0.1", 2);
	u.has_tcpi = true;
	u.last_data_recv_ms = u.last_data_sent_ms = u.last_ack_recv_ms = 9000;
	assert_false(query_match_sock(&q, &u));
}

static void test_addr_format(void **state)
{
	char buf[SOCK_ADDR_MAX];
	struct sock s = mksock(AF_INET6, IPPROTO_TCP, SK_LISTEN, "::1", 443, "::", 0);
	sock_addr_format(&s, true, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:443");
	sock_addr_format(&s, false, buf, sizeof(buf));
	assert_string_equal(buf, "[::]:0");
	s = mksock(AF_INET, IPPROTO_UDP, SK_CLOSE, "10.0.0.1", 53, "0.0.0.0", 0);
	sock_addr_format(&s, true, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1:53");
	assert_string_equal(sock_proto_name(&s), "udp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names), cmocka_unit_test(test_state_parse),
		cmocka_unit_test(test_state_list),  cmocka_unit_test(test_port_lists),
		cmocka_unit_test(test_cidr_v4),     cmocka_unit_test(test_cidr_v6),
		cmocka_unit_test(test_u64_lists),   cmocka_unit_test(test_query_match),
		cmocka_unit_test(test_addr_format), cmocka_unit_test(test_unix_match),
		cmocka_unit_test(test_idle_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
