/* blocker: the injection engine's test target, a "production service" that
 * sockreap reaches into (spec: /work/briefs/blocker.md).
 *
 *   blocker --leak N [--threads K] [--block CALL] [--duration-ms MS]
 *           [--fifo PATH] [--ready FILE] [--report FILE] [--v6]
 *           [--no-heartbeat] [--share] [--peer-report FILE] [--linger]
 *           [--gaps] [--seccomp-kill-close] [--check-state]
 *   CALL: read | accept | epoll | nanosleep | poll | futex | busy | readsock |
 *         none | pause | pilock | sigsuspend
 *
 * It holds one LISTEN socket, N CLOSE_WAIT sockets with consecutive fd
 * numbers and one ESTABLISHED socket (a forked peer process holds the other
 * ends), starts K idle threads and a heartbeat thread measuring the longest
 * gap between its 1 ms wakeups (the stall), writes the ready FILE, blocks its
 * main thread in CALL and afterwards checks that the call completed as it
 * would have without sockreap: the right result, its full duration, and
 * never a kernel-internal errno (512..516, the -ERESTART* family) leaking
 * out of a badly restarted system call. The report FILE says so; the exit
 * status is 0 when ok, 1 otherwise.
 *
 * Extra options (not in the shared spec):
 *   --no-heartbeat  no heartbeat thread: with --threads 0 the process is
 *                   really single-threaded (max_stall_ms is then null)
 *   --share         fork a child that inherits every socket fd and pauses,
 *                   so each socket has two owners ("share_pid" in ready)
 *   --peer-report F the peer child blocks in recv() on its end of the
 *                   ESTABLISHED connection and writes what it saw to F:
 *                   {"recv":R,"errno":E,"seen":"fin"|"rst"|"data"|"error"}
 *   --gaps          a /dev/null fd between each two leaked sockets (so no
 *                   two are adjacent: close_range cannot take them at once)
 *   --linger        after the report, wait for data on the FIFO before
 *                   exiting: a call that returns early (epoll's EINTR) then
 *                   leaves the fd table in place for the test to inspect
 *   --epoll-thread  one more helper thread waits in epoll_wait(-1) until the
 *                   main thread's call is over; it must see no EINTR
 *                   ("thread_eintr" in the report)
 *   --check-state   (read, x86_64) the main thread's read is one syscall
 *                   instruction with xmm8-15, MXCSR (and with AVX ymm7) set to a pattern
 *                   around it, and a sigaltstack of its own: all must be
 *                   as they were after it (an executor that restored the
 *                   thread from its own frame after sockreap died restored
 *                   them from that frame's XSAVE state and stack settings)
 *   --seccomp-kill-close  right before blocking, install (on every thread) a
 *                   seccomp filter that kills the process on close(),
 *                   shutdown() or close_range() of any of its socket fds
 *   --in-handler    (read) the read runs in a SIGURG handler, on an
 *                   alternate stack that is an array on the main thread's
 *                   stack with little room below the handler: the pattern
 *                   under it must be intact afterwards
 *   --linger-full T make the ESTABLISHED socket's close linger: SO_LINGER
 *                   {1, T} and its send queue full (the peer never reads),
 *                   so a close() of it blocks for T seconds
 *   --sigtrap MODE  handle: a SIGTRAP handler (counts its runs, "sigtrap"
 *                   in the report; it must never run); ignore: SIG_IGN;
 *                   block: the handler, and SIGTRAP blocked in the main
 *                   thread too (helper threads block every signal anyway)
 *   --io-uring      an io_uring instance (raw system calls) holding sockets
 *                   beyond their fds: the first leaked one as a registered
 *                   file, the ESTABLISHED one under a RECV in flight (the
 *                   peer sends nothing) ("uring_fd" in the ready file)
 *   --usr1-restart  a SIGUSR1 handler with SA_RESTART that only counts:
 *                   a storm of SIGUSR1 (sigstorm kill) keeps the main
 *                   thread's call being interrupted and restarted
 *   --swap-usr1     on SIGUSR1, put a fresh unconnected TCP socket over
 *                   every leaked fd (the number now names another socket,
 *                   as after the application closed it and reused it)
 *   --groups N      first of all, take N supplementary groups (needs root):
 *                   with ~1,000 its /proc/PID/status passes 4 KiB before
 *                   the Seccomp line
 *   pause           pause() until SIGUSR2 (-ERESTARTNOHAND; returns EINTR)
 *   sigsuspend      SIGUSR2 is blocked except inside sigsuspend(), the
 *                   race-free wait for a signal: it must end with EINTR, the
 *                   handler having run exactly while it waited
 *   select, pselect select(2)/pselect6(2) (raw system calls): readfds the
 *                   FIFO, exceptfds the first leaked socket (a CLOSE_WAIT
 *                   socket never has an exceptional condition): must end
 *                   with the FIFO readable, never EBADF
 *   pollmany        poll(2) on 100 entries: the FIFO first, the first leaked
 *                   socket at entry 80 (POLLPRI), the rest -1: must end with
 *                   the FIFO readable and the socket's revents 0 (never
 *                   POLLNVAL); "revents" in the report
 *   epollinf        epoll_wait(2) with no timeout on the FIFO, retried on
 *                   EINTR; must end with the event and no EINTR at all
 *                   ("eintr" in the report counts them)
 *   epolltimed      the same with a 60 s timeout: EINTR allowed (counted)
 *   pilock          FUTEX_LOCK_PI on a word "owned" by an idle thread (one
 *                   more is started for it), with an absolute timeout MS from
 *                   now (-ERESTARTNOINTR): must give ETIMEDOUT after >= MS
 */
#include "target.h"

#include <errno.h>
#include <dirent.h>
#include <grp.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum call {
	C_READ, C_ACCEPT, C_EPOLL, C_NANOSLEEP, C_POLL, C_FUTEX, C_BUSY,
	C_READSOCK, C_NONE, C_PAUSE, C_PILOCK, C_SIGSUSPEND, C_SELECT, C_PSELECT,
	C_POLLMANY, C_EPOLLINF, C_EPOLLTIMED, C_NCALLS
};
static const char *const call_names[C_NCALLS] = {
	"read", "accept", "epoll", "nanosleep", "poll", "futex", "busy",
	"readsock", "none", "pause", "pilock", "sigsuspend", "select", "pselect",
	"pollmany", "epollinf", "epolltimed",
};

static struct {
	int leak, threads;
	enum call call;
	long dur_ms;
	const char *fifo, *ready, *report, *peer_report;
	bool v6, heartbeat, share, seccomp, linger, gaps, swap, usr1_restart;
	int groups, linger_full;
	bool io_uring;
	bool check_state, epoll_thread, in_handler;
	enum { TRAP_DEFAULT, TRAP_HANDLE, TRAP_IGNORE, TRAP_BLOCK } sigtrap;
} opt = { .call = C_NONE, .dur_ms = 2000, .heartbeat = true };

/* The process's layout, as published in the ready file. */
static struct {
	int listen_fd, estab_fd, leak_first, leak_last, fifo_fd, epoll_fd, uring_fd;
	uint16_t port;
	pid_t peer_pid, share_pid;
	char fifo[4096];
	bool own_fifo; /* we created the FIFO and remove it at exit */
} L;

static bool kernel_internal_errno(int e)
{
	return e >= 512 && e <= 516;
}

static const char *errno_name(int e)
{
	static const char *const internal[] = {
		"ERESTARTSYS", "ERESTARTNOINTR", "ERESTARTNOHAND", "ENOIOCTLCMD",
		"ERESTART_RESTARTBLOCK",
	};
	if (kernel_internal_errno(e))
		return internal[e - 512];
	const char *n = e ? strerrorname_np(e) : "";
	return n ? n : "?";
}

/* ---- heartbeat: the longest gap between 1 ms wakeups during the call ---- */

static atomic_bool in_call;
static _Atomic double max_stall; /* ms */
static atomic_int heartbeat_bad_errno; /* a kernel-internal errno it saw */

static void *heartbeat(void *arg)
{
	(void)arg;
	const struct timespec ms1 = { 0, 1000 * 1000 };
	double prev = tgt_now_ms();
	bool prev_in = false;
	for (;;) {
		if (nanosleep(&ms1, NULL) < 0 && kernel_internal_errno(errno))
			atomic_store(&heartbeat_bad_errno, errno);
		double t = tgt_now_ms();
		bool in = atomic_load(&in_call);
		if (in && prev_in && t - prev > atomic_load(&max_stall))
			atomic_store(&max_stall, t - prev);
		prev = t;
		prev_in = in;
	}
	return NULL;
}

/* Idle threads: blocked in pthread_cond_wait on a condition nobody signals.
 * glibc aborts on an unexpected futex error, so a leaked -ERESTARTSYS here
 * kills the target, which the tests notice. */
static pthread_mutex_t idle_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;

static atomic_int pi_owner_tid; /* an idle thread, the owner for pilock */

static void *idle_thread(void *arg)
{
	(void)arg;
	atomic_store(&pi_owner_tid, gettid());
	pthread_mutex_lock(&idle_mu);
	for (;;)
		pthread_cond_wait(&idle_cv, &idle_mu);
	return NULL;
}

/* Helper threads block every signal (they inherit the mask at creation), as
 * well-behaved threaded services do: SIGUSR2 can then only reach the main
 * thread, and a test can tell whether it was delivered or lost. */
static void start_thread(void *(*fn)(void *))
{
	pthread_t t;
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&t, NULL, fn, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		errno = e;
		die("pthread_create");
	}
	pthread_detach(t);
}

/* --epoll-thread: a helper thread (not the one sockreap injects into)
 * waits in epoll_wait(-1) on an eventfd that the main thread writes once
 * its own call is over; its EINTRs are counted ("thread_eintr"), and
 * "thread_ok" says it saw the event. */
static int ethread_efd = -1, ethread_ep = -1;
static atomic_int thread_eintr, thread_done, thread_ok;

static void *epoll_waiter(void *arg)
{
	struct epoll_event ev;
	int r;
	while ((r = epoll_wait(ethread_ep, &ev, 1, -1)) < 0 && errno == EINTR)
		atomic_fetch_add(&thread_eintr, 1);
	atomic_store(&thread_ok, r == 1);
	atomic_store(&thread_done, 1);
	return NULL;
}

static void start_epoll_thread(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	ethread_efd = eventfd(0, EFD_CLOEXEC);
	ethread_ep = epoll_create1(EPOLL_CLOEXEC);
	if (ethread_efd < 0 || ethread_ep < 0 || epoll_ctl(ethread_ep, EPOLL_CTL_ADD, ethread_efd, &ev) < 0)
		die("eventfd/epoll for --epoll-thread");
	start_thread(epoll_waiter);
}

static void end_epoll_thread(void)
{
	uint64_t one = 1;
	if (ethread_efd < 0)
		return;
	if (write(ethread_efd, &one, sizeof(one)) != sizeof(one))
		die("eventfd write");
	for (int i = 0; i < 5000 && !atomic_load(&thread_done); i++)
		usleep(1000);
}

/* ---- the peer: a separate process holding the client ends ---- */

/* The local (or, with peer, the remote) port of socket fd, network order. */
static uint16_t port_of(int fd, bool peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if ((peer ? getpeername : getsockname)(fd, (struct sockaddr *)&ss, &len) < 0)
		die("getsockname/getpeername");
	return ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					: ((struct sockaddr_in *)&ss)->sin_port;
}

static int peer_kept = -1;

static void peer_sigusr1(int sig)
{
	(void)sig;
	if (write(peer_kept, "x", 1) < 0) {
		/* nothing to do: the test sees the read still blocking */
	}
}

/* In the peer child: block in recv() on the kept connection and record
 * whether the server's end went away with FIN (EOF) or RST. */
static void peer_observe(void)
{
	char b;
	ssize_t r;
	do
		r = recv(peer_kept, &b, 1, 0);
	while (r < 0 && errno == EINTR);
	int e = r < 0 ? errno : 0;
	const char *seen = r == 0 ? "fin" : r > 0 ? "data" : e == ECONNRESET ? "rst" : "error";
	char text[200];
	snprintf(text, sizeof text, "{\"recv\":%zd,\"errno\":%d,\"seen\":\"%s\"}\n", r, e, seen);
	tgt_write_file_atomic(opt.peer_report, text);
}

/* Connect N+1 times; close the first N right away (their server ends go to
 * CLOSE_WAIT), keep the last one, tell the server its local port through
 * the pipe, then sleep until killed. Never returns. */
static void peer_main(int tell_fd)
{
	int family = opt.v6 ? AF_INET6 : AF_INET;
	for (int i = 0; i < opt.leak; i++)
		close(tgt_connect(family, L.port));
	peer_kept = tgt_connect(family, L.port);
	uint16_t port = port_of(peer_kept, false);
	if (write(tell_fd, &port, sizeof port) != sizeof port)
		die("peer: write");
	close(tell_fd);
	signal(SIGUSR1, peer_sigusr1); /* BSD semantics: SA_RESTART */
	if (opt.peer_report)
		peer_observe();
	for (;;)
		pause();
}

static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		die("TCP_INFO");
	return ti.tcpi_state;
}

/* Give fd the number want (free, with everything above it taken).
 * accept() and open() give the lowest free number, maybe a hole below. */
static void move_fd(int fd, int want)
{
	if (fd < 0)
		die("accept/open");
	if (fd == want)
		return;
	if (fcntl(fd, F_DUPFD, want) != want)
		die("fd %d is taken: cannot lay the leaked fds out", want);
	close(fd);
}

static void accept_at(int want)
{
	int fd;
	do
		fd = accept(L.listen_fd, NULL, NULL);
	while (fd < 0 && errno == EINTR);
	move_fd(fd, want);
}

/* The highest fd number open in this process (inherited ones included). */
static int highest_open_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		die("/proc/self/fd");
	int max = -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != dirfd(d) && fd > max)
			max = fd;
	}
	closedir(d);
	return max;
}

/* Build the socket layout: listener, N CLOSE_WAIT, one ESTABLISHED. The
 * accepted sockets take the numbers above every fd open so far (a test
 * harness may pass inherited fds at any number). */
static void setup_sockets(void)
{
	int family = opt.v6 ? AF_INET6 : AF_INET;
	int backlog = opt.leak + 1 < 4096 ? opt.leak + 1 : 4096;
	L.listen_fd = tgt_listen(family, backlog, &L.port);
	const int stride = opt.gaps && opt.leak > 1 ? 2 : 1;
	L.leak_first = highest_open_fd() + 1;
	L.leak_last = L.leak_first + (opt.leak - 1) * stride;
	L.estab_fd = L.leak_last + 1;

	int tell[2];
	if (pipe(tell) < 0)
		die("pipe");
	/* The pipe's fds sit above the range the accepted sockets will take. */
	for (int i = 0; i < 2; i++) {
		int hi = fcntl(tell[i], F_DUPFD_CLOEXEC, L.estab_fd + 1);
		if (hi < 0)
			die("F_DUPFD");
		close(tell[i]);
		tell[i] = hi;
	}
	L.peer_pid = fork();
	if (L.peer_pid < 0)
		die("fork");
	if (L.peer_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Only the server holds the listener and the FIFO. */
		close(tell[0]);
		close(L.listen_fd);
		close(L.fifo_fd);
		if (L.epoll_fd >= 0)
			close(L.epoll_fd);
		peer_main(tell[1]);
	}
	close(tell[1]);

	for (int fd = L.leak_first; fd <= L.leak_last; fd += stride)
		accept_at(fd);
	accept_at(L.estab_fd);
	for (int fd = L.leak_first + 1; opt.gaps && fd < L.leak_last; fd += stride)
		move_fd(open("/dev/null", O_RDONLY), fd);

	uint16_t kept;
	if (read(tell[0], &kept, sizeof kept) != sizeof kept)
		die("the peer did not report its kept connection");
	close(tell[0]);
	/* Make the kept connection the last fd, whatever the accept order. */
	for (int fd = L.leak_first; fd <= L.leak_last; fd += stride) {
		if (port_of(fd, true) != kept)
			continue;
		int tmp = dup(L.estab_fd);
		if (tmp < 0 || dup2(fd, L.estab_fd) < 0 || dup2(tmp, fd) < 0)
			die("dup");
		close(tmp);
		break;
	}
	/* The FINs travel through loopback's backlog: wait until they landed. */
	double deadline = tgt_now_ms() + 10000;
	for (int fd = L.leak_first; fd <= L.leak_last; fd += stride) {
		while (tcp_state(fd) != TCP_CLOSE_WAIT) {
			if (tgt_now_ms() > deadline)
				die("fd %d is not in CLOSE_WAIT", fd);
			usleep(1000);
		}
	}
	if (tcp_state(L.estab_fd) != TCP_ESTABLISHED)
		die("fd %d is not ESTABLISHED", L.estab_fd);
}

static void setup_fifo(void)
{
	if (opt.fifo) {
		snprintf(L.fifo, sizeof L.fifo, "%s", opt.fifo);
	} else {
		snprintf(L.fifo, sizeof L.fifo, "/tmp/blocker.%d.fifo", (int)getpid());
		L.own_fifo = true;
	}
	if (mkfifo(L.fifo, 0600) < 0 && errno != EEXIST)
		die("mkfifo %s", L.fifo);
	/* O_RDWR: opening never blocks, and read() waits for data instead of
	 * returning EOF when the test's writer closes. */
	L.fifo_fd = open(L.fifo, O_RDWR | O_CLOEXEC);
	if (L.fifo_fd < 0)
		die("open %s", L.fifo);
	L.epoll_fd = -1;
	if (opt.call == C_EPOLL || opt.call == C_EPOLLINF || opt.call == C_EPOLLTIMED) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = L.fifo_fd };
		L.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		if (L.epoll_fd < 0 || epoll_ctl(L.epoll_fd, EPOLL_CTL_ADD, L.fifo_fd, &ev) < 0)
			die("epoll");
	}
}

/* A child that shares every fd with us and waits; each socket then has two
 * owners. It exits 3 if its pause() ever returns a kernel-internal errno. */
static void fork_sharer(void)
{
	L.share_pid = fork();
	if (L.share_pid < 0)
		die("fork");
	if (L.share_pid > 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		if (pause() < 0 && errno != EINTR) {
			fprintf(stderr, "blocker sharer: pause: errno %d\n", errno);
			_exit(3);
		}
	}
}

/* ---- seccomp: kill the process on close/shutdown of its socket fds ---- */

/* The low 32 bits of argument n (little-endian: the first word). */
#define ARG_LO(n) (offsetof(struct seccomp_data, args) + (n) * sizeof(uint64_t))
#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "blocker: add this architecture's AUDIT_ARCH_*"
#endif

static void install_seccomp(void)
{
	/* Range [lo, hi]: every socket fd. Our own later work (the report) only
	 * touches fds outside it, so the filter never kills normal operation. */
	uint32_t lo = (uint32_t)L.listen_fd, hi = (uint32_t)L.estab_fd;
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_shutdown, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 4, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* close(fd), shutdown(fd, how): kill when lo <= fd <= hi */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 6),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, hi, 5, 4),
		/* close_range(first, last, flags): kill when first <= hi && last >= lo */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, hi, 3, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(1)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die("PR_SET_NO_NEW_PRIVS");
	/* TSYNC: every thread gets it, whichever one sockreap injects into. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0)
		die("seccomp");
}

/* ---- the blocked call and its verdict ---- */

struct outcome {
	long ret;
	int err;
	double elapsed;
	bool ok;
	char why[200];
};

static volatile sig_atomic_t usr2_handled; /* SIGUSR2 handler runs */
static volatile sig_atomic_t sigtrap_handled; /* SIGTRAP handler runs */
static int eintr_count;                       /* epollinf/epolltimed */
static int sock_revents = -1;                 /* pollmany: the socket's entry */
static bool fifo_ready;                       /* select/pselect/pollmany */

static void sigtrap_handler(int sig)
{
	(void)sig;
	sigtrap_handled++;
}

static void sigusr2_handler(int sig)
{
	(void)sig;
	usr2_handled++;
}

static volatile sig_atomic_t usr1_handled;
static void usr1_count_handler(int sig)
{
	(void)sig;
	usr1_handled++;
}

/* --check-state: what the thread's state was before its read and after */
static const char *state_bad;

#if defined(__x86_64__)
/* read(fd, buf, len) as one syscall instruction, xmm8-15 and MXCSR holding
 * a pattern across it (the kernel keeps them; so must anything that stops
 * the thread and puts it back); -errno on failure */
static long read_checking_vectors(int fd, void *buf, size_t len)
{
	static const uint64_t pat[16] __attribute__((aligned(16))) = {
		0x0123456789abcdefull, 0xfedcba9876543210ull, 0x1111111111111111ull, 0x2222222222222222ull,
		0x3333333333333333ull, 0x4444444444444444ull, 0x5555555555555555ull, 0x6666666666666666ull,
		0x7777777777777777ull, 0x8888888888888888ull, 0x9999999999999999ull, 0xaaaaaaaaaaaaaaaaull,
		0xbbbbbbbbbbbbbbbbull, 0xccccccccccccccccull, 0xddddddddddddddddull, 0xeeeeeeeeeeeeeeeeull,
	};
	static uint64_t out[16] __attribute__((aligned(16))), ymm_out[4];
	static const uint64_t ymm_pat[4] = { 0x1212121212121212ull, 0x3434343434343434ull, 0x5656565656565656ull,
					     0x7878787878787878ull };
	uint32_t mx_in = 0x7f80 /* every exception masked, round toward zero */, mx_out = 0, mx_default = 0x1f80;
	/* with AVX, ymm7's upper half too: a frame the kernel would not take
	 * whole (its XSAVE size too large for the thread) restores the
	 * x87/SSE part only, and that half comes back zero */
	long avx = __builtin_cpu_supports("avx"), r;
	__asm__ volatile("test %[avx], %[avx]\n\t jz 1f\n\t vmovdqu (%[y]), %%ymm7\n"
			 "1:\n\t"
			 "ldmxcsr %[mi]\n\t"
			 "movdqa 0(%[p]), %%xmm8\n\t movdqa 16(%[p]), %%xmm9\n\t"
			 "movdqa 32(%[p]), %%xmm10\n\t movdqa 48(%[p]), %%xmm11\n\t"
			 "movdqa 64(%[p]), %%xmm12\n\t movdqa 80(%[p]), %%xmm13\n\t"
			 "movdqa 96(%[p]), %%xmm14\n\t movdqa 112(%[p]), %%xmm15\n\t"
			 "syscall\n\t"
			 "movdqa %%xmm8, 0(%[o])\n\t movdqa %%xmm9, 16(%[o])\n\t"
			 "movdqa %%xmm10, 32(%[o])\n\t movdqa %%xmm11, 48(%[o])\n\t"
			 "movdqa %%xmm12, 64(%[o])\n\t movdqa %%xmm13, 80(%[o])\n\t"
			 "movdqa %%xmm14, 96(%[o])\n\t movdqa %%xmm15, 112(%[o])\n\t"
			 "stmxcsr %[mo]\n\t"
			 "ldmxcsr %[md]\n\t"
			 "test %[avx], %[avx]\n\t jz 2f\n\t vmovdqu %%ymm7, (%[yo])\n\t vzeroupper\n"
			 "2:"
			 : "=a"(r), [mo] "=m"(mx_out)
			 : "a"(0L), "D"((long)fd), "S"(buf), "d"(len), [p] "r"(pat), [o] "r"(out), [mi] "m"(mx_in),
			   [md] "m"(mx_default), [avx] "r"(avx), [y] "r"(ymm_pat), [yo] "r"(ymm_out)
			 : "rcx", "r11", "memory", "cc", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
			   "xmm15");
	if (memcmp(out, pat, sizeof(pat)))
		state_bad = "xmm8-15 changed across the read";
	else if (avx && memcmp(ymm_out, ymm_pat, sizeof(ymm_pat)))
		state_bad = "ymm7 changed across the read (its upper half: the XSAVE state was not restored whole)";
	else if (mx_out != mx_in)
		state_bad = "MXCSR changed across the read";
	return r;
}
#endif

/* --in-handler: the read runs in a SIGURG handler on an alternate stack
 * that is an array on the main thread's own stack, with just room for
 * the kernel's frame and the handler; below it, a pattern that nothing
 * may write (a frame sockreap put below the handler's stack pointer
 * would land there) */
static volatile long handler_ret;
static volatile int handler_errno;
static char handler_buf[256];

static void on_urg(int sig)
{
	(void)sig;
	handler_ret = read(L.fifo_fd, handler_buf, sizeof handler_buf);
	handler_errno = errno;
}

static long read_in_handler(void)
{
	enum { BELOW = 16384, ALT_MAX = 65536 };
	_Alignas(64) uint8_t mem[BELOW + ALT_MAX];
	size_t min = (size_t)getauxval(AT_MINSIGSTKSZ);
	stack_t ss = { .ss_sp = mem + BELOW, .ss_size = (min ? min : 4096) + 1024 }, old;
	struct sigaction sa = { .sa_handler = on_urg, .sa_flags = SA_ONSTACK }, old_sa;
	if (ss.ss_size > ALT_MAX)
		die("AT_MINSIGSTKSZ %zu", min);
	memset(mem, 0x5a, BELOW);
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, &old) < 0 || sigaction(SIGURG, &sa, &old_sa) < 0)
		die("sigaltstack");
	handler_ret = -1, handler_errno = 0;
	raise(SIGURG);
	for (size_t i = 0; i < BELOW; i++)
		if (((volatile uint8_t *)mem)[i] != 0x5a) {
			state_bad = "the stack below the handler's alternate stack was written";
			break;
		}
	sigaction(SIGURG, &old_sa, NULL);
	sigaltstack(&old, NULL);
	errno = handler_errno;
	return handler_ret;
}

/* Run the chosen call once in the main thread; ret and errno as the
 * application sees them. */
static void run_call(struct outcome *o)
{
	char buf[256];
	struct pollfd pfd = { .fd = L.fifo_fd, .events = POLLIN };
	struct epoll_event ev;
	struct timespec ts = { opt.dur_ms / 1000, opt.dur_ms % 1000 * 1000000L };
	static uint32_t futex_word; /* nobody ever wakes it */
	long r = 0;

	errno = 0;
	switch (opt.call) {
	case C_READ:
	case C_NONE:
#if defined(__x86_64__)
		if (opt.check_state && opt.call == C_READ) {
			stack_t ss = { .ss_sp = malloc(1 << 16), .ss_size = 1 << 16 }, now;
			if (!ss.ss_sp || sigaltstack(&ss, NULL) < 0)
				die("sigaltstack");
			r = read_checking_vectors(L.fifo_fd, buf, sizeof buf);
			if (r < 0)
				errno = (int)-r, r = -1;
			int e = errno;
			if (sigaltstack(NULL, &now) < 0 || now.ss_sp != ss.ss_sp || now.ss_size != ss.ss_size ||
			    now.ss_flags != 0)
				state_bad = state_bad ? state_bad : "the sigaltstack changed across the read";
			errno = e;
			break;
		}
#endif
		if (opt.in_handler)
			r = read_in_handler();
		else
			r = read(L.fifo_fd, buf, sizeof buf);
		break;
	case C_ACCEPT:
		r = accept(L.listen_fd, NULL, NULL);
		break;
	case C_EPOLL:
		r = epoll_wait(L.epoll_fd, &ev, 1, -1);
		break;
	case C_NANOSLEEP:
		r = nanosleep(&ts, NULL);
		break;
	case C_POLL:
		r = poll(&pfd, 1, (int)opt.dur_ms);
		break;
	case C_FUTEX:
		r = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
		break;
	case C_BUSY: {
		double end = tgt_now_ms() + (double)opt.dur_ms;
		while (tgt_now_ms() < end)
			;
		break;
	}
	case C_READSOCK:
		r = read(L.estab_fd, buf, sizeof buf);
		break;
	case C_PAUSE:
		r = pause();
		break;
	case C_SIGSUSPEND: {
		sigset_t none;
		sigemptyset(&none);
		r = sigsuspend(&none);
		int e = errno;
		/* its mask was a temporary one: the thread's own is back */
		sigset_t now;
		if (sigprocmask(SIG_BLOCK, NULL, &now) < 0 || !sigismember(&now, SIGUSR2))
			state_bad = "SIGUSR2 unblocked after sigsuspend(): its temporary mask stayed";
		errno = e;
		break;
	}
	case C_SELECT:
	case C_PSELECT: {
		fd_set rd, ex;
		FD_ZERO(&rd);
		FD_ZERO(&ex);
		FD_SET(L.fifo_fd, &rd);
		FD_SET(L.leak_first, &ex);
		int nfds = (L.fifo_fd > L.leak_first ? L.fifo_fd : L.leak_first) + 1;
		if (opt.call == C_SELECT)
#ifdef SYS_select
			r = syscall(SYS_select, nfds, &rd, NULL, &ex, NULL);
#else
			r = -1, errno = ENOSYS; /* aarch64 has pselect6 only */
#endif
		else
			r = syscall(SYS_pselect6, nfds, &rd, NULL, &ex, NULL, NULL);
		fifo_ready = r > 0 && FD_ISSET(L.fifo_fd, &rd);
		if (r > 0 && FD_ISSET(L.leak_first, &ex))
			sock_revents = POLLPRI;
		break;
	}
	case C_POLLMANY: {
		struct pollfd many[100];
		for (int i = 0; i < 100; i++)
			many[i] = (struct pollfd){ .fd = -1 };
		many[0] = (struct pollfd){ .fd = L.fifo_fd, .events = POLLIN };
		many[80] = (struct pollfd){ .fd = L.leak_first, .events = POLLPRI };
#ifdef SYS_poll
		r = syscall(SYS_poll, many, 100, -1);
#else
		r = -1, errno = ENOSYS; /* aarch64 has ppoll only */
#endif
		fifo_ready = r > 0 && (many[0].revents & POLLIN);
		sock_revents = many[80].revents;
		break;
	}
	case C_EPOLLINF:
	case C_EPOLLTIMED:
		while ((r = epoll_wait(L.epoll_fd, &ev, 1, opt.call == C_EPOLLINF ? -1 : 60000)) < 0 && errno == EINTR)
			eintr_count++;
		break;
	case C_PILOCK: {
		static uint32_t pi_word;
		struct timespec abs;
		pi_word = (uint32_t)atomic_load(&pi_owner_tid);
		clock_gettime(CLOCK_REALTIME, &abs);
		abs.tv_sec += ts.tv_sec;
		abs.tv_nsec += ts.tv_nsec;
		if (abs.tv_nsec >= 1000000000L) {
			abs.tv_sec++;
			abs.tv_nsec -= 1000000000L;
		}
		r = syscall(SYS_futex, &pi_word, FUTEX_LOCK_PI_PRIVATE, 0, &abs, NULL, 0);
		break;
	}
	case C_NCALLS:
		break;
	}
	o->ret = r;
	o->err = r < 0 ? errno : 0;
}

/* Is the outcome what the call gives when nobody interferes? */
static void judge(struct outcome *o)
{
	double ms = (double)opt.dur_ms;
	o->ok = false;
	if (kernel_internal_errno(o->err) || (o->ret <= -512 && o->ret >= -516)) {
		snprintf(o->why, sizeof o->why, "saw kernel-internal errno %d",
			 o->err ? o->err : (int)-o->ret);
		return;
	}
	if (sigtrap_handled) {
		snprintf(o->why, sizeof o->why, "the SIGTRAP handler ran %d times", (int)sigtrap_handled);
		return;
	}
	if (state_bad) {
		snprintf(o->why, sizeof o->why, "%s", state_bad);
		return;
	}
	if (opt.epoll_thread && (!atomic_load(&thread_ok) || atomic_load(&thread_eintr))) {
		snprintf(o->why, sizeof o->why, "the helper thread's epoll_wait(-1) %s",
			 atomic_load(&thread_eintr) ? "failed with EINTR: a stop it did not need to see"
						    : "did not see its event");
		return;
	}
	if (opt.check_state && opt.call != C_READ) {
		snprintf(o->why, sizeof o->why, "--check-state is for read only");
		return;
	}
	int hb = atomic_load(&heartbeat_bad_errno);
	if (hb) {
		snprintf(o->why, sizeof o->why, "saw kernel-internal errno %d (heartbeat nanosleep)", hb);
		return;
	}
	const char *bad = NULL;
	switch (opt.call) {
	case C_READ:
	case C_NONE:
		bad = o->ret > 0 ? NULL : "expected data from the FIFO";
		break;
	case C_ACCEPT:
		bad = o->ret >= 0 ? NULL : "expected a connection";
		break;
	case C_EPOLL:
		/* signal(7): epoll_wait fails with EINTR after any stop. */
		bad = o->ret == 1 || (o->ret < 0 && o->err == EINTR) ? NULL : "expected an event or EINTR";
		break;
	case C_NANOSLEEP:
		bad = o->ret == 0 && o->elapsed >= ms ? NULL : "expected 0 after the full duration";
		break;
	case C_POLL:
		bad = (o->ret == 0 && o->elapsed >= ms) || o->ret == 1 ? NULL
			: "expected 0 after the full timeout (or 1 with data)";
		break;
	case C_FUTEX:
	case C_PILOCK:
		bad = o->ret < 0 && o->err == ETIMEDOUT && o->elapsed >= ms ? NULL
			: "expected ETIMEDOUT after the full timeout";
		break;
	case C_BUSY:
		bad = o->elapsed >= ms ? NULL : "spun for less than the duration";
		break;
	case C_READSOCK:
		/* 0: EOF after a shutdown; 1: the peer's byte (SIGUSR1 to it). */
		bad = o->ret == 0 || o->ret == 1 ? NULL : "expected EOF or the peer's byte";
		break;
	case C_PAUSE:
	case C_SIGSUSPEND:
		bad = o->ret < 0 && o->err == EINTR && usr2_handled == 1 ? NULL
			: "expected EINTR from one SIGUSR2";
		break;
	case C_SELECT:
	case C_PSELECT:
		bad = o->ret == 1 && fifo_ready && sock_revents == -1 ? NULL
			: o->ret < 0 && o->err == EBADF ? "EBADF: the restarted call met a closed fd"
			: "expected only the FIFO ready";
		break;
	case C_POLLMANY:
		bad = o->ret == 1 && fifo_ready && sock_revents == 0 ? NULL
			: sock_revents & POLLNVAL ? "POLLNVAL: the restarted poll met a closed fd"
			: "expected only the FIFO ready";
		break;
	case C_EPOLLINF:
		bad = o->ret == 1 && !eintr_count ? NULL
			: eintr_count ? "epoll_wait(-1) failed with EINTR: a stop it did not need to see"
			: "expected the FIFO's event";
		break;
	case C_EPOLLTIMED:
		bad = o->ret == 1 ? NULL : "expected the FIFO's event";
		break;
	case C_NCALLS:
		break;
	}
	o->ok = !bad;
	snprintf(o->why, sizeof o->why, "%s", bad ? bad : "completed as expected");
}

static void write_ready(void)
{
	char text[8192];
	snprintf(text, sizeof text,
		 "{\"pid\":%d,\"peer_pid\":%d,\"port\":%u,\"listen_fd\":%d,\"estab_fd\":%d,"
		 "\"leak_first\":%d,\"leak_last\":%d,\"fifo\":\"%s\",\"share_pid\":%d,"
		 "\"call\":\"%s\",\"duration_ms\":%ld,\"stride\":%d,\"uring_fd\":%d}\n",
		 (int)getpid(), (int)L.peer_pid, L.port, L.listen_fd, L.estab_fd,
		 L.leak_first, L.leak_last, L.fifo, (int)L.share_pid,
		 call_names[opt.call], opt.dur_ms, opt.gaps && opt.leak > 1 ? 2 : 1, L.uring_fd);
	tgt_write_file_atomic(opt.ready, text);
}

/* The report is written into a file opened before the call, above every
 * socket fd and never closed by us: under --seccomp-kill-close, closing an
 * fd number in the socket range would kill us. Atomic through rename. */
static int report_fd = -1;
static char report_tmp[4200];

static void prepare_report(void)
{
	if (!opt.report)
		return;
	snprintf(report_tmp, sizeof report_tmp, "%s.tmp.%d", opt.report, (int)getpid());
	int fd = open(report_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s", report_tmp);
	report_fd = fcntl(fd, F_DUPFD_CLOEXEC, L.estab_fd + 1);
	if (report_fd < 0)
		die("F_DUPFD");
	close(fd);
}

static void write_report(const struct outcome *o)
{
	char stall[32], text[1024];
	if (opt.heartbeat)
		snprintf(stall, sizeof stall, "%.3f", atomic_load(&max_stall));
	else
		snprintf(stall, sizeof stall, "null");
	int n = snprintf(text, sizeof text,
			 "{\"call\":\"%s\",\"ret\":%ld,\"errno\":%d,\"errname\":\"%s\","
			 "\"elapsed_ms\":%.3f,\"max_stall_ms\":%s,\"sigusr2\":%d,\"sigtrap\":%d,\"eintr\":%d,"
			 "\"revents\":%d,\"thread_eintr\":%d,\"ok\":%s,\"why\":\"%s\"}\n",
			 call_names[opt.call], o->ret, o->err,
			 errno_name(o->err),
			 o->elapsed, stall, (int)usr2_handled, (int)sigtrap_handled, eintr_count, sock_revents,
			 atomic_load(&thread_eintr), o->ok ? "true" : "false", o->why);
	fputs(text, stderr);
	if (report_fd < 0)
		return;
	if (write(report_fd, text, (size_t)n) != n || fsync(report_fd) < 0 ||
	    rename(report_tmp, opt.report) < 0)
		die("writing %s", opt.report);
}

/* Room for the leaked sockets above whatever fds we inherited: fd numbers
 * up to about N (2N with --gaps), plus a few of our own. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit");
	if (rl.rlim_max < (opt.gaps ? 2 : 1) * (rlim_t)opt.leak + 64)
		die("--leak %d: the hard fd limit is only %lu", opt.leak, (unsigned long)rl.rlim_max);
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("setrlimit");
}

static void usage(void)
{
	fprintf(stderr,
		"usage: blocker --leak N [--threads K] [--block CALL] [--duration-ms MS]\n"
		"               [--fifo PATH] [--ready FILE] [--report FILE] [--v6]\n"
		"               [--no-heartbeat] [--share] [--peer-report FILE] [--linger]\n"
		"               [--gaps] [--seccomp-kill-close] [--groups N]\n"
		"               [--linger-full T] [--sigtrap handle|ignore|block] [--io-uring]\n"
		"CALL: read accept epoll nanosleep poll futex busy readsock none pause pilock\n"
		"      sigsuspend select pselect pollmany epollinf epolltimed\n");
	exit(2);
}

static long num_arg(const char *flag, const char *s, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < 0 || v > max)
		die("%s: bad number '%s'", flag, s);
	return v;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;
		if (!strcmp(a, "--leak") && v)
			opt.leak = (int)num_arg(a, v, 1000000);
		else if (!strcmp(a, "--threads") && v)
			opt.threads = (int)num_arg(a, v, 1000);
		else if (!strcmp(a, "--duration-ms") && v)
			opt.dur_ms = num_arg(a, v, 3600 * 1000);
		else if (!strcmp(a, "--fifo") && v)
			opt.fifo = v;
		else if (!strcmp(a, "--ready") && v)
			opt.ready = v;
		else if (!strcmp(a, "--report") && v)
			opt.report = v;
		else if (!strcmp(a, "--linger-full") && v)
			opt.linger_full = (int)num_arg(a, v, 3600);
		else if (!strcmp(a, "--sigtrap") && v) {
			if (!strcmp(v, "handle"))
				opt.sigtrap = TRAP_HANDLE;
			else if (!strcmp(v, "ignore"))
				opt.sigtrap = TRAP_IGNORE;
			else if (!strcmp(v, "block"))
				opt.sigtrap = TRAP_BLOCK;
			else
				die("--sigtrap: unknown mode '%s'", v);
		} else if (!strcmp(a, "--groups") && v)
			opt.groups = (int)num_arg(a, v, 65536);
		else if (!strcmp(a, "--peer-report") && v)
			opt.peer_report = v;
		else if (!strcmp(a, "--block") && v) {
			int c;
			for (c = 0; c < C_NCALLS && strcmp(v, call_names[c]); c++)
				;
			if (c == C_NCALLS)
				die("--block: unknown call '%s'", v);
			opt.call = (enum call)c;
		} else {
			takes = false;
			if (!strcmp(a, "--v6"))
				opt.v6 = true;
			else if (!strcmp(a, "--no-heartbeat"))
				opt.heartbeat = false;
			else if (!strcmp(a, "--share"))
				opt.share = true;
			else if (!strcmp(a, "--gaps"))
				opt.gaps = true;
			else if (!strcmp(a, "--linger"))
				opt.linger = true;
			else if (!strcmp(a, "--io-uring"))
				opt.io_uring = true;
			else if (!strcmp(a, "--seccomp-kill-close"))
				opt.seccomp = true;
			else if (!strcmp(a, "--in-handler"))
				opt.in_handler = true;
			else if (!strcmp(a, "--check-state"))
				opt.check_state = true;
			else if (!strcmp(a, "--epoll-thread"))
				opt.epoll_thread = true;
			else if (!strcmp(a, "--swap-usr1"))
				opt.swap = true;
			else if (!strcmp(a, "--usr1-restart"))
				opt.usr1_restart = true;
			else
				usage();
		}
		i += takes;
	}
}

/* A close() of the ESTABLISHED socket will linger T seconds: its send
 * queue (kept small) full of data the peer never reads. */
static void make_linger_full(void)
{
	int small = 4096, fd = L.estab_fd;
	struct linger lg = { .l_onoff = 1, .l_linger = opt.linger_full };
	char chunk[4096];
	memset(chunk, 'x', sizeof chunk);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) < 0)
		die("SO_SNDBUF");
	int fl = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		die("O_NONBLOCK");
	double deadline = tgt_now_ms() + 10000;
	/* loopback moves data to the peer's receive queue until that is full */
	for (int idle = 0; idle < 50;) {
		if (send(fd, chunk, sizeof chunk, 0) > 0) {
			idle = 0;
			continue;
		}
		if (errno != EAGAIN)
			die("send");
		idle++;
		usleep(2000);
		if (tgt_now_ms() > deadline)
			die("the send queue never filled");
	}
	if (fcntl(fd, F_SETFL, fl) < 0 || setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
		die("SO_LINGER");
}

static void setup_sigtrap(void)
{
	struct sigaction sa = { .sa_handler = sigtrap_handler };
	sigemptyset(&sa.sa_mask);
	if (opt.sigtrap == TRAP_IGNORE)
		sa.sa_handler = SIG_IGN;
	if (sigaction(SIGTRAP, &sa, NULL) < 0)
		die("sigaction SIGTRAP");
	if (opt.sigtrap == TRAP_BLOCK) {
		sigset_t trap;
		sigemptyset(&trap);
		sigaddset(&trap, SIGTRAP);
		sigprocmask(SIG_BLOCK, &trap, NULL);
	}
}

/* io_uring without liburing: setup, the rings mapped, the first leaked
 * socket registered as fixed file 0, and a RECV in flight on the
 * ESTABLISHED socket. (A POLL_ADD on a CLOSE_WAIT socket completes at
 * once: io_uring always adds EPOLLRDHUP to the mask.) */
static void setup_io_uring(void)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	int ring = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0)
		die("io_uring_setup");
	L.uring_fd = fcntl(ring, F_DUPFD_CLOEXEC, L.estab_fd + 8);
	if (L.uring_fd < 0)
		die("F_DUPFD");
	close(ring);
	int fds[1] = { L.leak_first };
	if (syscall(__NR_io_uring_register, L.uring_fd, IORING_REGISTER_FILES, fds, 1) < 0)
		die("IORING_REGISTER_FILES");
	size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	uint8_t *sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, L.uring_fd,
			   IORING_OFF_SQ_RING);
	struct io_uring_sqe *sqes = mmap(NULL, p.sq_entries * sizeof(*sqes), PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_POPULATE, L.uring_fd, IORING_OFF_SQES);
	if (sq == MAP_FAILED || sqes == MAP_FAILED)
		die("mmap io_uring");
	unsigned *tail = (unsigned *)(sq + p.sq_off.tail), mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	unsigned idx = *tail & mask;
	memset(&sqes[idx], 0, sizeof(sqes[idx]));
	static char buf[64];
	sqes[idx].opcode = IORING_OP_RECV;
	sqes[idx].fd = L.estab_fd;
	sqes[idx].addr = (uint64_t)(uintptr_t)buf;
	sqes[idx].len = sizeof buf;
	sqes[idx].user_data = 1;
	((unsigned *)(sq + p.sq_off.array))[idx] = idx;
	__atomic_store_n(tail, *tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, L.uring_fd, 1, 0, 0, NULL, 0) != 1)
		die("io_uring_enter");
	/* the recv must stay in flight: no completion may have come */
	size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	uint8_t *cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, L.uring_fd,
			   IORING_OFF_CQ_RING);
	if (cq == MAP_FAILED)
		die("mmap io_uring CQ");
	usleep(20000);
	unsigned head = *(unsigned *)(cq + p.cq_off.head), ctail = __atomic_load_n((unsigned *)(cq + p.cq_off.tail), __ATOMIC_ACQUIRE);
	if (head != ctail) {
		struct io_uring_cqe *c = (struct io_uring_cqe *)(cq + p.cq_off.cqes) + (head & *(unsigned *)(cq + p.cq_off.ring_mask));
		errno = c->res < 0 ? -c->res : 0;
		die("the io_uring RECV completed at once (res %d)", c->res);
	}
}

/* N supplementary groups, 100000 and up (none of them means anything). */
static void take_groups(void)
{
	gid_t *g = calloc((size_t)opt.groups, sizeof(*g));
	if (!g)
		die("calloc");
	for (int i = 0; i < opt.groups; i++)
		g[i] = (gid_t)(100000 + i);
	if (setgroups((size_t)opt.groups, g) < 0)
		die("setgroups(%d)", opt.groups);
	free(g);
}

/* --swap-usr1: close(), socket() and dup2() are async-signal-safe */
static void swap_handler(int sig)
{
	const int stride = opt.gaps && opt.leak > 1 ? 2 : 1;
	for (int fd = L.leak_first; fd <= L.leak_last; fd += stride) {
		int s = socket(opt.v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s >= 0 && dup2(s, fd) >= 0)
			close(s);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (opt.groups)
		take_groups();
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = sigusr2_handler };
	sigaction(SIGUSR2, &sa, NULL); /* no SA_RESTART: ends --block pause */
	if (opt.call == C_SIGSUSPEND) {
		sigset_t usr2;
		sigemptyset(&usr2);
		sigaddset(&usr2, SIGUSR2);
		sigprocmask(SIG_BLOCK, &usr2, NULL);
	}

	if (opt.swap) {
		struct sigaction sw = { .sa_handler = swap_handler, .sa_flags = SA_RESTART };
		sigaction(SIGUSR1, &sw, NULL);
	}
	if (opt.usr1_restart) {
		struct sigaction cnt = { .sa_handler = usr1_count_handler, .sa_flags = SA_RESTART };
		sigaction(SIGUSR1, &cnt, NULL);
	}
	if (opt.sigtrap != TRAP_DEFAULT)
		setup_sigtrap();
	setup_fifo();
	setup_sockets();
	if (opt.linger_full)
		make_linger_full();
	L.uring_fd = -1;
	if (opt.io_uring)
		setup_io_uring();
	if (opt.share)
		fork_sharer();
	for (int i = 0; i < opt.threads + (opt.call == C_PILOCK); i++)
		start_thread(idle_thread);
	while (opt.call == C_PILOCK && !atomic_load(&pi_owner_tid))
		usleep(1000);
	if (opt.heartbeat)
		start_thread(heartbeat);
	if (opt.epoll_thread)
		start_epoll_thread();
	prepare_report();
	if (opt.ready)
		write_ready();
	if (opt.seccomp)
		install_seccomp();

	struct outcome o = { 0 };
	atomic_store(&in_call, true);
	double t0 = tgt_now_ms();
	run_call(&o);
	o.elapsed = tgt_now_ms() - t0;
	atomic_store(&in_call, false);
	end_epoll_thread();
	judge(&o);
	write_report(&o);
	if (opt.linger) {
		char buf[256];
		while (read(L.fifo_fd, buf, sizeof buf) < 0 && errno == EINTR)
			;
	}

	kill(L.peer_pid, SIGKILL);
	if (L.share_pid > 0)
		kill(L.share_pid, SIGKILL);
	if (L.own_fifo)
		unlink(L.fifo);
	return o.ok ? 0 : 1;
}
