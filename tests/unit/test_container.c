/* Container identity: the cgroup parser on the fixture files of
 * tests/fixtures/cgroup (expectations in its expected.txt), NSpid, the pod
 * environment, docker's config, and a whole fixture /proc/PID directory. */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "container.h"
#include "fixture.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures"
#endif

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *buf = calloc(1, 65536);
	assert_non_null(buf);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static const char *dash(const char *s)
{
	return *s ? s : "-";
}

static void test_cgroup_fixtures(void **state)
{
	FILE *f = fopen(FIXTURES "/cgroup/expected.txt", "r");
	char line[512];
	int cases = 0;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char file[128], runtime[32], id[128], uid[64], path[256];
		if (line[0] == '#' || sscanf(line, "%127s %31s %127s %63s", file, runtime, id, uid) != 4)
			continue;
		snprintf(path, sizeof(path), FIXTURES "/cgroup/%s", file);
		char *text = slurp(path);
		struct container c = { 0 };
		bool found = container_parse_cgroup(text, &c);
		print_message("%s: runtime=%s id=%s pod=%s\n", file, dash(c.runtime), dash(c.id), dash(c.pod_uid));
		assert_string_equal(dash(c.runtime), runtime);
		assert_string_equal(dash(c.id), id);
		assert_string_equal(dash(c.pod_uid), uid);
		assert_true(found == (strcmp(runtime, "-") || strcmp(uid, "-")));
		if (found)
			assert_true(c.cgroup[0] == '/');
		free(text);
		cases++;
	}
	fclose(f);
	assert_true(cases >= 10);
}

static void test_cgroup_edges(void **state)
{
	struct container c = { 0 };
	/* too short to be an id, not hex, or a hostile unit name */
	assert_false(container_parse_cgroup("0::/system.slice/docker-abc.scope\n", &c));
	assert_false(container_parse_cgroup("0::/docker/not-an-id-at-all\n", &c));
	assert_false(container_parse_cgroup("0::/system.slice/bad\x1b[31m.service\n", &c));
	assert_false(container_parse_cgroup("", &c));
	assert_false(container_parse_cgroup("garbage without colons\n", &c));
	assert_string_equal(c.runtime, "");
	/* a pod UID of the wrong length is not one */
	assert_false(container_parse_cgroup("0::/kubepods.slice/kubepods-pod1234.slice\n", &c));
	/* the innermost container wins */
	const char *nested = "0::/system.slice/docker-aaaaaaaaaaaaaaaaaaaaaaaa.scope/"
			     "libpod-bbbbbbbbbbbbbbbbbbbbbbbb.scope\n";
	assert_true(container_parse_cgroup(nested, &c));
	assert_string_equal(c.runtime, "podman");
	assert_string_equal(c.id, "bbbbbbbbbbbbbbbbbbbbbbbb");
	/* no trailing newline */
	memset(&c, 0, sizeof(c));
	assert_true(container_parse_cgroup("0::/system.slice/cron.service", &c));
	assert_string_equal(c.id, "cron.service");
}

static void test_nspid(void **state)
{
	pid_t p = 0;
	bool ns = true;
	assert_int_equal(container_parse_nspid("Name:\tx\nNSpid:\t4242\n", &p, &ns), 0);
	assert_int_equal(p, 4242);
	assert_false(ns);
	assert_int_equal(container_parse_nspid("Name:\tx\nNSpid:\t4242\t17\t1\nNSpgid:\t1\n", &p, &ns), 0);
	assert_int_equal(p, 1);
	assert_true(ns);
	assert_int_equal(container_parse_nspid("Name:\tx\nPid:\t3\n", &p, &ns), -ENOENT);
	assert_int_equal(container_parse_nspid("NSpid:\t\n", &p, &ns), -ENOENT);
}

static void test_environ(void **state)
{
	static const char env1[] = "PATH=/bin\0HOSTNAME=web-7d4b9-x2k\0KUBERNETES_SERVICE_HOST=10.0.0.1\0";
	static const char env2[] = "HOSTNAME=laptop\0POD_NAMESPACE=shop\0";
	static const char env3[] = "POD_NAME=api-0\0HOSTNAME=ignored\0KUBERNETES_SERVICE_HOST=x\0POD_NAMESPACE=Bad_NS\0";
	struct container c = { 0 };

	container_parse_environ(env1, sizeof(env1) - 1, &c);
	assert_string_equal(c.pod_name, "web-7d4b9-x2k");
	assert_string_equal(c.pod_ns, "");
	memset(&c, 0, sizeof(c));
	container_parse_environ(env2, sizeof(env2) - 1, &c);
	assert_string_equal(c.pod_name, ""); /* HOSTNAME outside a pod is no pod name */
	assert_string_equal(c.pod_ns, "shop");
	memset(&c, 0, sizeof(c));
	container_parse_environ(env3, sizeof(env3) - 1, &c);
	assert_string_equal(c.pod_name, "api-0");
	assert_string_equal(c.pod_ns, ""); /* not a DNS name: dropped */
}

static void test_docker_name(void **state)
{
	char name[64];
	assert_int_equal(container_docker_name("{\"ID\":\"3f\",\"Config\":{},\"Name\":\"/web-1\",\"X\":1}", name,
					       sizeof(name)), 0);
	assert_string_equal(name, "web-1");
	assert_int_equal(container_docker_name("{\"Name\":\"/a\\u001b\"}", name, sizeof(name)), -ENOENT);
	assert_int_equal(container_docker_name("{}", name, sizeof(name)), -ENOENT);
}

/* A whole /proc/PID directory: cgroup, status and environ together. */
static void test_read_piddir(void **state)
{
	char *root = fx_root();
	char *cg = slurp(FIXTURES "/cgroup/k8s-containerd-systemd.cgroup");
	static const char env[] = "POD_NAME=shop-0\0POD_NAMESPACE=prod\0";
	fx_file(root, "77/cgroup", cg);
	fx_file(root, "77/status", "Name:\tapp\nPid:\t77\nNSpid:\t77\t1\n");
	char path[512];
	fx_path(root, "77/environ", path, sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fwrite(env, 1, sizeof(env) - 1, f);
	fclose(f);
	fx_path(root, "77", path, sizeof(path));
	int dfd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);

	struct container c;
	container_read(dfd, &c);
	close(dfd);
	assert_string_equal(c.runtime, "containerd");
	assert_string_equal(c.pod_uid, "8f14e45f-ceea-467f-a8f8-23b0a0f1c2d3");
	assert_string_equal(c.pod_name, "shop-0");
	assert_string_equal(c.pod_ns, "prod");
	assert_int_equal(c.nspid, 1);
	assert_true(c.pidns);

	char s[64];
	container_short(&c, s, sizeof(s));
	assert_string_equal(s, "containerd:c0ffee123456");
	assert_true(container_match(&c, "c0ffee"));
	assert_true(container_match(&c, "containerd:c0ff"));
	assert_false(container_match(&c, "docker:c0ff"));
	assert_false(container_match(&c, "c0ffef"));
	assert_true(container_match_pod(&c, "shop-0"));
	assert_true(container_match_pod(&c, "prod/shop-0"));
	assert_false(container_match_pod(&c, "dev/shop-0"));
	assert_true(container_match_pod(&c, "8f14e45f"));
	assert_false(container_match_pod(&c, "shop"));
	free(cg);
	fx_remove(root);
}

static void test_short_and_match(void **state)
{
	struct container c = { 0 };
	char s[64];
	container_short(&c, s, sizeof(s));
	assert_string_equal(s, "");
	container_short(NULL, s, sizeof(s));
	assert_string_equal(s, "");
	assert_false(container_match(&c, "a"));
	assert_false(container_match(NULL, "a"));
	assert_true(container_parse_cgroup("0::/system.slice/nginx.service\n", &c));
	container_short(&c, s, sizeof(s));
	assert_string_equal(s, "systemd:nginx.service");
	assert_true(container_match(&c, "nginx"));
	assert_true(container_match(&c, "systemd:"));
	snprintf(c.name, sizeof(c.name), "frontend");
	assert_true(container_match(&c, "frontend"));
	assert_false(container_match(&c, "front"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cgroup_fixtures), cmocka_unit_test(test_cgroup_edges),
		cmocka_unit_test(test_nspid),           cmocka_unit_test(test_environ),
		cmocka_unit_test(test_docker_name),     cmocka_unit_test(test_read_piddir),
		cmocka_unit_test(test_short_and_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
