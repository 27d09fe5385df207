/* Owners from a fixture /proc tree: shared sockets, dup'ed fds, vanished
 * processes, non-socket fds, epoll watch lists. */
#include "unit.h"

#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "procfd.h"

static void add_sock(struct sock_list *l, uint64_t inode)
{
	struct sock s = { .inode = inode };
	assert_int_equal(sock_list_push(l, &s), 0);
}

static char *build_tree(void)
{
	char *root = fx_root();
	assert_non_null(root);
	/* pid 20: two sockets, one dup'ed; other kinds of fds */
	fx_file(root, "20/comm", "nginx\n");
	fx_file(root, "20/status", "Name: nginx\n");
	fx_file(root, "20/stat", "20 (nginx) S 1 20 20 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 4242 0 0\n");
	fx_link(root, "20/fd/0", "/dev/null");
	fx_link(root, "20/fd/3", "socket:[100]");
	fx_link(root, "20/fd/4", "pipe:[5]");
	fx_link(root, "20/fd/5", "socket:[200]");
	fx_link(root, "20/fd/9", "socket:[100]");
	fx_link(root, "20/fd/10", "socket:[999]");       /* not wanted */
	fx_link(root, "20/fd/11", "anon_inode:[eventpoll]");
	fx_link(root, "20/fd/12", "socket:[100");        /* malformed */
	/* pid 7: shares socket 100 (forked) */
	fx_file(root, "7/comm", "worker\n");
	fx_file(root, "7/status", "Name: worker\n");
	fx_link(root, "7/fd/6", "socket:[100]");
	fx_link(root, "7/fd/8", "anon_inode:[io_uring]"); /* may hold socket 100 too */
	/* pid 30: vanished (no fd directory), pid 31: fd dir but dangling */
	fx_file(root, "30/comm", "gone\n");
	fx_link(root, "31/fd/3", "socket:[300]");
	/* entries that are not processes */
	fx_file(root, "self/comm", "x\n");
	fx_file(root, "net/tcp", "x\n");
	fx_file(root, "0/comm", "x\n");
	return root;
}

static void test_scan(void **state)
{
	char *root = build_tree();
	struct sock_list socks = { 0 };
	struct owner_list own = { 0 };
	add_sock(&socks, 100);
	add_sock(&socks, 0); /* TIME_WAIT: no inode, never an owner */
	add_sock(&socks, 200);
	add_sock(&socks, 300);

	assert_int_equal(procfd_scan(root, &socks, &own), 0);
	/* the start time is kept to recognise the process later (0: no stat) */
	static const struct { int pid, fd; size_t sock; const char *comm; uint64_t start; } want[] = {
		{ 7, 6, 0, "worker", 0 }, { 20, 3, 0, "nginx", 4242 }, { 20, 5, 2, "nginx", 4242 },
		{ 20, 9, 0, "nginx", 4242 }, { 31, 3, 3, "", 0 },
	};
	assert_int_equal(own.n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < own.n; i++) {
		assert_int_equal(own.v[i].pid, want[i].pid);
		assert_int_equal(own.v[i].fd, want[i].fd);
		assert_int_equal(own.v[i].sock, want[i].sock);
		assert_string_equal(own.v[i].comm, want[i].comm);
		assert_int_equal(own.v[i].start_time, want[i].start);
		assert_int_equal(own.v[i].io_uring, want[i].pid == 7);
	}
	/* the scan notes epoll fds of owning processes, for plan */
	assert_int_equal(own.nep, 1);
	assert_int_equal(own.ep[0].pid, 20);
	assert_int_equal(own.ep[0].fd, 11);
	assert_true(procfd_fd_is(root, 20, 9, 100));
	assert_false(procfd_fd_is(root, 20, 9, 200));
	assert_false(procfd_fd_is(root, 20, 4, 5));
	assert_false(procfd_fd_is(root, 30, 3, 100));

	owner_list_free(&own);
	sock_list_free(&socks);
	fx_remove(root);
}

/* Peers' owners come from the same pass: a peer inode not among the
 * sockets is found, one that is among them lands in both lists. */
static void test_scan_peers(void **state)
{
	char *root = build_tree();
	struct sock_list socks = { 0 };
	struct owner_list own = { 0 };
	add_sock(&socks, 200);
	const uint64_t peers[] = { 100, 200, 0, 777 };

	assert_int_equal(procfd_scan_peers(root, &socks, peers, 4, &own), 0);
	assert_int_equal(own.n, 1);
	assert_int_equal(own.v[0].inode, 200);
	size_t first, n = procfd_peer_owners(&own, 100, &first);
	assert_int_equal(n, 3); /* 7/6, 20/3, 20/9 */
	assert_int_equal(own.peer[first].pid, 7);
	assert_string_equal(own.peer[first].comm, "worker");
	assert_int_equal(own.peer[first + 1].fd, 3);
	assert_int_equal(own.peer[first + 2].fd, 9);
	assert_int_equal(own.peer[first + 2].inode, 100);
	assert_int_equal(procfd_peer_owners(&own, 200, &first), 1);
	assert_int_equal(own.peer[first].fd, 5);
	assert_int_equal(procfd_peer_owners(&own, 777, &first), 0);
	assert_int_equal(procfd_peer_owners(&own, 0, &first), 0);
	owner_list_free(&own);
	sock_list_free(&socks);
	fx_remove(root);
}

static void test_scan_missing_root(void **state)
{
	struct sock_list socks = { 0 };
	struct owner_list own = { 0 };
	add_sock(&socks, 1);
	assert_int_equal(procfd_scan("/nonexistent-proc", &socks, &own), -ENOENT);
	sock_list_free(&socks);
}

/* Many sockets: the hash set must find every one (collisions, growth). */
static void test_scan_many(void **state)
{
	char *root = fx_root();
	struct sock_list socks = { 0 };
	struct owner_list own = { 0 };
	char rel[64], link[64];

	fx_file(root, "5/comm", "many\n");
	for (int i = 0; i < 3000; i++) {
		add_sock(&socks, 1000 + (uint64_t)i * 4096); /* same low bits */
		if (i % 3 == 0) {
			snprintf(rel, sizeof(rel), "5/fd/%d", i + 3);
			snprintf(link, sizeof(link), "socket:[%d]", 1000 + i * 4096);
			fx_link(root, rel, link);
		}
	}
	assert_int_equal(procfd_scan(root, &socks, &own), 0);
	assert_int_equal(own.n, 1000);
	for (size_t i = 0; i < own.n; i++)
		assert_int_equal(socks.v[own.v[i].sock].inode, 1000 + (uint64_t)(own.v[i].fd - 3) * 4096);
	owner_list_free(&own);
	sock_list_free(&socks);
	fx_remove(root);
}

static void test_epoll(void **state)
{
	char *root = build_tree();
	/* the kernel's format (fs/eventpoll.c ep_show_fdinfo) */
	fx_file(root, "20/fdinfo/11",
		"pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n"
		"tfd:        3 events:       19 data:                3  pos:0 ino:64 sdev:8\n"
		"tfd:        5 events:       19 data:                5  pos:0 ino:1 sdev:8\n");
	struct epoll_watches w = { 0 };
	static const int epfd[] = { 11 };
	assert_int_equal(procfd_epoll_watches(root, 20, epfd, 1, &w), 0);
	assert_int_equal(w.n, 2);
	assert_true(epoll_watches_has(&w, 3, 100));   /* ino 0x64 = 100 */
	assert_false(epoll_watches_has(&w, 5, 200));  /* same fd, other inode */
	assert_false(epoll_watches_has(&w, 9, 100));  /* same inode, fd not registered */
	assert_true(epoll_watches_has(&w, 5, 1));
	free(w.v);
	w = (struct epoll_watches){ 0 };
	assert_true(procfd_epoll_watches(root, 99, epfd, 1, &w) < 0); /* no such process */
	fx_remove(root);
	root = build_tree();
	/* what the replacement re-registers: events and data as the
	 * application set them, from each epoll fd it holds; a fired
	 * EPOLLONESHOT shows only flag bits (40000000); EPOLLET 80000000 */
	fx_file(root, "20/fdinfo/11",
		"pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n"
		"tfd:        3 events: 80000019 data:     7f12345678ab  pos:0 ino:64 sdev:8\n"
		"tfd:        9 events: 40000000 data:               2a  pos:0 ino:64 sdev:8\n"
		"tfd:        5 events       19 data:                5  pos:0 ino:1 sdev:8\n" /* malformed */
		"tfd:        5 events: 19 data: 5\n");                                          /* no inode */
	fx_file(root, "20/fdinfo/13", "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1058\n"
		"tfd:        3 events:        1 data:                3  pos:0 ino:64 sdev:8\n");
	static const int two[] = { 11, 13 };
	assert_int_equal(procfd_epoll_watches(root, 20, two, 2, &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.v[0].fd, 3);
	assert_int_equal(w.v[0].epfd, 11);
	assert_int_equal(w.v[0].events, 0x80000019u);
	assert_int_equal(w.v[0].data, 0x7f12345678abull);
	assert_int_equal(w.v[1].fd, 9);
	assert_int_equal(w.v[1].events, 0x40000000u);
	assert_int_equal(w.v[1].data, 0x2a);
	assert_int_equal(w.v[2].epfd, 13); /* the same fd in a second epoll set */
	assert_int_equal(w.v[2].events, 1);
	free(w.v);
	w = (struct epoll_watches){ 0 };
	assert_int_equal(procfd_epoll_watches(root, 7, epfd, 1, &w), 0); /* fd 11 not there: nothing */
	assert_int_equal(w.n, 0);
	fx_remove(root);
}

/* What the placeholder copies (the fd's open flags) and whether the
 * process has a free fd slot for it. */
static void test_fd_flags_and_headroom(void **state)
{
	char *root = build_tree();
	unsigned flags = 0;
	uint64_t nopen = 0, limit = 0;
	fx_file(root, "20/fdinfo/3", "pos:\t0\nflags:\t02004002\nmnt_id:\t8\nino:\t100\n");
	fx_file(root, "20/fdinfo/5", "pos:\t0\nmnt_id:\t8\n");
	assert_int_equal(procfd_fd_flags(root, 20, 3, &flags), 0);
	assert_int_equal(flags, 02004002); /* O_CLOEXEC | O_NONBLOCK | O_RDWR */
	assert_int_equal(procfd_fd_flags(root, 20, 5, &flags), -EIO);
	assert_true(procfd_fd_flags(root, 20, 77, &flags) < 0);
	fx_file(root, "20/limits", "Limit                     Soft Limit           Hard Limit           Units\n"
				   "Max open files            8                    4096                 files\n");
	assert_int_equal(procfd_fd_headroom(root, 20, &nopen, &limit), 0);
	assert_int_equal(nopen, 8); /* 0 3 4 5 9 10 11 12 */
	assert_int_equal(limit, 8);
	fx_file(root, "7/limits", "Max open files            unlimited            unlimited            files\n");
	assert_int_equal(procfd_fd_headroom(root, 7, &nopen, &limit), 0);
	assert_int_equal(limit, UINT64_MAX);
	fx_remove(root);
}

/* pthread_exit() in main: the leader is a zombie whose fd directory is
 * empty; its live thread (task/41) holds the fds. */
static void test_zombie_leader(void **state)
{
	char *root = fx_root();
	struct sock_list socks = { 0 };
	struct owner_list own = { 0 };
	add_sock(&socks, 400);
	fx_file(root, "40/comm", "zleader\n");
	fx_file(root, "40/status", "Name:\tzleader\nState:\tZ (zombie)\nThreads:\t2\n");
	char path[512];
	fx_path(root, "40/fd/x", path, sizeof(path)); /* creates 40/fd, empty */
	fx_path(root, "40/task/40/fd/x", path, sizeof(path));
	fx_link(root, "40/task/41/fd/7", "socket:[400]");
	/* an empty fd table of a live process is just that */
	fx_file(root, "42/comm", "empty\n");
	fx_file(root, "42/status", "Name:\tempty\nState:\tS (sleeping)\n");
	fx_path(root, "42/fd/x", path, sizeof(path));
	fx_link(root, "42/task/43/fd/7", "socket:[400]");

	assert_int_equal(procfd_scan(root, &socks, &own), 0);
	assert_int_equal(own.n, 1);
	assert_int_equal(own.v[0].pid, 40);
	assert_int_equal(own.v[0].fd, 7);
	assert_string_equal(own.v[0].comm, "zleader");
	assert_int_equal(procfd_fd_check(root, 40, 7, 400), 1);
	assert_int_equal(procfd_fd_check(root, 40, 8, 400), -ENOENT);
	assert_int_equal(own.nhidden, 0);
	owner_list_free(&own);
	sock_list_free(&socks);
	fx_remove(root);
}

/* Without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH an fd directory we may
 * not read is counted, never silently skipped. In a child that drops the
 * two capabilities (root otherwise reads everything). */
struct cap_hdr { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

static void test_hidden_counted(void **state)
{
	if (geteuid() != 0)
		skip();
	char *root = build_tree();
	fx_file(root, "50/comm", "secret\n");
	fx_link(root, "50/fd/3", "socket:[100]");
	char path[512];
	snprintf(path, sizeof(path), "%s/50/fd", root);
	assert_int_equal(chmod(path, 0), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct cap_hdr h = { 0x20080522, 0 }; /* _LINUX_CAPABILITY_VERSION_3 */
		struct cap_data d[2];
		if (syscall(SYS_capget, &h, d) < 0)
			_exit(10);
		d[0].effective &= ~(1u << 1 | 1u << 2); /* DAC_OVERRIDE, DAC_READ_SEARCH */
		if (syscall(SYS_capset, &h, d) < 0)
			_exit(11);
		struct sock_list socks = { 0 };
		struct owner_list own = { 0 };
		add_sock(&socks, 100);
		if (procfd_scan(root, &socks, &own) < 0)
			_exit(12);
		if (own.nhidden != 1 || own.hidden[0].pid != 50 || !own.hidden[0].dir ||
		    strcmp(own.hidden[0].comm, "secret") != 0)
			_exit(13);
		for (size_t i = 0; i < own.n; i++)
			if (own.v[i].pid == 50)
				_exit(14);
		int code = own.n == 3 ? 0 : 15; /* 20/3, 20/9 and 7/6 still found */
		owner_list_free(&own);
		sock_list_free(&socks);
		free(root);
		_exit(code);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	chmod(path, 0755);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fx_remove(root);
}

static void test_epoll_parser(void **state)
{
	struct epoll_watches w = { 0 };
	assert_int_equal(procfd_parse_epoll_fdinfo("pos:\t0\ntfd: 9 events: 19 data: 9 pos:0 ino:ff sdev:8", 3, &w), 0);
	assert_int_equal(w.n, 1);
	assert_true(epoll_watches_has(&w, 9, 255));
	assert_int_equal(procfd_parse_epoll_fdinfo("tfd: x\ntfd: 4 no inode\n\n", 3, &w), 0);
	assert_int_equal(w.n, 1);
	free(w.v);
	assert_int_equal(procfd_socket_inode("socket:[42]"), 42);
	assert_int_equal(procfd_socket_inode("socket:[42"), 0);
	assert_int_equal(procfd_socket_inode("pipe:[42]"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan), cmocka_unit_test(test_scan_missing_root),
		cmocka_unit_test(test_fd_flags_and_headroom),
		cmocka_unit_test(test_scan_peers),
		cmocka_unit_test(test_scan_many), cmocka_unit_test(test_epoll),
		cmocka_unit_test(test_zombie_leader), cmocka_unit_test(test_hidden_counted),
		cmocka_unit_test(test_epoll_parser),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
