/* The plan's safety policy: refusals with reasons, --max, ownerless
 * sockets, owner counts; ancestors from a fixture /proc. */
#include "unit.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "fixture.h"
#include "plan.h"
#include "util.h"

struct world {
	struct sock_list socks;
	struct owner_list owners;
	struct options o;
	struct plan_env env;
	char *root;
};

static void sock(struct world *w, int state, uint64_t inode)
{
	struct sock s = { .proto = IPPROTO_TCP, .family = AF_INET, .state = (uint8_t)state, .inode = inode };
	assert_int_equal(sock_list_push(&w->socks, &s), 0);
}

static void owner(struct world *w, size_t sock, pid_t pid, int fd, const char *comm)
{
	assert_int_equal(GROW(w->owners.v, w->owners.cap, w->owners.n), 0);
	struct owner *o = &w->owners.v[w->owners.n++];
	*o = (struct owner){ .pid = pid, .fd = fd, .sock = sock };
	snprintf(o->comm, sizeof(o->comm), "%s", comm);
}

static int setup(void **state)
{
	static const pid_t anc[] = { 50, 1 };
	struct world *w = calloc(1, sizeof(*w));
	w->root = fx_root(); /* empty: no epoll watch lists */
	w->env = (struct plan_env){ .proc_root = w->root, .self = 40, .ancestors = anc, .nancestors = 2 };
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

static struct plan build(struct world *w)
{
	struct plan p;
	assert_int_equal(plan_build(&p, &w->socks, &w->owners, &w->o, &w->env), 0);
	return p;
}

static const struct row *row_of(const struct plan *p, pid_t pid, int fd)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].owner >= 0 && p->owners.v[p->rows[i].owner].pid == pid &&
		    p->owners.v[p->rows[i].owner].fd == fd)
			return &p->rows[i];
	fail_msg("no row for pid %d fd %d", (int)pid, fd);
	return NULL;
}

static void expect(const struct plan *p, pid_t pid, int fd, enum result res, const char *reason_part)
{
	const struct row *rw = row_of(p, pid, fd);
	assert_int_equal(rw->result, res);
	if (reason_part) {
		assert_non_null(rw->reason);
		if (!strstr(rw->reason, reason_part))
			fail_msg("reason '%s' lacks '%s'", rw->reason, reason_part);
	} else
		assert_null(rw->reason);
}

static void test_refusals(void **state)
{
	struct world *w = *state;
	sock(w, SK_CLOSE_WAIT, 100);
	sock(w, SK_LISTEN, 101);
	owner(w, 0, 10, 3, "app");     /* fine */
	owner(w, 1, 10, 4, "app");     /* LISTEN */
	owner(w, 0, 1, 5, "init");     /* PID 1 */
	owner(w, 0, 40, 6, "sockreap"); /* ourselves */
	owner(w, 0, 50, 7, "sshd");    /* ancestor */
	owner(w, 0, 60, 8, "db");      /* --exclude-pid */
	owner(w, 0, 70, 9, "cron");    /* --exclude-comm */
	assert_int_equal(u64_list_parse(&w->o.exclude_pid, "60", 1, 1000), 0);
	assert_int_equal(str_list_add(&w->o.exclude_comm, "cron"), 0);
	struct plan p = build(w);
	assert_int_equal(p.n, 7);
	expect(&p, 10, 3, RES_PLANNED, NULL);
	expect(&p, 10, 4, RES_REFUSED, "--allow-listen");
	expect(&p, 1, 5, RES_REFUSED, "PID 1");
	expect(&p, 40, 6, RES_REFUSED, "sockreap");
	expect(&p, 50, 7, RES_REFUSED, "--allow-ancestors");
	expect(&p, 60, 8, RES_REFUSED, "--exclude-pid");
	expect(&p, 70, 9, RES_REFUSED, "--exclude-comm");
	assert_int_equal(row_of(&p, 10, 3)->nowners, 6);
	assert_int_equal(p.nsockets_acting, 1);
	assert_int_equal(p.nprocs_acting, 1);
	assert_int_equal(plan_count_pids(&p, false), 6);
	plan_free(&p);
}

static void test_allow_flags(void **state)
{
	struct world *w = *state;
	sock(w, SK_LISTEN, 101);
	owner(w, 0, 50, 4, "sshd");
	w->o.allow_listen = true;
	w->o.allow_ancestors = true;
	struct plan p = build(w);
	expect(&p, 50, 4, RES_PLANNED, NULL);
	plan_free(&p);
}

/* --max counts sockets, not owners, and refuses everything when exceeded. */
static void test_max(void **state)
{
	struct world *w = *state;
	sock(w, SK_CLOSE_WAIT, 100);
	sock(w, SK_CLOSE_WAIT, 101);
	owner(w, 0, 10, 3, "a");
	owner(w, 0, 11, 3, "b"); /* same socket, second owner */
	owner(w, 1, 10, 4, "a");
	w->o.has_max = true;
	w->o.max = 2;
	struct plan p = build(w);
	assert_int_equal(p.nsockets_acting, 2);
	expect(&p, 11, 3, RES_PLANNED, NULL);
	plan_free(&p);

	sock(w, SK_CLOSE_WAIT, 100);
	sock(w, SK_CLOSE_WAIT, 101);
	sock(w, SK_CLOSE_WAIT, 102);
	owner(w, 0, 10, 3, "a");
	owner(w, 1, 10, 4, "a");
	owner(w, 2, 10, 5, "a");
	p = build(w);
	assert_int_equal(p.nsockets_acting, 0);
	for (int fd = 3; fd <= 5; fd++)
		expect(&p, 10, fd, RES_REFUSED, "--max 2");
	plan_free(&p);
}

static void test_ownerless(void **state)
{
	struct world *w = *state;
	sock(w, SK_TIME_WAIT, 0);
	sock(w, SK_CLOSE_WAIT, 100);
	owner(w, 1, 10, 3, "a");
	struct plan p = build(w);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.rows[0].owner, -1);
	assert_int_equal(p.rows[0].result, RES_SKIPPED);
	assert_non_null(strstr(p.rows[0].reason, "SOCK_DESTROY"));
	assert_int_equal(p.rows[0].nowners, 0);
	plan_free(&p);

	/* with an owner filter, ownerless sockets do not match */
	sock(w, SK_TIME_WAIT, 0);
	assert_int_equal(u64_list_parse(&w->o.q.pid, "10", 1, 100), 0);
	p = build(w);
	assert_int_equal(p.n, 0);
	plan_free(&p);
}

static void push(struct world *w, struct sock s)
{
	assert_int_equal(sock_list_push(&w->socks, &s), 0);
}

/* Servers are refused like LISTEN: TCP and unix listeners, bound UDP
 * sockets without a peer, unix datagram servers; clients are not. */
static void test_servers(void **state)
{
	struct world *w = *state;
	push(w, (struct sock){ .family = AF_UNIX, .type = SOCK_STREAM, .state = SK_LISTEN, .inode = 1, .path_len = 2 });
	push(w, (struct sock){ .family = AF_INET, .proto = IPPROTO_UDP, .type = SOCK_DGRAM, .state = SK_CLOSE,
			       .sport = 53, .inode = 2 });
	push(w, (struct sock){ .family = AF_INET6, .proto = IPPROTO_UDP, .type = SOCK_DGRAM,
			       .state = SK_ESTABLISHED, .sport = 4000, .dport = 53, .inode = 3 });
	push(w, (struct sock){ .family = AF_UNIX, .type = SOCK_DGRAM, .state = SK_ESTABLISHED, .inode = 4,
			       .path_len = 8 }); /* /dev/log: a client once connected, still no peer */
	push(w, (struct sock){ .family = AF_UNIX, .type = SOCK_DGRAM, .state = SK_ESTABLISHED, .inode = 5,
			       .peer_inode = 4 });
	push(w, (struct sock){ .family = AF_UNIX, .type = SOCK_STREAM, .state = SK_ESTABLISHED, .inode = 6,
			       .path_len = 2, .peer_inode = 9 }); /* accepted: carries the listener's name */
	for (int i = 0; i < 6; i++)
		owner(w, (size_t)i, 10, 3 + i, "srv");
	struct plan p = build(w);
	expect(&p, 10, 3, RES_REFUSED, "LISTEN");
	expect(&p, 10, 4, RES_REFUSED, "UDP server socket (bound, no peer)");
	expect(&p, 10, 5, RES_PLANNED, NULL);
	expect(&p, 10, 6, RES_REFUSED, "unix datagram server");
	expect(&p, 10, 7, RES_PLANNED, NULL);
	expect(&p, 10, 8, RES_PLANNED, NULL);
	assert_non_null(strstr(row_of(&p, 10, 4)->reason, "--allow-listen"));
	plan_free(&p);
}

/* shutdown and reset change the socket for every owner: one refused owner
 * (PID 1, an excluded pid, one the --pid filter left out of the rows)
 * refuses the socket for all; the default close is per fd. */
static void shared_world(struct world *w, enum method m)
{
	sock(w, SK_ESTABLISHED, 100); /* owners 10 and 1 (PID 1) */
	sock(w, SK_ESTABLISHED, 101); /* owners 10 and 60 (excluded) */
	sock(w, SK_ESTABLISHED, 102); /* owner 10 only */
	owner(w, 0, 10, 3, "a");
	owner(w, 0, 1, 3, "init");
	owner(w, 1, 10, 4, "a");
	owner(w, 1, 60, 4, "db");
	owner(w, 2, 10, 5, "a");
	assert_int_equal(u64_list_parse(&w->o.exclude_pid, "60", 1, 1000), 0);
	w->o.method = m;
}

static void test_per_socket_refusal(void **state)
{
	struct world *w = *state;
	shared_world(w, METHOD_SHUTDOWN);
	struct plan p = build(w);
	expect(&p, 10, 3, RES_REFUSED, "owner init/1 is refused");
	expect(&p, 10, 4, RES_REFUSED, "owner db/60 is refused");
	expect(&p, 10, 5, RES_PLANNED, NULL);
	plan_free(&p);
}

/* the default close is per fd: pid 10's fds go, PID 1's is refused alone */
static void test_per_fd_close_not_shared(void **state)
{
	struct world *w = *state;
	shared_world(w, METHOD_CLOSE);
	struct plan p = build(w);
	expect(&p, 10, 3, RES_PLANNED, NULL);
	expect(&p, 10, 4, RES_PLANNED, NULL);
	expect(&p, 1, 3, RES_REFUSED, "PID 1");
	plan_free(&p);
}

/* an owner the --pid filter leaves out of the rows still counts */
static void test_per_socket_refusal_outside_rows(void **state)
{
	struct world *w = *state;
	shared_world(w, METHOD_RESET);
	assert_int_equal(u64_list_parse(&w->o.q.pid, "10", 1, 1000), 0);
	struct plan p = build(w);
	expect(&p, 10, 3, RES_REFUSED, "owner init/1 is refused");
	expect(&p, 10, 5, RES_PLANNED, NULL);
	plan_free(&p);
}

/* --destroy: one row per socket carries it, the others point at it; a
 * socket with a refused owner is not destroyed for anyone; ownerless
 * sockets without inode are destroyed, with an inode refused. */
static void test_destroy_per_socket(void **state)
{
	struct world *w = *state;
	w->o.method = METHOD_DESTROY;
	sock(w, SK_ESTABLISHED, 100); /* two owners, both fine */
	sock(w, SK_CLOSE_WAIT, 101);  /* two owners, one excluded */
	sock(w, SK_TIME_WAIT, 0);     /* nobody's */
	sock(w, SK_ESTABLISHED, 102); /* an inode, no visible owner */
	sock(w, SK_LISTEN, 103);
	owner(w, 0, 10, 3, "a");
	owner(w, 0, 11, 3, "b");
	owner(w, 1, 10, 4, "a");
	owner(w, 1, 60, 4, "db");
	owner(w, 4, 10, 5, "a");
	assert_int_equal(u64_list_parse(&w->o.exclude_pid, "60", 1, 1000), 0);
	struct plan p = build(w);
	const struct row *a = row_of(&p, 10, 3), *b = row_of(&p, 11, 3);
	assert_int_equal(a->result, RES_PLANNED);
	assert_int_equal(a->via, -1);
	assert_non_null(strstr(a->note, "keeps its fd"));
	assert_int_equal(b->result, RES_PLANNED);
	assert_int_equal(b->via, a - p.rows);
	assert_non_null(strstr(b->reason, "a/10/3"));
	expect(&p, 60, 4, RES_REFUSED, "--exclude-pid");
	expect(&p, 10, 4, RES_REFUSED, "owner db/60 is refused");
	expect(&p, 10, 5, RES_REFUSED, "LISTEN");
	size_t tw = 0, hidden = 0;
	for (size_t i = 0; i < p.n; i++) {
		const struct row *rw = &p.rows[i];
		if (rw->owner >= 0)
			continue;
		if (p.socks.v[rw->sock].inode == 0) {
			tw++;
			assert_int_equal(rw->result, RES_PLANNED);
		} else {
			hidden++;
			assert_int_equal(rw->result, RES_REFUSED);
			assert_non_null(strstr(rw->reason, "not visible"));
		}
	}
	assert_int_equal(tw, 1);
	assert_int_equal(hidden, 1);
	assert_int_equal(p.nsockets_acting, 2); /* the shared one and TIME-WAIT */
	assert_string_equal(method_name(&w->o), "destroy");
	plan_free(&p);
}

static void test_ancestors(void **state)
{
	struct world *w = *state;
	fx_file(w->root, "100/stat", "100 (my (odd) shell) S 90 100 100 0 -1\n");
	fx_file(w->root, "90/stat", "90 (sshd) S 1 90 90 0 -1\n");
	pid_t *v;
	size_t n;
	assert_int_equal(plan_ancestors(w->root, 100, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0], 90);
	assert_int_equal(v[1], 1);
	free(v);
}

/* A build that cannot inject (arch none.c): methods that must act inside
 * the target are refused with its reason; --shutdown (pidfd first) and
 * --destroy are not. */
static void test_no_inject(void **state)
{
	static const struct { enum method m; bool inject; bool refused; } cases[] = {
		{ METHOD_CLOSE, false, true },    { METHOD_FREE_FD, false, true }, { METHOD_RESET, false, true },
		{ METHOD_SHUTDOWN, true, true },  { METHOD_SHUTDOWN, false, false },
		{ METHOD_DESTROY, false, false },
	};
	struct world *w = *state;
	w->env.no_inject = "this build of sockreap cannot inject into processes on testarch";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sock(w, SK_CLOSE_WAIT, 100);
		owner(w, 0, 10, 3, "a");
		owner(w, 0, 11, 3, "b");
		w->o.method = cases[i].m;
		w->o.inject = cases[i].inject;
		struct plan p = build(w);
		if (cases[i].refused) {
			expect(&p, 10, 3, RES_REFUSED, "testarch");
			expect(&p, 11, 3, RES_REFUSED, "testarch");
			assert_int_equal(p.nsockets_acting, 0);
		} else
			assert_int_equal(row_of(&p, 10, 3)->result, RES_PLANNED);
		plan_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_inject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_allow_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ownerless, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ancestors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_servers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_per_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_socket_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_fd_close_not_shared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_per_socket_refusal_outside_rows, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
