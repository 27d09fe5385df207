/* act against the fake tracee (fake_tracee.h) and a /proc fixture tree:
 * the calls each method injects, with their arguments and in their
 * order; the check that keeps a reused fd untouched (its cookie, read in
 * the target before each row), at every batch; batches that stop at the
 * stall budget and carry their rows over; what happens when a call fails,
 * the target has no free fd slot or dies midway; and the part done from
 * outside on a pidfd duplicate. act reaches the world only through struct act_ops, and the
 * pid is above PID_MAX_LIMIT (4194304): were anything to get past the
 * seam, it would meet no process. */
#include "unit.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "act.h"
#include "fake_tracee.h"
#include "fixture.h"
#include "placeholder.h"
#include "util.h"

#define PID 4194400
#define START_TIME 987654
#define NROWS_MAX 512
#define COOKIE(ino) ((ino) ^ 0xc00c1e0000ull)
#define O_FLAGS_NB_CE 02004002 /* O_RDWR | O_NONBLOCK | O_CLOEXEC, as fdinfo shows them */

static char *root;
static struct plan plan;
static struct options opts;
static struct audit audit;
static char *argv0[] = { "sockreap", NULL };
static struct act_ops ops;

/* ---- the fixture /proc: <root>/<PID>/fd, fdinfo, limits ---- */

/* <root>/<PID>/name */
static void pid_file(const char *name, const char *text)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "%d/%s", PID, name);
	fx_file(root, rel, text);
}

/* fd now links to socket:[ino] (0: it is closed). */
static void link_fd(int fd, uint64_t ino)
{
	char rel[64], path[512], target[64];
	snprintf(rel, sizeof(rel), "%d/fd/%d", PID, fd);
	fx_path(root, rel, path, sizeof(path));
	unlink(path);
	if (ino) {
		snprintf(target, sizeof(target), "socket:[%llu]", (unsigned long long)ino);
		assert_int_equal(symlink(target, path), 0);
	}
}

static uint64_t linked_inode(int fd)
{
	char path[512], link[64];
	snprintf(path, sizeof(path), "%s/%d/fd/%d", root, PID, fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	return procfd_socket_inode(link);
}

static void set_nofile(unsigned limit)
{
	char text[256];
	snprintf(text, sizeof(text), "Limit                     Soft Limit           Hard Limit           Units\n"
				     "Max open files            %u                 %u                 files     \n", limit,
		 limit);
	pid_file("limits", text);
}

/* A TCP (or, with type SOCK_DGRAM, UDP) socket of family fam on fd with
 * open flags, and its planned row. Its inode: ino; its cookie: COOKIE(ino). */
static size_t add_sock_fd(int fd, uint64_t ino, int fam, int type, unsigned flags)
{
	uint8_t proto = fam == AF_UNIX ? 0 : type == SOCK_DGRAM ? IPPROTO_UDP : IPPROTO_TCP;
	struct sock s = { .proto = proto, .family = (uint8_t)fam, .type = (uint8_t)type, .state = SK_CLOSE_WAIT,
			  .inode = ino, .cookie = COOKIE(ino) };
	char name[32], info[128];
	link_fd(fd, ino);
	snprintf(name, sizeof(name), "fdinfo/%d", fd);
	snprintf(info, sizeof(info), "pos:\t0\nflags:\t0%o\nmnt_id:\t8\nino:\t%llu\n", flags, (unsigned long long)ino);
	pid_file(name, info);
	assert_int_equal(sock_list_push(&plan.socks, &s), 0);
	assert_int_equal(GROW(plan.owners.v, plan.owners.cap, plan.owners.n), 0);
	plan.owners.v[plan.owners.n] = (struct owner){ .pid = PID, .fd = fd, .inode = ino, .comm = "app",
							 .sock = plan.socks.n - 1, .start_time = START_TIME };
	F.start_time = START_TIME; /* the fake process is the one found */
	assert_int_equal(GROW(plan.rows, plan.cap, plan.n), 0);
	plan.rows[plan.n] = (struct row){ .sock = plan.socks.n - 1, .owner = (ssize_t)plan.owners.n, .nowners = 1,
					  .via = -1, .result = RES_PLANNED, .stall_ms = -1, .backtrace_fd = -1 };
	plan.owners.n++;
	return plan.n++;
}

static size_t add_fd(int fd, uint64_t ino)
{
	return add_sock_fd(fd, ino, AF_INET, SOCK_STREAM, O_FLAGS_NB_CE);
}

/* An epoll instance on epfd whose fdinfo lists lines ("tfd: ... ino:"). */
static void add_epoll(int epfd, const char *lines)
{
	char rel[64], path[512], info[1024];
	snprintf(rel, sizeof(rel), "%d/fd/%d", PID, epfd);
	fx_path(root, rel, path, sizeof(path));
	assert_int_equal(symlink("anon_inode:[eventpoll]", path), 0);
	snprintf(rel, sizeof(rel), "fdinfo/%d", epfd);
	snprintf(info, sizeof(info), "pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\n%s", lines);
	pid_file(rel, info);
	assert_int_equal(GROW(plan.owners.ep, plan.owners.capep, plan.owners.nep), 0);
	plan.owners.ep[plan.owners.nep++] = (struct epoll_fd){ PID, epfd };
}

/* ---- the pidfd part: shutdown on a duplicate ---- */

static struct {
	int shut_err;               /* what shutdown returns instead */
	int nshut, shut_fd, shut_how;
	uint64_t shut_cookie;
} P;

static int fk_shutdown(pid_t pid, int fd, uint64_t cookie, int how)
{
	assert_int_equal(pid, PID);
	P.nshut++;
	P.shut_fd = fd;
	P.shut_how = how;
	P.shut_cookie = cookie;
	return P.shut_err;
}

/* ---- the target's calls ---- */

static bool is_check(const struct fake_call *c)
{
	return c->sys == ASYS_GETSOCKOPT && c->a[1] == SOL_SOCKET && c->a[2] == SO_COOKIE;
}

static void *mem_at(uint64_t addr, size_t len)
{
	assert_true(addr >= F.mem_addr && addr + len <= F.mem_addr + sizeof(F.mem));
	return F.mem + (addr - F.mem_addr);
}

/* getsockopt(fd, SOL_SOCKET, SO_COOKIE): the cookie of the socket the fd
 * links to now in the fixture */
static long on_call(struct fake_call *c)
{
	if (is_check(c)) {
		uint64_t ino = linked_inode((int)c->a[0]), cookie = COOKIE(ino);
		if (!ino)
			return -EBADF;
		memcpy(mem_at(c->a[3], sizeof(cookie)), &cookie, sizeof(cookie));
		return 0;
	}
	return fake_result(c);
}

static int setup(void **state)
{
	memset(&F, 0, sizeof(F));
	memset(&P, 0, sizeof(P));
	F.nth = 2;
	F.maps = "00400000-00401000 r-xp 00000000 08:01 1 /bin/app\n"
		 "00007000-00009000 r-xp 00000000 00:00 0 [vdso]\n";
	for (int i = 0; i < F.nth; i++) {
		F.tid[i] = PID + i;
		F.regs[i].r.cs = 0x33;
		F.regs[i].r.rip = 0x401000 + (uint64_t)i;
		F.regs[i].r.orig_rax = (uint64_t)-1;
		F.mask[i] = 0x4000 + (uint64_t)i;
	}
	F.mem_addr = 0x10000;
	F.next_fd = 1000;
	F.on_call = on_call;
	root = fx_root();
	set_nofile(1024);
	plan = (struct plan){ 0 };
	opts = (struct options){ .method = METHOD_CLOSE, .how = SHUT_RDWR, .yes = true, .argc = 1, .argv = argv0 };
	char log[512];
	snprintf(log, sizeof(log), "%s/audit.log", root);
	assert_int_equal(audit_open(&audit, log, &opts), 0);
	if (audit.syslog)
		closelog(); /* unit tests leave the system log alone */
	audit.syslog = false;
	ops = (struct act_ops){ .tracee = &fake, .proc_root = root, .shutdown = fk_shutdown };
	act_interrupted = 0;
	return 0;
}

static int teardown(void **state)
{
	audit_close(&audit);
	plan_free(&plan);
	fx_remove(root);
	return 0;
}

/* The program's calls, without the engine's own (the scratch mapping) and
 * without the checks, which go to K: each row's check must come right
 * before its first call (kfirst: the index in C of the call after it). */
static const struct fake_call *C[FAKE_CALLS], *K[FAKE_CALLS];
static size_t nC, nK, kfirst[FAKE_CALLS];

static void collect(void)
{
	nC = nK = 0;
	assert_true(F.ncalls <= FAKE_CALLS);
	for (int i = 0; i < F.ncalls; i++) {
		if (F.call[i].sys == ASYS_MMAP || F.call[i].sys == ASYS_MADVISE || F.call[i].sys == ASYS_MUNMAP)
			continue;
		if (is_check(&F.call[i])) {
			kfirst[nK] = nC;
			K[nK++] = &F.call[i];
		} else
			C[nC++] = &F.call[i];
	}
}

/* Check k is getsockopt(fd, SOL_SOCKET, SO_COOKIE) into 8 aligned bytes
 * (the executor compares them as one word). */
static void expect_cookie_check(size_t k, int fd)
{
	if (k >= nK)
		fail_msg("check %zu missing (%zu checks)", k, nK);
	assert_int_equal(K[k]->a[0], (uint64_t)fd);
	assert_int_equal(K[k]->a[3] % 8, 0);
}

/* Call k of the program is sys on a0 (and a1, a2 unless ANY). */
#define ANY UINT64_MAX
static const struct fake_call *expect(size_t k, enum arch_sys sys, uint64_t a0, uint64_t a1, uint64_t a2)
{
	if (k >= nC)
		fail_msg("call %zu missing (%zu calls)", k, nC);
	const struct fake_call *c = C[k];
	if (c->sys != sys)
		fail_msg("call %zu is system call %ld, not %ld", k, c->nr, arch_sysno(&F.regs[0], sys));
	assert_int_equal(c->a[0], a0);
	if (a1 != ANY)
		assert_int_equal(c->a[1], a1);
	if (a2 != ANY)
		assert_int_equal(c->a[2], a2);
	return c;
}

/* epoll_ctl(epfd, ADD, fd, {events, data}) */
static void expect_add(size_t k, int epfd, int fd, uint32_t events, uint64_t data)
{
	const struct fake_call *c = expect(k, ASYS_EPOLL_CTL, (uint64_t)epfd, EPOLL_CTL_ADD, (uint64_t)fd);
	struct epoll_event ev;
	memcpy(&ev, mem_at(c->a[3], sizeof(ev)), sizeof(ev));
	assert_int_equal(ev.events, events);
	assert_int_equal(ev.data.u64, data);
}

static void expect_mark(size_t k, uint64_t fd)
{
	const struct fake_call *c = expect(k, ASYS_SETSOCKOPT, fd, SOL_SOCKET, SO_RCVLOWAT);
	int v;
	assert_int_equal(c->a[4], sizeof(v));
	memcpy(&v, mem_at(c->a[3], sizeof(v)), sizeof(v));
	assert_int_equal(v, PLACEHOLDER_MARK);
}

static bool any_call_on(int fd)
{
	for (size_t k = 0; k < nC; k++)
		if ((C[k]->sys == ASYS_EPOLL_CTL ? C[k]->a[2] : C[k]->sys == ASYS_DUP3 ? C[k]->a[1] : C[k]->a[0]) ==
		    (uint64_t)fd)
			return true;
	return false;
}

static struct arch_regs regs_before[NTH_MAX];
static uint64_t mask_before[NTH_MAX];

static int run(void)
{
	memcpy(regs_before, F.regs, sizeof(regs_before));
	memcpy(mask_before, F.mask, sizeof(mask_before));
	int r = act_run(&plan, &opts, &audit, &ops);
	collect();
	return r;
}

/* Every thread detached once, from a stop inside signal delivery, with
 * its registers and signal mask exactly as before; nothing mapped left. */
static void assert_released(void)
{
	for (int i = 0; i < F.nth; i++) {
		assert_int_equal(F.detached[i], 1);
		assert_int_equal(F.detach_stop[i], F_SIGNAL_PATH);
		assert_memory_equal(&F.regs[i], &regs_before[i], sizeof(regs_before[i]));
		assert_int_equal(F.mask[i], mask_before[i]);
	}
	assert_int_equal(F.mapped_len, 0);
}

static void assert_row(size_t i, enum result res, const char *reason_has)
{
	const struct row *rw = &plan.rows[i];
	if (rw->result != res)
		fail_msg("row %zu (fd %d): result %s, not %s (%s)", i, plan.owners.v[rw->owner].fd,
			 result_name(rw->result), result_name(res), rw->reason ? rw->reason : "no reason");
	assert_true(rw->acted);
	if (reason_has) {
		assert_non_null(rw->reason);
		if (!strstr(rw->reason, reason_has))
			fail_msg("row %zu: reason '%s' lacks '%s'", i, rw->reason, reason_has);
	}
}

static size_t log_count(const char *phase)
{
	char path[512], needle[64], buf[65536];
	snprintf(path, sizeof(path), "%s/audit.log", root);
	snprintf(needle, sizeof(needle), "\"phase\":\"%s\"", phase);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	size_t k = 0;
	for (const char *p = buf; (p = strstr(p, needle)); p++)
		k++;
	return k;
}

/* ---- the tests ---- */

static size_t intents_at_first_call;

static long note_intents(struct fake_call *c)
{
	if (F.ncalls == 0)
		intents_at_first_call = log_count("intent");
	return on_call(c);
}

/* The default close: the placeholder socket of the fd's family and type
 * with its O_NONBLOCK and O_CLOEXEC, shut down, marked, every epoll
 * registration of the fd deleted, dup3 onto the fd's number, the
 * registrations added again with their events and data, the temporary fd
 * closed. Intents reach the log before the first call; results after. */
static void test_close_sequence(void **state)
{
	size_t row = add_fd(7, 5007);
	add_epoll(4, "tfd:        7 events:       19 data:     7f0000000007  pos:0 ino:138f sdev:8\n"
		     "tfd:        9 events:       19 data:                9  pos:0 ino:2000 sdev:8\n");
	add_epoll(5, "tfd:        7 events: 80000011 data:         deadbeef  pos:0 ino:138f sdev:8\n");
	F.on_call = note_intents;
	assert_int_equal(run(), 0);
	assert_int_equal(intents_at_first_call, 1);
	assert_int_equal(log_count("result"), 1);
	assert_int_equal(log_count("verify"), 0); /* main writes them, after verify */

	/* the check first, then the row's calls */
	assert_int_equal(nK, 1);
	expect_cookie_check(0, 7);
	assert_int_equal(kfirst[0], 0);
	assert_true(K[0] < C[0]);
	expect(0, ASYS_SOCKET, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	uint64_t ph = (uint64_t)C[0]->ret;
	expect(1, ASYS_SHUTDOWN, ph, SHUT_RDWR, ANY);
	expect_mark(2, ph);
	expect(3, ASYS_EPOLL_CTL, 4, EPOLL_CTL_DEL, 7);
	expect(4, ASYS_EPOLL_CTL, 5, EPOLL_CTL_DEL, 7);
	expect(5, ASYS_DUP3, ph, 7, O_CLOEXEC);
	expect_add(6, 4, 7, 0x19, 0x7f0000000007ull);
	expect_add(7, 5, 7, 0x80000011u, 0xdeadbeefull);
	expect(8, ASYS_CLOSE, ph, ANY, ANY);
	assert_int_equal(nC, 9);
	assert_row(row, RES_DONE, NULL);
	assert_null(plan.rows[row].note);
	assert_true(plan.rows[row].stall_ms >= 0);
	assert_int_equal(F.nseize, F.nth); /* one attach */
	assert_released();
}

/* An owner whose start time the scan could not read: a process that took
 * its pid since could not be told apart, so nothing is done to it (the
 * check would otherwise be skipped: fail open). */
static void test_start_time_unknown_untouched(void **state)
{
	size_t row = add_fd(7, 5007);
	plan.owners.v[plan.rows[row].owner].start_time = 0;
	run();
	assert_int_equal(plan.rows[row].result, RES_SKIPPED);
	assert_non_null(strstr(plan.rows[row].reason, "start time"));
	assert_int_equal(F.nseize, 0);
	assert_int_equal(nC, 0);
}

/* A blocking fd without close-on-exec gets a blocking placeholder and a
 * dup3 without O_CLOEXEC; UDP over IPv6 gets an AF_INET6 datagram one. */
static void test_placeholder_follows_the_fd(void **state)
{
	add_sock_fd(7, 5007, AF_INET6, SOCK_DGRAM, 02 /* O_RDWR */);
	assert_int_equal(run(), 0);
	expect(0, ASYS_SOCKET, AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	expect(3, ASYS_DUP3, (uint64_t)C[0]->ret, 7, 0);
	assert_row(0, RES_DONE, NULL);
	assert_released();
}

/* A unix stream socket: one end of a socketpair (its fds come back in the
 * target's memory), the other end closed, no shutdown of its own. */
static void test_unix_pair_placeholder(void **state)
{
	add_sock_fd(7, 5007, AF_UNIX, SOCK_STREAM, O_FLAGS_NB_CE);
	assert_int_equal(run(), 0);
	expect(0, ASYS_SOCKETPAIR, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int32_t fds[2];
	memcpy(fds, mem_at(C[0]->a[3], sizeof(fds)), sizeof(fds));
	assert_int_not_equal(fds[0], fds[1]);
	expect(1, ASYS_CLOSE, (uint64_t)fds[1], ANY, ANY);
	expect_mark(2, (uint64_t)fds[0]);
	expect(3, ASYS_DUP3, (uint64_t)fds[0], 7, O_CLOEXEC);
	expect(4, ASYS_CLOSE, (uint64_t)fds[0], ANY, ANY);
	assert_int_equal(nC, 5);
	assert_row(0, RES_DONE, NULL);
	assert_released();
}

/* A disarmed EPOLLONESHOT registration (only flag bits left) is deleted
 * and not re-added: a worker holds it; an armed one comes back as it was. */
static void test_oneshot_disarmed_not_readded(void **state)
{
	add_fd(7, 5007);
	add_epoll(4, "tfd:        7 events: 40000000 data:               11  pos:0 ino:138f sdev:8\n");
	add_epoll(5, "tfd:        7 events: 40000001 data:               22  pos:0 ino:138f sdev:8\n");
	assert_int_equal(run(), 0);
	expect(3, ASYS_EPOLL_CTL, 4, EPOLL_CTL_DEL, 7);
	expect(4, ASYS_EPOLL_CTL, 5, EPOLL_CTL_DEL, 7);
	expect(5, ASYS_DUP3, (uint64_t)C[0]->ret, 7, O_CLOEXEC);
	expect_add(6, 5, 7, 0x40000001u, 0x22); /* fdinfo prints data in hex */
	expect(7, ASYS_CLOSE, (uint64_t)C[0]->ret, ANY, ANY);
	assert_int_equal(nC, 8);
	assert_row(0, RES_DONE, NULL);
}

static const struct linger app_linger = { .l_onoff = 1, .l_linger = 30 };

static long dup3_fails(struct fake_call *c)
{
	if (c->sys == ASYS_GETSOCKOPT && c->a[2] == SO_LINGER) { /* the application's own SO_LINGER */
		memcpy((void *)mem_at(c->a[3], sizeof(app_linger)), &app_linger, sizeof(app_linger));
		return 0;
	}
	return c->sys == ASYS_DUP3 ? -EMFILE : on_call(c);
}

/* --reset, and dup3 fails: SO_LINGER goes back to the application's value,
 * the registrations are added back for the old socket, the placeholder is
 * closed; the row failed with the reason and errno. */
static void test_dup3_fails_puts_back(void **state)
{
	opts.method = METHOD_RESET;
	add_fd(7, 5007);
	add_epoll(4, "tfd:        7 events:       19 data:               77  pos:0 ino:138f sdev:8\n");
	F.on_call = dup3_fails;
	assert_int_equal(run(), 0);
	uint64_t ph = (uint64_t)C[0]->ret;
	expect(0, ASYS_SOCKET, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	expect(1, ASYS_SHUTDOWN, ph, SHUT_RDWR, ANY);
	expect_mark(2, ph);
	const struct fake_call *g = expect(3, ASYS_GETSOCKOPT, 7, SOL_SOCKET, SO_LINGER);
	const struct fake_call *l = expect(4, ASYS_SETSOCKOPT, 7, SOL_SOCKET, SO_LINGER);
	struct linger v;
	memcpy(&v, mem_at(l->a[3], sizeof(v)), sizeof(v));
	assert_true(v.l_onoff == 1 && v.l_linger == 0);
	expect(5, ASYS_EPOLL_CTL, 4, EPOLL_CTL_DEL, 7);
	expect(6, ASYS_DUP3, ph, 7, O_CLOEXEC);
	const struct fake_call *back = expect(7, ASYS_SETSOCKOPT, 7, SOL_SOCKET, SO_LINGER);
	assert_int_equal(back->a[3], g->a[3]); /* the value getsockopt read */
	memcpy(&v, mem_at(back->a[3], sizeof(v)), sizeof(v));
	assert_true(v.l_onoff == 1 && v.l_linger == 30);
	expect_add(8, 4, 7, 0x19, 0x77);
	expect(9, ASYS_CLOSE, ph, ANY, ANY);
	assert_int_equal(nC, 10);
	assert_row(0, RES_FAILED, "dup3() of the placeholder failed");
	assert_int_equal(plan.rows[0].err, EMFILE);
	assert_released();
}

/* No free fd slot (open fds at RLIMIT_NOFILE): the fd is closed first and
 * the placeholder lands on its number (dup3 onto itself fails EINVAL,
 * which means it is in place); the temporary fd is not closed after. */
static void test_no_free_slot_closes_first(void **state)
{
	add_fd(7, 5007);
	link_fd(8, 5008); /* not acted on */
	add_epoll(4, "tfd:        7 events:       19 data:                7  pos:0 ino:138f sdev:8\n");
	set_nofile(3); /* 7, 8 and the epoll fd */
	F.next_fd = 7; /* the lowest free number once 7 is closed */
	assert_int_equal(run(), 0);
	expect(0, ASYS_EPOLL_CTL, 4, EPOLL_CTL_DEL, 7);
	expect(1, ASYS_CLOSE, 7, ANY, ANY);
	expect(2, ASYS_SOCKET, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(C[2]->ret, 7);
	expect(3, ASYS_SHUTDOWN, 7, SHUT_RDWR, ANY);
	expect_mark(4, 7);
	expect(5, ASYS_DUP3, 7, 7, O_CLOEXEC);
	assert_int_equal(C[5]->ret, -EINVAL);
	expect_add(6, 4, 7, 0x19, 7);
	assert_int_equal(nC, 7);
	assert_row(0, RES_DONE, NULL);
	assert_released();
}

/* ---- batches ---- */

static int reuse_fd;
static bool reused;

/* At the first restop (the target ran since the last batch), the
 * application has closed the fd and got another socket on its number. */
static void reuse_between_batches(void)
{
	if (!reused) {
		link_fd(reuse_fd, 99999);
		reused = true;
	}
}

/* Many rows go in several stops, every thread running in between; an fd
 * reused while the target ran is skipped by its check, which runs in the
 * target right before the row, and nothing else is called on it. */
static void test_batches_recheck(void **state)
{
	const int n = 300, first = 10;
	for (int k = 0; k < n; k++)
		add_fd(first + k, 6000 + (uint64_t)k);
	reuse_fd = first + n - 1; /* in the last batch, whatever the batch sizes */
	reused = false;
	F.between_batches = reuse_between_batches;
	assert_int_equal(run(), 0);
	assert_true(F.nrestop >= 1);
	assert_true(reused);
	assert_int_equal(F.npause, F.nrestop);
	for (int k = 0; k < n - 1; k++) {
		assert_row((size_t)k, RES_DONE, NULL);
		assert_true(any_call_on(first + k));
	}
	assert_row((size_t)n - 1, RES_SKIPPED, "fd reused");
	assert_false(any_call_on(reuse_fd));
	assert_int_equal(nC, (size_t)(n - 1) * 5); /* socket, shutdown, mark, dup3, close */
	assert_int_equal(nK, (size_t)n);            /* one check per row, the reused one too */
	for (size_t k = 0; k < nK; k++)
		expect_cookie_check(k, first + (int)k);
	assert_int_equal(F.nseize, F.nth);
	assert_released();
}

/* Each call takes 250 us: a row (check and five calls) outlasts the stop's
 * budget (1.5 ms from the first interrupt, less a reserve), so every
 * batch stops after its first row or two, with the rest carried over to
 * the next stop: every row done, each exactly once, in order. */
static long slow_call(struct fake_call *c)
{
	if (c->sys != ASYS_MMAP && c->sys != ASYS_MADVISE && c->sys != ASYS_MUNMAP)
		nanosleep(&(struct timespec){ 0, 250 * 1000 }, NULL);
	return on_call(c);
}

static void test_batch_stops_at_the_budget(void **state)
{
	const int n = 10, first = 10;
	for (int k = 0; k < n; k++)
		add_fd(first + k, 6000 + (uint64_t)k);
	F.on_call = slow_call;
	assert_int_equal(run(), 0);
	/* at most two rows per stop (the first always runs) */
	assert_true(F.nrestop >= n / 2 - 1);
	assert_int_equal(nK, (size_t)n);
	for (int k = 0; k < n; k++) {
		assert_row((size_t)k, RES_DONE, NULL);
		expect_cookie_check((size_t)k, first + k);
		expect(kfirst[k] + 3, ASYS_DUP3, (uint64_t)C[kfirst[k]]->ret, (uint64_t)(first + k), O_CLOEXEC);
	}
	assert_int_equal(nC, (size_t)n * 5);
	assert_released();
}

/* Stopping every thread took most of the first stop's budget (many
 * threads): that stop only attaches; no call is injected in it. */
static void test_slow_attach_stop_does_nothing_more(void **state)
{
	const int n = 20, first = 10;
	for (int k = 0; k < n; k++)
		add_fd(first + k, 6000 + (uint64_t)k);
	F.slow_first_stop_ns = 1300 * 1000;
	assert_int_equal(run(), 0);
	/* a stop that ended before anything was injected, the rows after */
	assert_true(F.npause >= 1);
	assert_int_equal(F.calls_at_pause[0], 0);
	assert_true(F.ncalls > 0);
	for (int k = 0; k < n; k++)
		assert_row((size_t)k, RES_DONE, NULL);
	assert_int_equal(nK, (size_t)n);
	assert_released();
}

/* --single-stop: no budget, one stop for every row however long. */
static void test_single_stop_has_no_budget(void **state)
{
	const int n = 10, first = 10;
	for (int k = 0; k < n; k++)
		add_fd(first + k, 6000 + (uint64_t)k);
	F.on_call = slow_call;
	opts.single_stop = true;
	assert_int_equal(run(), 0);
	assert_int_equal(F.nrestop, 0);
	for (int k = 0; k < n; k++)
		assert_row((size_t)k, RES_DONE, NULL);
	assert_released();
}

/* An fd already reused when act looks: its check fails in the target,
 * the row is skipped as reused and nothing else is called; an fd closed
 * meanwhile is skipped as closed. */
static void test_reused_before_the_stop(void **state)
{
	add_fd(7, 5007);
	add_fd(8, 5008);
	link_fd(7, 5999);
	link_fd(8, 0);
	assert_int_equal(run(), 0);
	assert_row(0, RES_SKIPPED, "fd reused");
	assert_row(1, RES_SKIPPED, "closed meanwhile");
	assert_int_equal(nK, 2);
	assert_int_equal(nC, 0);
	assert_released();
}

/* --free-fd: a thread blocked in read() on the fd would fail with EBADF
 * (or read a reused number) when it resumes: that fd is skipped, naming
 * the call; another fd of the process is closed. */
static void test_free_fd_busy_read(void **state)
{
	opts.method = METHOD_FREE_FD;
	add_fd(7, 5007);
	add_fd(8, 5008);
	F.regs[1].r.orig_rax = 0; /* read */
	F.regs[1].r.rax = (uint64_t)-512; /* -ERESTARTSYS */
	F.regs[1].r.rdi = 7;
	assert_int_equal(run(), 0);
	assert_row(0, RES_SKIPPED, "blocked in read()");
	assert_row(1, RES_DONE, NULL);
	expect(0, ASYS_CLOSE, 8, ANY, ANY);
	assert_int_equal(nC, 1);
	assert_released();
}

/* ---- the target dies ---- */

static int kill_at_socket;

static long kill_in_call(struct fake_call *c)
{
	if (c->sys == ASYS_SOCKET && --kill_at_socket == 0)
		fake_kill();
	return on_call(c);
}

static void assert_dead_and_untouched(int nsocket_calls)
{
	int sockets = 0;
	for (size_t k = 0; k < nC; k++)
		sockets += C[k]->sys == ASYS_SOCKET;
	assert_int_equal(sockets, nsocket_calls); /* nothing after the death */
	assert_int_equal(F.nseize, F.nth);        /* never attached again */
	for (int i = 0; i < F.nth; i++)
		assert_int_equal(F.detached[i], 0); /* a dead thread is not detached */
}

/* Killed in the middle of the program: the rows before are done, the one
 * in hand and the rest skipped (their fds went with the process), none
 * failed; no call after the death. */
static void test_target_killed_midway(void **state)
{
	for (int k = 0; k < 5; k++)
		add_fd(10 + k, 6000 + (uint64_t)k);
	kill_at_socket = 3;
	F.on_call = kill_in_call;
	assert_int_equal(run(), 0);
	assert_row(0, RES_DONE, NULL);
	assert_row(1, RES_DONE, NULL);
	for (size_t k = 2; k < 5; k++) {
		assert_row(k, RES_SKIPPED, "exited");
		assert_int_equal(plan.rows[k].err, 0);
	}
	assert_dead_and_untouched(3);
}

static int kill_at_close;

static long kill_at_a_close(struct fake_call *c)
{
	long r = on_call(c);
	if (c->sys == ASYS_CLOSE && --kill_at_close == 0)
		fake_kill();
	return r;
}

/* Killed in the last call of a row (the 32nd row's close ends the first
 * batch when the budget does not cut it): that row and every row after it
 * are skipped with the reason, none left planned. (Call by call, the death
 * shows in the call itself; the executor's path, where the target can die
 * after its batch's last call, with rows of later batches still to do, is
 * t_inject_edge's test_edge_target_exits_midway.) */
static void test_target_killed_after_a_batch(void **state)
{
	static const int at[] = { 32, 1, 31, 33, 64 };
	const int n = 100;
	for (size_t a = 0; a < ARRAY_SIZE(at); a++) {
		if (a) {
			teardown(state);
			setup(state);
		}
		for (int k = 0; k < n; k++)
			add_fd(10 + k, 6000 + (uint64_t)k);
		kill_at_close = at[a];
		F.on_call = kill_at_a_close;
		assert_int_equal(run(), 0);
		for (int k = 0; k < n; k++) {
			if (k < at[a] - 1) { /* the row in hand when it died is skipped too */
				assert_row((size_t)k, RES_DONE, NULL);
				continue;
			}
			assert_row((size_t)k, RES_SKIPPED, NULL);
			assert_int_equal(plan.rows[k].err, 0);
		}
	}
}

/* The rows of the first batch done, in order; every later one (fds from
 * first_fd on) skipped with err 0, a reason containing why, and no call
 * on its fd. Returns how many were done. */
static size_t first_batch_only(int n, int first_fd, const char *why)
{
	size_t done = 0;
	for (int k = 0; k < n; k++) {
		const struct row *rw = &plan.rows[k];
		if (rw->result == RES_DONE) {
			assert_int_equal(done, (size_t)k);
			done++;
			continue;
		}
		assert_row((size_t)k, RES_SKIPPED, why);
		assert_int_equal(rw->err, 0);
		assert_false(any_call_on(first_fd + k));
	}
	assert_true(done > 0 && done < (size_t)n);
	return done;
}

static void kill_between_batches(void)
{
	if (F.nrestop == 1)
		fake_kill();
}

/* Killed while it ran between batches: the rows of the later batches are
 * skipped, not failed. */
static void test_target_killed_between_batches(void **state)
{
	const int n = 300;
	for (int k = 0; k < n; k++)
		add_fd(10 + k, 6000 + (uint64_t)k);
	F.between_batches = kill_between_batches;
	assert_int_equal(run(), 0);
	assert_int_equal(F.nrestop, 1);
	assert_dead_and_untouched((int)first_batch_only(n, 10, "exited"));
}

static void exec_between_batches(void)
{
	if (F.nrestop == 1)
		F.exec_event[0] = true;
}

/* The process executed a new program while it ran between batches: the
 * rows were planned for the old one, so the later batches are skipped with
 * the reason and nothing more is called; the threads are let go. */
static void test_exec_between_batches(void **state)
{
	const int n = 300;
	for (int k = 0; k < n; k++)
		add_fd(10 + k, 6000 + (uint64_t)k);
	F.between_batches = exec_between_batches;
	assert_int_equal(run(), 0);
	assert_int_equal(F.nrestop, 1);
	first_batch_only(n, 10, "executed a new program");
	for (int i = 0; i < F.nth; i++)
		assert_int_equal(F.detached[i], 1);
}

/* ---- the part done from outside ---- */

/* --shutdown on a pidfd duplicate settles the row without any attach;
 * ENOSYS from it (no pidfd_getfd) falls back to the injected shutdown. */
static void test_shutdown_outside_then_injected(void **state)
{
	opts.method = METHOD_SHUTDOWN;
	opts.how = SHUT_WR;
	add_fd(7, 5007);
	assert_int_equal(run(), 0);
	assert_row(0, RES_DONE, NULL);
	assert_int_equal(P.nshut, 1);
	assert_int_equal(P.shut_fd, 7);
	assert_int_equal(P.shut_how, SHUT_WR);
	assert_int_equal(P.shut_cookie, COOKIE(5007));
	assert_int_equal(F.nseize, 0); /* the target never stopped */
	assert_int_equal(F.ncalls, 0);

	teardown(state);
	setup(state);
	opts.method = METHOD_SHUTDOWN;
	opts.how = SHUT_WR;
	add_fd(7, 5007);
	P.shut_err = -ENOSYS;
	assert_int_equal(run(), 0);
	assert_int_equal(P.nshut, 1);
	expect(0, ASYS_SHUTDOWN, 7, SHUT_WR, ANY);
	assert_int_equal(nC, 1);
	assert_row(0, RES_DONE, NULL);
	assert_released();
}

/* The records after verify follow act's order (pid, then fd), not the
 * plan's (by socket). */
static void test_acted_rows_in_act_order(void **state)
{
	add_fd(9, 5001);
	add_fd(7, 5002);
	add_fd(8, 5003);
	assert_int_equal(run(), 0);
	size_t idx[3];
	assert_int_equal(act_acted_rows(&plan, &opts, idx), 3);
	assert_int_equal(plan.owners.v[plan.rows[idx[0]].owner].fd, 7);
	assert_int_equal(plan.owners.v[plan.rows[idx[1]].owner].fd, 8);
	assert_int_equal(plan.owners.v[plan.rows[idx[2]].owner].fd, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_close_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_time_unknown_untouched, setup, teardown),
		cmocka_unit_test_setup_teardown(test_placeholder_follows_the_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_pair_placeholder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oneshot_disarmed_not_readded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dup3_fails_puts_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_free_slot_closes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_recheck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_stops_at_the_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_single_stop_has_no_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reused_before_the_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_fd_busy_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_killed_midway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_killed_between_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_killed_after_a_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_between_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_attach_stop_does_nothing_more, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_outside_then_injected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acted_rows_in_act_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
