/* The command line: every valid form fills struct options as documented;
 * every bad value is rejected with one line naming the flag and value. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

#define ARGV(...) ((char *[]){ "sockreap", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "sockreap", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (err), sizeof(err))

static void test_defaults(void **state)
{
	struct options o;
	char err[256] = "";
	char *argv[] = { "sockreap", NULL };
	assert_int_equal(cli_parse(1, argv, &o, err, sizeof(err)), CLI_OK);
	assert_int_equal(o.method, METHOD_CLOSE);
	assert_false(o.dry_run || o.yes || o.json || o.quiet || o.allow_listen || o.has_max);
	assert_int_equal(query_states(&o.q), SK_ALL_STATES);
	assert_null(o.audit_log);
	options_free(&o);
}

static void test_every_flag(void **state)
{
	struct options o;
	char err[256] = "";
	int r = PARSE(&o, err, "-p", "80,443", "--sport", "8000-8100", "--dport=9", "-s", "CLOSE_WAIT,listen",
		      "--src", "10.0.0.0/8", "--dst", "::1", "-t", "-u", "-4", "-6", "--pid", "7,8", "--comm", "nginx",
		      "--uid", "0", "--inode", "123", "--shutdown=wr", "-n", "--inject", "-y", "--max", "5",
		      "--allow-listen", "--allow-ancestors", "--exclude-pid", "9", "--exclude-comm", "sshd",
		      "--audit-log", "/tmp/x.log", "--backtrace", "--json", "-q", "-v", "-v");
	assert_int_equal(r, CLI_OK);
	assert_int_equal(o.q.port.n, 2);
	assert_int_equal(o.q.sport.r[0].lo, 8000);
	assert_int_equal(o.q.sport.r[0].hi, 8100);
	assert_int_equal(o.q.dport.r[0].lo, 9);
	assert_int_equal(o.q.states, 1u << SK_CLOSE_WAIT | 1u << SK_LISTEN);
	assert_int_equal(o.q.src.n, 1);
	assert_int_equal(o.q.dst.c[0].family, AF_INET6);
	assert_true(o.q.tcp && o.q.udp && o.q.v4 && o.q.v6);
	assert_int_equal(o.q.pid.n, 2);
	assert_string_equal(o.q.comm.s[0], "nginx");
	assert_int_equal(o.q.uid.v[0], 0);
	assert_int_equal(o.q.inode.v[0], 123);
	assert_int_equal(o.method, METHOD_SHUTDOWN);
	assert_int_equal(o.how, SHUT_WR);
	assert_true(o.dry_run && o.inject && o.yes && o.allow_listen && o.allow_ancestors);
	assert_true(o.has_max);
	assert_int_equal(o.max, 5);
	assert_int_equal(o.exclude_pid.v[0], 9);
	assert_string_equal(o.exclude_comm.s[0], "sshd");
	assert_string_equal(o.audit_log, "/tmp/x.log");
	assert_true(o.backtrace && o.json && o.quiet);
	assert_int_equal(o.verbose, 2);
	options_free(&o);
}

static void test_methods(void **state)
{
	struct options o;
	char err[256];
	assert_int_equal(PARSE(&o, err, "--shutdown"), CLI_OK);
	assert_int_equal(o.method, METHOD_SHUTDOWN);
	assert_int_equal(o.how, SHUT_RDWR);
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--shutdown=rd"), CLI_OK);
	assert_int_equal(o.how, SHUT_RD);
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--shutdown=rdwr"), CLI_OK);
	assert_int_equal(o.how, SHUT_RDWR);
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--reset", "--dry-run"), CLI_OK);
	assert_int_equal(o.method, METHOD_RESET);
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--destroy", "--state", "time-wait"), CLI_OK);
	assert_int_equal(o.method, METHOD_DESTROY);
	options_free(&o);
}

static void test_kinds_flags(void **state)
{
	struct options o;
	char err[256];
	assert_int_equal(PARSE(&o, err, "-x"), CLI_OK);
	assert_true(o.q.unix_socks);
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--unix", "--path", "/run/*.sock", "--path", "@x*"), CLI_OK);
	assert_true(o.q.unix_socks);
	assert_int_equal(o.q.path.n, 2);
	assert_string_equal(o.q.path.s[1], "@x*");
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--path", "/tmp/s"), CLI_OK);
	assert_true(o.q.unix_socks); /* --path implies --unix */
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--idle", "300"), CLI_OK);
	assert_true(o.q.has_idle);
	assert_int_equal(o.q.idle_ms, 300000);
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--idle", "4294967"), CLI_OK);
	options_free(&o);
}

/* Each case: the arguments, then what the message must contain. */
static void expect_bad(const char *flag, const char *value, int argc, char **argv)
{
	struct options o;
	char err[256] = "";
	assert_int_equal(cli_parse(argc, argv, &o, err, sizeof(err)), -EINVAL);
	if (!strstr(err, flag) || !strstr(err, value) || strchr(err, '\n'))
		fail_msg("message '%s' should name '%s' and '%s' on one line", err, flag, value);
	options_free(&o);
}
#define BAD(flag, value, ...) expect_bad(flag, value, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void test_bad_input(void **state)
{
	BAD("--port", "99999", "--port", "99999");
	BAD("--port", "out of range", "-p", "65536");
	BAD("--port", "abc", "-p", "abc");
	BAD("--port", "''", "--port", "");
	BAD("--port", "80,", "--port", "80,");
	BAD("--port", ",80", "--port", ",80");
	BAD("--sport", "reversed", "--sport", "90-80");
	BAD("--dport", "x-1", "--dport", "x-1");
	BAD("--state", "bogus", "--state", "bogus");
	BAD("--state", "listen,", "-s", "listen,");
	BAD("--src", "1.2.3.4/33", "--src", "1.2.3.4/33");
	BAD("--dst", "::1/129", "--dst", "::1/129");
	BAD("--src", "999.1.1.1", "--src", "999.1.1.1");
	BAD("unknown option", "--bogus", "--bogus");
	BAD("unknown option", "-Z", "-Z");
	BAD("--port", "missing argument", "--port");
	BAD("--port", "missing argument", "-p");
	BAD("--shutdown", "bogus", "--shutdown=bogus");
	BAD("--reset", "--shutdown", "--shutdown", "--reset");
	BAD("--shutdown", "--reset", "--reset", "--shutdown");
	BAD("--max", "0", "--max", "0");
	BAD("--max", "abc", "--max", "abc");
	BAD("--pid", "0", "--pid", "0");
	BAD("--pid", "abc", "--pid", "abc");
	BAD("--uid", "abc", "--uid", "abc");
	BAD("--inode", "abc", "--inode", "abc");
	BAD("--comm", "0123456789abcdef", "--comm", "0123456789abcdef");
	BAD("unexpected argument", "8080", "8080");
	BAD("--audit-log", "empty", "--audit-log", "");
	BAD("--destroy", "--shutdown", "--shutdown", "--destroy");
	BAD("--shutdown", "--destroy", "--destroy", "--shutdown");
	BAD("--reset", "--destroy", "--destroy", "--reset");
	BAD("--destroy", "--reset", "--reset", "--destroy");
	BAD("--inject", "--destroy", "--destroy", "--inject");
	BAD("--path", "''", "--path", "");
	BAD("--idle", "0", "--idle", "0");
	BAD("--idle", "abc", "--idle", "abc");
	BAD("--idle", "4294968", "--idle", "4294968");
	BAD("--idle", "1.5", "--idle", "1.5");
}

static void test_fine_combinations(void **state)
{
	struct options o;
	char err[256];
	assert_int_equal(PARSE(&o, err, "-4", "-6", "--json", "-q"), CLI_OK);
	assert_true(o.q.v4 && o.q.v6 && o.json && o.quiet);
	options_free(&o);
	/* parsing twice in one process starts afresh (getopt state reset) */
	assert_int_equal(PARSE(&o, err, "-p", "1"), CLI_OK);
	assert_int_equal(o.q.port.n, 1);
	assert_false(o.json);
	options_free(&o);
}

static void test_help_version(void **state)
{
	struct options o;
	char err[256];
	FILE *saved = stdout;
	stdout = fopen("/dev/null", "w");
	int h = PARSE(&o, err, "--help");
	options_free(&o);
	int v = PARSE(&o, err, "--version");
	options_free(&o);
	fclose(stdout);
	stdout = saved;
	assert_int_equal(h, CLI_EXIT);
	assert_int_equal(v, CLI_EXIT);
}

static void test_check(void **state)
{
	struct options o;
	char err[256] = "";
	assert_int_equal(PARSE(&o, err, "--check", "--pid", "42", "--json", "--shutdown"), CLI_OK);
	assert_true(o.check && o.json);
	assert_int_equal(o.q.pid.v[0], 42);
	options_free(&o);
	static const char *const why[] = { "needs exactly one process", "needs exactly one process",
					   "takes no socket filters", "takes no socket filters" };
	int r[4];
	r[0] = PARSE(&o, err, "--check");
	assert_non_null(strstr(err, why[0]));
	options_free(&o);
	r[1] = PARSE(&o, err, "--check", "--pid", "1,2");
	assert_non_null(strstr(err, why[1]));
	options_free(&o);
	r[2] = PARSE(&o, err, "--check", "--pid", "1", "--port", "80");
	assert_non_null(strstr(err, why[2]));
	options_free(&o);
	r[3] = PARSE(&o, err, "--check", "--pid", "1", "-s", "listen");
	assert_non_null(strstr(err, why[3]));
	options_free(&o);
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i], -EINVAL);
	/* main's newer filters are socket filters too */
	assert_int_equal(PARSE(&o, err, "--check", "--pid", "1", "-x"), -EINVAL);
	assert_non_null(strstr(err, "takes no socket filters"));
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--check", "--pid", "1", "--path", "/run/*.sock"), -EINVAL);
	assert_non_null(strstr(err, "takes no socket filters"));
	options_free(&o);
	assert_int_equal(PARSE(&o, err, "--check", "--pid", "1", "--idle", "60"), -EINVAL);
	assert_non_null(strstr(err, "takes no socket filters"));
	options_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),   cmocka_unit_test(test_every_flag),
		cmocka_unit_test(test_methods),    cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_kinds_flags),
		cmocka_unit_test(test_fine_combinations), cmocka_unit_test(test_help_version),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
