/* Namespaces and containers outside the kernel: the --netns spelling, the
 * new flags and their conflicts, the container and pod owner filters, and
 * the plan's note on a container's PID 1 (while the host's stays refused). */
#include "unit.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fixture.h"
#include "netns.h"
#include "plan.h"
#include "util.h"

#define ARGV(...) ((char *[]){ "sockreap", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "sockreap", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(o, err, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), (o), (err), sizeof(err))

static void test_spec_path(void **state)
{
	char path[256];
	assert_int_equal(netns_spec_path("/run/netns/blue", "/proc", "/run/netns", path, sizeof(path)), 0);
	assert_string_equal(path, "/run/netns/blue");
	assert_int_equal(netns_spec_path("./ns", "/proc", "/run/netns", path, sizeof(path)), 0);
	assert_string_equal(path, "./ns");
	assert_int_equal(netns_spec_path("4242", "/fx/proc", "/run/netns", path, sizeof(path)), 0);
	assert_string_equal(path, "/fx/proc/4242/ns/net");
	assert_int_equal(netns_spec_path("blue", "/proc", "/fx/netns", path, sizeof(path)), 0);
	assert_string_equal(path, "/fx/netns/blue");
	/* digits that are no PID are a name; 0 is no PID */
	assert_int_equal(netns_spec_path("0", "/proc", "/run/netns", path, sizeof(path)), 0);
	assert_string_equal(path, "/run/netns/0");
	assert_int_equal(netns_spec_path("", "/proc", "/run/netns", path, sizeof(path)), -EINVAL);
	assert_int_equal(netns_spec_path(".", "/proc", "/run/netns", path, sizeof(path)), -EINVAL);
	assert_int_equal(netns_spec_path("..", "/proc", "/run/netns", path, sizeof(path)), -EINVAL);
	char small[8];
	assert_int_equal(netns_spec_path("longname", "/proc", "/run/netns", small, sizeof(small)), -EINVAL);
}

static void test_flags(void **state)
{
	struct options o;
	char err[256] = "";
	assert_int_equal(PARSE(&o, err, "--netns", "blue", "--netns", "/proc/7/ns/net", "--container", "docker:3f2a",
			       "--pod", "shop/web-0", "--explain", "--json"),
			 CLI_OK);
	assert_int_equal(o.netns.n, 2);
	assert_string_equal(o.netns.s[1], "/proc/7/ns/net");
	assert_false(o.all_netns);
	assert_string_equal(o.q.container.s[0], "docker:3f2a");
	assert_string_equal(o.q.pod.s[0], "shop/web-0");
	assert_true(o.explain && o.json);
	assert_true(query_has_owner_filter(&o.q));
	options_free(&o);

	assert_int_equal(PARSE(&o, err, "--all-netns"), CLI_OK);
	assert_true(o.all_netns);
	assert_false(query_has_owner_filter(&o.q));
	options_free(&o);

	static const struct { const char *a, *b, *flag; } bad[] = {
		{ "--netns", "", "--netns" },
		{ "--all-netns", "--netns=x", "--netns" },
		{ "--netns=x", "--all-netns", "--all-netns" },
		{ "--container", "a b", "--container" },
		{ "--container", "", "--container" },
		{ "--pod", "x\033[31m", "--pod" },
		{ "--explain", "--reset", "--explain" },
		{ "--explain", "--shutdown", "--explain" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		char *argv[] = { "sockreap", (char *)bad[i].a, (char *)bad[i].b, NULL };
		assert_int_equal(cli_parse(3, argv, &o, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].flag) || strchr(err, '\n'))
			fail_msg("%s %s: '%s' does not name %s on one line", bad[i].a, bad[i].b, err, bad[i].flag);
		options_free(&o);
	}
}

static void test_container_filters(void **state)
{
	struct query q = { 0 };
	struct owner_proc pr = { .pid = 7 };
	struct owner in = { .pid = 7, .comm = "app", .proc = &pr };
	struct owner bare = { .pid = 8, .comm = "app" };
	assert_true(container_parse_cgroup("0::/kubepods.slice/kubepods-burstable.slice/"
					   "kubepods-burstable-pod8f14e45f_ceea_467f_a8f8_23b0a0f1c2d3.slice/"
					   "cri-containerd-c0ffee1234567890abcdef.scope\n",
					   &pr.ctr));
	snprintf(pr.ctr.pod_name, sizeof(pr.ctr.pod_name), "web-0");

	assert_int_equal(str_list_add(&q.container, "c0ffee12"), 0);
	assert_true(query_match_owner(&q, &in));
	assert_false(query_match_owner(&q, &bare)); /* no container known: no match */
	query_free(&q);
	assert_int_equal(str_list_add(&q.container, "deadbeef"), 0);
	assert_false(query_match_owner(&q, &in));
	assert_int_equal(str_list_add(&q.container, "containerd:c0f"), 0); /* OR within the flag */
	assert_true(query_match_owner(&q, &in));
	assert_int_equal(str_list_add(&q.pod, "web-1"), 0);
	assert_false(query_match_owner(&q, &in)); /* AND across flags */
	assert_int_equal(str_list_add(&q.pod, "8f14e45f-ceea"), 0);
	assert_true(query_match_owner(&q, &in));
	query_free(&q);
}

/* A container's PID 1 is acted on, with a note; the host's PID 1 is not. */
static void test_container_pid1(void **state)
{
	struct sock_list socks = { 0 };
	struct owner_list owners = { 0 };
	struct options o = { 0 };
	char *root = fx_root();
	struct plan_env env = { .proc_root = root, .self = 40 };
	struct sock s = { .proto = IPPROTO_TCP, .family = AF_INET, .state = SK_CLOSE_WAIT, .inode = 100 };
	assert_int_equal(sock_list_push(&socks, &s), 0);

	struct owner_proc *ctr = calloc(1, sizeof(*ctr)), *host = calloc(1, sizeof(*host));
	assert_non_null(ctr);
	assert_non_null(host);
	*ctr = (struct owner_proc){ .pid = 4242, .ctr = { .runtime = "docker", .id = "3f2a9c81e0b1", .nspid = 1, .pidns = true } };
	*host = (struct owner_proc){ .pid = 1, .ctr = { .nspid = 1 } };
	owners.proc = calloc(2, sizeof(*owners.proc));
	owners.proc[0] = ctr;
	owners.proc[1] = host;
	owners.nproc = owners.capproc = 2;
	assert_int_equal(GROW(owners.v, owners.cap, owners.n), 0);
	owners.v[owners.n++] = (struct owner){ .pid = 1, .fd = 5, .sock = 0, .proc = host, .comm = "init" };
	assert_int_equal(GROW(owners.v, owners.cap, owners.n), 0);
	owners.v[owners.n++] = (struct owner){ .pid = 4242, .fd = 3, .sock = 0, .proc = ctr, .comm = "app" };

	struct plan p;
	assert_int_equal(plan_build(&p, &socks, &owners, &o, &env), 0);
	assert_int_equal(p.n, 2);
	for (size_t i = 0; i < p.n; i++) {
		const struct row *rw = &p.rows[i];
		pid_t pid = p.owners.v[rw->owner].pid;
		if (pid == 1) {
			assert_int_equal(rw->result, RES_REFUSED);
			assert_non_null(strstr(rw->reason, "PID 1"));
			assert_null(rw->note);
		} else {
			assert_int_equal(rw->result, RES_PLANNED);
			assert_non_null(rw->note);
			assert_non_null(strstr(rw->note, "container's main process"));
		}
	}
	plan_free(&p);
	fx_remove(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_path),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_container_filters),
		cmocka_unit_test(test_container_pid1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
