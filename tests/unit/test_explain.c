/* explain's wording and grouping on a plan built from fixture sockets: the
 * cases the integration tests cannot produce on demand (a request in the
 * SYN queue, a socket whose owner is invisible, a UDP server) and the
 * grouping of many sockets of one process into one paragraph. */
#include "unit.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "explain.h"
#include "fixture.h"
#include "plan.h"
#include "util.h"

struct world {
	struct sock_list socks;
	struct owner_list owners;
	struct options o;
	char *root;
};

static size_t add_sock(struct world *w, uint8_t proto, int state, uint16_t sport, uint16_t dport, uint64_t inode)
{
	struct sock s = { .proto = proto, .family = AF_INET, .state = (uint8_t)state, .sport = sport,
			  .dport = dport, .inode = inode, .cookie = inode + 1000 };
	s.src[0] = s.dst[0] = 127;
	s.src[3] = s.dst[3] = 1;
	assert_int_equal(sock_list_push(&w->socks, &s), 0);
	return w->socks.n - 1;
}

static void add_owner(struct world *w, size_t sock, pid_t pid, int fd)
{
	assert_int_equal(GROW(w->owners.v, w->owners.cap, w->owners.n), 0);
	w->owners.v[w->owners.n++] = (struct owner){ .pid = pid, .fd = fd, .sock = sock, .comm = "svc" };
}

/* Build the plan and explain it: the text, malloc'ed. */
static char *explain_text(struct world *w, bool json)
{
	struct plan p;
	struct plan_env env = { .proc_root = w->root, .self = 1000 };
	char *buf = NULL;
	size_t len = 0;
	w->o.json = json;
	assert_int_equal(plan_build(&p, &w->socks, &w->owners, &w->o, &env), 0);
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	explain_print(f, &p, &w->o);
	fclose(f);
	plan_free(&p);
	print_message("%s", buf);
	/* undo the wrapping: a line break and its indent read as one space */
	char *out = buf;
	for (const char *in = buf; *in; in++) {
		if (*in == '\n' && in[1] == ' ') {
			while (in[1] == ' ')
				in++;
			*out++ = ' ';
		} else
			*out++ = *in;
	}
	*out = '\0';
	return buf;
}

static void has(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("explanation lacks '%s'", part);
}

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	w->root = fx_root();
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	sock_list_free(&w->socks);
	owner_list_free(&w->owners);
	options_free(&w->o);
	fx_remove(w->root);
	free(w);
	return 0;
}

static void test_queues_and_unseen(void **state)
{
	struct world *w = *state;
	size_t l = add_sock(w, IPPROTO_TCP, SK_LISTEN, 8080, 0, 10);
	w->socks.v[l].rqueue = 3;
	w->socks.v[l].wqueue = 128;
	add_owner(w, l, 42, 3);
	size_t r = add_sock(w, IPPROTO_TCP, SK_SYN_RECV, 8080, 40000, 0);
	w->socks.v[r].timer = 1;
	w->socks.v[r].expires_ms = 2500;
	add_sock(w, IPPROTO_TCP, SK_CLOSE_WAIT, 8080, 40001, 77); /* inode, no owner */
	assert_int_equal(port_list_parse(&w->o.q.port, "8080,9090"), 0);
	char *t = explain_text(w, false);
	has(t, "Port 8080/tcp");
	has(t, "Listening on 127.0.0.1:8080: held by svc (pid 42; fd 3).");
	has(t, "Accept queue: 3 of 128 connections wait to be accepted.");
	has(t, "connection request in the SYN queue of the listener on port 8080");
	has(t, "in 3 s");
	has(t, "CLOSE-WAIT that no process visible to sockreap holds");
	has(t, "Port 9090: nothing holds it");
	/* the listener comes first, the request right after it */
	assert_true(strstr(t, "Listening") < strstr(t, "SYN queue"));
	free(t);
}

static void test_grouping_and_commands(void **state)
{
	struct world *w = *state;
	for (int i = 0; i < 12; i++)
		add_owner(w, add_sock(w, IPPROTO_TCP, SK_CLOSE_WAIT, 8080, (uint16_t)(50000 + i), (uint64_t)(100 + i)), 42,
			  7 + i);
	add_owner(w, add_sock(w, IPPROTO_TCP, SK_CLOSE_WAIT, 8080, 50100, 200), 42, 30);
	size_t u = add_sock(w, IPPROTO_UDP, SK_CLOSE, 5353, 0, 300);
	add_owner(w, u, 43, 4);
	char *t = explain_text(w, false);
	/* one paragraph for the 13 sockets of pid 42, fds as ranges */
	has(t, "13 connections in CLOSE-WAIT, held by svc (pid 42; fds 7-18, 30)");
	has(t, "sockreap --pid 42 --sport 8080 --state close-wait -t");
	has(t, "Bound UDP socket on 127.0.0.1:5353, no peer (a server): held by svc (pid 43; fd 4).");
	has(t, "sockreap --pid 43 --sport 5353 --state unconn -u");
	free(t);
}

static void test_json_one_object_per_socket(void **state)
{
	struct world *w = *state;
	for (int i = 0; i < 3; i++)
		add_owner(w, add_sock(w, IPPROTO_TCP, SK_CLOSE_WAIT, 8080, (uint16_t)(50000 + i), (uint64_t)(100 + i)), 42,
			  7 + i);
	size_t tw = add_sock(w, IPPROTO_TCP, SK_TIME_WAIT, 8080, 51000, 0);
	w->socks.v[tw].timer = 3;
	w->socks.v[tw].expires_ms = 41000;
	char *t = explain_text(w, true);
	size_t lines = 0;
	for (const char *p = t; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 4);
	has(t, "\"why\":\"close-wait-leak\"");
	has(t, "\"why\":\"time-wait\",\"holders\":[],\"expires_ms\":41000");
	has(t, "\"command\":\"sockreap --destroy --sport 8080 --state time-wait -t\"");
	has(t, "\"sockreap_can_act\":true");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queues_and_unseen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grouping_and_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_one_object_per_socket, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
