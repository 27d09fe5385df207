/* The operator's ssh connection from SSH_CONNECTION / SSH_CLIENT: parsing,
 * environ blocks, matching either end of the socket, and the plan's
 * refusal of it. */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "fixture.h"
#include "plan.h"
#include "session.h"
#include "util.h"

static struct sock tcp(const char *l, uint16_t lp, const char *p, uint16_t pp)
{
	struct sock s = { .proto = IPPROTO_TCP, .state = SK_ESTABLISHED, .sport = lp, .dport = pp, .inode = 7 };
	if (inet_pton(AF_INET, l, s.src) == 1) {
		s.family = AF_INET;
		inet_pton(AF_INET, p, s.dst);
	} else {
		s.family = AF_INET6;
		inet_pton(AF_INET6, l, s.src);
		inet_pton(AF_INET6, p, s.dst);
	}
	return s;
}

static void test_parse(void **state)
{
	struct session s;
	assert_int_equal(session_parse("10.0.0.5 51234 10.0.0.1 22", true, &s), 0);
	assert_int_equal(s.family, AF_INET);
	assert_int_equal(s.client_port, 51234);
	assert_int_equal(s.server_port, 22);
	assert_true(s.has_server);
	assert_int_equal(session_parse("10.0.0.5 51234 22", false, &s), 0);
	assert_false(s.has_server);
	assert_int_equal(session_parse("fe80::1%eth0 4000 fe80::2%eth0 22", true, &s), 0);
	assert_int_equal(s.family, AF_INET6);
	assert_int_equal(session_parse("::ffff:10.0.0.5 4000 ::ffff:10.0.0.1 22", true, &s), 0);
	assert_int_equal(s.family, AF_INET); /* mapped: as v4 */
	static const char *const bad[] = {
		"", "10.0.0.5", "10.0.0.5 51234 10.0.0.1", "x 1 10.0.0.1 22", "10.0.0.5 0 10.0.0.1 22",
		"10.0.0.5 70000 10.0.0.1 22", "10.0.0.5 1 ::1 22", "10.0.0.5 1 10.0.0.1 22 5",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (session_parse(bad[i], true, &s) == 0)
			fail_msg("'%s' accepted", bad[i]);
	assert_int_equal(session_parse("10.0.0.5 1 10.0.0.1 22", false, &s), -EINVAL);
}

static void test_match(void **state)
{
	struct session_list l = { 0 };
	static const char env[] = "HOME=/root\0SSH_CONNECTION=127.0.0.1 40000 127.0.0.2 22\0"
				  "SSH_CLIENT=::1 50000 2222\0TERM=xterm\0SSH_CONNECTION=broken";
	assert_int_equal(session_from_environ(env, sizeof(env) - 1, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(session_from_environ(env, sizeof(env) - 1, &l), 0);
	assert_int_equal(l.n, 2); /* no duplicates */
	struct sock s;
	s = tcp("127.0.0.2", 22, "127.0.0.1", 40000);  /* sshd's end */
	assert_true(session_match(&l, &s));
	s = tcp("127.0.0.1", 40000, "127.0.0.2", 22);  /* the ssh client's end */
	assert_true(session_match(&l, &s));
	s = tcp("127.0.0.2", 22, "127.0.0.1", 40001);  /* another client */
	assert_false(session_match(&l, &s));
	s = tcp("127.0.0.3", 22, "127.0.0.1", 40000);  /* another server address */
	assert_false(session_match(&l, &s));
	s = tcp("::ffff:127.0.0.2", 22, "::ffff:127.0.0.1", 40000); /* dual-stack sshd */
	assert_true(session_match(&l, &s));
	s = tcp("::1", 2222, "::1", 50000);            /* SSH_CLIENT: any server address */
	assert_true(session_match(&l, &s));
	s.proto = IPPROTO_UDP;
	assert_false(session_match(&l, &s));
	assert_false(session_match(NULL, &s));
	session_list_free(&l);
}

/* The plan refuses the session's socket for every owner, like an
 * ancestor's; --allow-ancestors lets it through. */
static void test_plan_refuses_session(void **state)
{
	struct sock_list socks = { 0 };
	struct owner_list owners = { 0 };
	struct session_list l = { 0 };
	static const char env[] = "SSH_CONNECTION=127.0.0.1 40000 127.0.0.2 22";
	char *root = fx_root();
	assert_int_equal(session_from_environ(env, sizeof(env), &l), 0);
	for (int allow = 0; allow < 2; allow++) {
		struct sock s1 = tcp("127.0.0.2", 22, "127.0.0.1", 40000), s2 = tcp("127.0.0.2", 22, "127.0.0.1", 40001);
		s2.inode = 8;
		assert_int_equal(sock_list_push(&socks, &s1), 0);
		assert_int_equal(sock_list_push(&socks, &s2), 0);
		assert_int_equal(GROW(owners.v, owners.cap, 0), 0);
		assert_int_equal(GROW(owners.v, owners.cap, 1), 0);
		owners.v[0] = (struct owner){ .pid = 300, .fd = 3, .sock = 0, .comm = "sshd" };
		owners.v[1] = (struct owner){ .pid = 300, .fd = 4, .sock = 1, .comm = "sshd" };
		owners.n = 2;
		struct options o = { .allow_ancestors = allow };
		struct plan_env pe = { .proc_root = root, .self = 40, .sessions = &l };
		struct plan p;
		assert_int_equal(plan_build(&p, &socks, &owners, &o, &pe), 0);
		assert_int_equal(p.n, 2);
		for (size_t i = 0; i < p.n; i++) {
			bool session = p.socks.v[p.rows[i].sock].dport == 40000;
			if (session && !allow) {
				assert_int_equal(p.rows[i].result, RES_REFUSED);
				assert_non_null(strstr(p.rows[i].reason, "ssh connection"));
			} else
				assert_int_equal(p.rows[i].result, RES_PLANNED);
		}
		plan_free(&p);
	}
	session_list_free(&l);
	fx_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_plan_refuses_session),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
