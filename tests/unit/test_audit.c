/* The audit log: what it may be (never a way to write into another file),
 * what it may be under sudo, and that a record is whole or absent even
 * when the file cannot grow. Files are made in a temporary directory;
 * ownership cases need root (CI runs as root) and are skipped otherwise. */
#include "unit.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "escape.h"
#include "fixture.h"
#include "util.h"

static char *root;

static int setup(void **state)
{
	root = fx_root();
	chmod(root, 0755);
	return 0;
}

static int teardown(void **state)
{
	fx_remove(root);
	return 0;
}

static const char *at(const char *rel)
{
	static char path[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(path[k], sizeof(path[k]), "%s/%s", root, rel);
	return path[k];
}

/* Opening path must be refused, with a reason containing want. */
static void refused(const char *path, const char *want)
{
	char why[320] = "";
	bool regular;
	int fd = audit_open_safe(path, &regular, why, sizeof(why));
	if (fd >= 0)
		fail_msg("%s was accepted", path);
	assert_int_equal(fd, -EPERM);
	if (!strstr(why, want))
		fail_msg("%s: reason '%s' lacks '%s'", path, why, want);
}

static void accepted(const char *path, bool want_regular)
{
	char why[320] = "";
	bool regular = !want_regular;
	int fd = audit_open_safe(path, &regular, why, sizeof(why));
	if (fd < 0)
		fail_msg("%s refused: %s", path, why);
	assert_int_equal(regular, want_regular);
	close(fd);
}

static void write_file(const char *path, mode_t mode, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static void test_plain_files(void **state)
{
	accepted(at("new.log"), true);
	struct stat st;
	assert_int_equal(stat(at("new.log"), &st), 0);
	assert_int_equal(st.st_mode & 077, 0); /* created 0600 */
	accepted(at("new.log"), true);          /* and appended to again */
	accepted("/dev/null", false);
}

static void test_symlink_fifo_dir(void **state)
{
	write_file(at("target"), 0600, "precious\n");
	assert_int_equal(symlink(at("target"), at("link.log")), 0);
	refused(at("link.log"), "symbolic link");
	assert_int_equal(symlink(at("nowhere"), at("dangling.log")), 0);
	refused(at("dangling.log"), "symbolic link");
	assert_int_equal(mkfifo(at("fifo.log"), 0600), 0);
	refused(at("fifo.log"), "FIFO"); /* and returns: no reader needed */
	refused(root, "directory");
	refused(at("sub/"), "directory");
	refused("/dev/zero", "device");
	char buf[16];
	int fd = open(at("target"), O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 9);
	close(fd);
}

static void test_modes_and_links(void **state)
{
	write_file(at("ww.log"), 0666, "");
	refused(at("ww.log"), "world-writable");
	write_file(at("gw.log"), 0620, "");
	refused(at("gw.log"), "group-writable");
	write_file(at("one.log"), 0600, "");
	assert_int_equal(link(at("one.log"), at("two.log")), 0);
	refused(at("two.log"), "2 hard links");
	mkdir(at("open"), 0777);
	chmod(at("open"), 0777);
	refused(at("open/x.log"), "world-writable");
}

static void test_owners(void **state)
{
	if (geteuid() != 0)
		skip();
	write_file(at("theirs.log"), 0600, "");
	assert_int_equal(chown(at("theirs.log"), 65534, 65534), 0);
	refused(at("theirs.log"), "belongs to uid 65534");
	mkdir(at("theirdir"), 0755);
	assert_int_equal(chown(at("theirdir"), 65534, 65534), 0);
	refused(at("theirdir/x.log"), "belongs to uid 65534");
	/* a sticky world-writable directory owned by root is fine (/tmp) */
	mkdir(at("sticky"), 01777);
	chmod(at("sticky"), 01777);
	accepted(at("sticky/mine.log"), true);
	/* but not another user's file in it */
	write_file(at("sticky/planted.log"), 0600, "");
	assert_int_equal(chown(at("sticky/planted.log"), 65534, 65534), 0);
	refused(at("sticky/planted.log"), "belongs to uid 65534");
}

static void allowed(const char *path, bool sudo, const char *conf, const char *want_refusal)
{
	char why[320] = "";
	int r = audit_path_allowed(path, sudo, conf, why, sizeof(why));
	if (!want_refusal) {
		if (r != 0)
			fail_msg("%s not allowed: %s", path, why);
		return;
	}
	if (r != -EPERM)
		fail_msg("%s allowed under sudo=%d", path, sudo);
	if (!strstr(why, want_refusal))
		fail_msg("%s: reason '%s' lacks '%s'", path, why, want_refusal);
}

static void test_sudo_policy(void **state)
{
	const char *conf = at("sockreap.conf");
	allowed("/tmp/anything.log", false, conf, NULL);
	allowed(AUDIT_DEFAULT_PATH, true, conf, NULL);
	allowed("/tmp/x.log", true, conf, "No such file");
	write_file(conf, 0644, "# on-call logs\n\naudit-log-allow = /srv/oncall/sockreap.log\n"
			       "  audit-log-allow=/tmp/x.log  \n");
	if (geteuid() == 0) {
		allowed("/tmp/x.log", true, conf, NULL);
		allowed("/srv/oncall/sockreap.log", true, conf, NULL);
		allowed("/srv/oncall/other.log", true, conf, "audit-log-allow = PATH");
		allowed("/dev/null", true, conf, "audit-log-allow = PATH");
		chmod(conf, 0666);
		allowed("/tmp/x.log", true, conf, "is ignored");
		chmod(conf, 0644);
		assert_int_equal(chown(conf, 65534, 0), 0);
		allowed("/tmp/x.log", true, conf, "is ignored");
		assert_int_equal(chown(conf, 0, 0), 0);
		write_file(conf, 0644, "audit-log-allow = /tmp/x.log\nlog-everything = yes\n");
		allowed("/tmp/x.log", true, conf, "line 2: unknown setting");
		write_file(conf, 0644, "audit-log-allow = relative.log\n");
		allowed("relative.log", true, conf, "line 1: audit-log-allow needs an absolute path");
		write_file(conf, 0644, "just words\n");
		allowed("/tmp/x.log", true, conf, "line 1: expected");
	} else
		allowed("/tmp/x.log", true, conf, "is ignored"); /* not root's */
}

/* One row of a plan, enough for audit_record. */
struct mini {
	struct plan p;
	struct options o;
	char *argv[3];
};

static void mini_plan(struct mini *m)
{
	memset(m, 0, sizeof(*m));
	struct sock s = { .proto = IPPROTO_TCP, .family = AF_INET, .state = SK_CLOSE_WAIT, .inode = 1, .cookie = 2 };
	assert_int_equal(sock_list_push(&m->p.socks, &s), 0);
	assert_int_equal(GROW(m->p.owners.v, m->p.owners.cap, 0), 0);
	m->p.owners.v[0] = (struct owner){ .pid = getpid(), .fd = 3, .comm = "bad\xff\x1b[2J" };
	m->p.owners.n = 1;
	assert_int_equal(GROW(m->p.rows, m->p.cap, 0), 0);
	m->p.rows[0] = (struct row){ .owner = 0, .nowners = 1, .result = RES_DONE, .stall_ms = -1 };
	m->p.n = 1;
	m->argv[0] = "sockreap";
	m->argv[1] = "--comm=\xfe";
	m->o = (struct options){ .argc = 2, .argv = m->argv };
}

static off_t size_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Every line of the file is one JSON object's worth of valid UTF-8 that
 * ends in a newline: no torn record. */
static size_t whole_lines(const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	size_t lines = 0;
	assert_true(esc_utf8_valid(buf));
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		if (!nl)
			fail_msg("torn record at the end: '%s'", line);
		assert_true(line[0] == '{' && nl[-1] == '}');
		lines++;
		line = nl + 1;
	}
	return lines;
}

/* A record that does not fit under RLIMIT_FSIZE is cut off again, the
 * loss is counted (result and verify records apart), and what was there stays whole. In a child: the limit
 * must not outlive the test. */
static void test_whole_records_or_none(void **state)
{
	const char *path = at("limited.log");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mini m;
		struct audit a;
		mini_plan(&m);
		signal(SIGXFSZ, SIG_IGN);
		if (audit_open(&a, path, &m.o) < 0)
			_exit(10);
		if (audit_record(&a, &m.p, &m.p.rows[0], &m.o, "intent") < 0 || audit_flush(&a) < 0)
			_exit(11);
		off_t one = size_of(path);
		struct rlimit rl = { (rlim_t)one + (rlim_t)one / 2, RLIM_INFINITY };
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(12);
		audit_record(&a, &m.p, &m.p.rows[0], &m.o, "result");
		int r = audit_flush(&a);
		if (r != -EFBIG || size_of(path) != one)
			_exit(13);
		if (a.lost_result != 1 || a.lost_done != 1 || a.lost_intent != 0)
			_exit(14);
		/* the verify records at the end of a run are counted too */
		audit_record(&a, &m.p, &m.p.rows[0], &m.o, "verify");
		if (audit_flush(&a) != -EFBIG || size_of(path) != one)
			_exit(15);
		if (a.lost_verify != 1 || a.lost_verify_done != 1 || a.lost_result != 1 || a.lost_done != 1)
			_exit(16);
		audit_close(&a);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(whole_lines(path), 1);
}

/* The record itself: valid UTF-8 JSON for bytes that are not, with the
 * raw bytes kept in _hex twins; the exe path whole. */
static void test_record_utf8(void **state)
{
	const char *path = at("utf8.log");
	struct mini m;
	struct audit a;
	mini_plan(&m);
	assert_int_equal(audit_open(&a, path, &m.o), 0);
	assert_int_equal(audit_record(&a, &m.p, &m.p.rows[0], &m.o, "plan"), 0);
	assert_int_equal(audit_close(&a), 0);
	assert_int_equal(whole_lines(path), 1);
	char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "\"comm\":\"bad\\ufffd\\u001b[2J\",\"comm_hex\":\"626164ff1b5b324a\""));
	assert_non_null(strstr(buf, "\"argv_hex\":[\"736f636b72656170\",\"2d2d636f6d6d3dfe\"]"));
	char exe[4096];
	ssize_t k = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[k] = '\0';
	assert_non_null(strstr(buf, exe));
	sock_list_free(&m.p.socks);
	owner_list_free(&m.p.owners);
	free(m.p.rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_files),
		cmocka_unit_test(test_symlink_fifo_dir),
		cmocka_unit_test(test_modes_and_links),
		cmocka_unit_test(test_owners),
		cmocka_unit_test(test_sudo_policy),
		cmocka_unit_test(test_whole_records_or_none),
		cmocka_unit_test(test_record_utf8),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
