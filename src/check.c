#include "check.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "escape.h"
#include "plan.h"
#include "privs.h"
#include "procfd.h"
#include "procinfo.h"
#include "util.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static struct check_item *add(struct check_report *r, const char *name, enum check_level level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static struct check_item *add(struct check_report *r, const char *name, enum check_level level, const char *fmt, ...)
{
	if (r->n >= ARRAY_SIZE(r->item))
		return NULL;
	struct check_item *it = &r->item[r->n++];
	va_list ap;
	it->name = name;
	it->level = level;
	va_start(ap, fmt);
	vsnprintf(it->detail, sizeof(it->detail), fmt, ap);
	va_end(ap);
	return it;
}

/* The whole status file, however long (procinfo.h): with many
 * supplementary groups Seccomp and TracerPid come after 4 KiB. */
static int read_status(const char *proc_root, pid_t pid, char **text)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	return procinfo_read_file(AT_FDCWD, path, text, NULL);
}

static long status_long(const char *status, const char *name, long dflt)
{
	char v[64];
	return procinfo_status_field(status, name, v, sizeof(v)) == 0 ? strtol(v, NULL, 10) : dflt;
}

static bool has(uint64_t eff, int cap)
{
	return eff & (1ull << cap);
}

static void check_caps(struct check_report *r)
{
	if (privs_cap_eff("/proc", 0, &r->cap_eff) < 0)
		r->cap_eff = 0;
	uint64_t e = r->cap_eff;
	add(r, "capabilities", has(e, PRIV_CAP_SYS_PTRACE) ? CHECK_OK : CHECK_FAIL,
	    "CAP_SYS_PTRACE %s, CAP_DAC_READ_SEARCH %s, CAP_SYS_ADMIN %s, CAP_NET_ADMIN %s%s",
	    has(e, PRIV_CAP_SYS_PTRACE) ? "yes" : "NO", has(e, PRIV_CAP_DAC_READ_SEARCH) ? "yes" : "no",
	    has(e, PRIV_CAP_SYS_ADMIN) ? "yes" : "no", has(e, PRIV_CAP_NET_ADMIN) ? "yes" : "no",
	    has(e, PRIV_CAP_SYS_PTRACE) ? "" : " (acting needs CAP_SYS_PTRACE: run as root, or add it)");
}

static void check_yama(struct check_report *r)
{
	int y = privs_yama_scope();
	r->yama = y < 0 ? -1 : y;
	if (y < 0)
		add(r, "yama", CHECK_OK, "no Yama ptrace policy");
	else if (y == 3)
		add(r, "yama", CHECK_FAIL, "ptrace_scope 3: no process may be traced until reboot");
	else
		add(r, "yama", has(r->cap_eff, PRIV_CAP_SYS_PTRACE) ? CHECK_OK : CHECK_FAIL,
		    "ptrace_scope %d: %s", y, y == 0 ? "classic ptrace permissions" : "CAP_SYS_PTRACE is needed and enough");
}

/* The process itself: its state, and whether sockreap's policy allows it. */
static void check_process(struct check_report *r, const char *status, const struct options *o)
{
	long threads = status_long(status, "Threads", 1);
	if (r->state[0] == 'Z' && threads > 1)
		add(r, "state", CHECK_FAIL, "%s, %ld threads: its main thread has exited; ptrace cannot stop a zombie "
			"leader (its fds are still found, through a live thread)", r->state, threads);
	else if (r->state[0] == 'Z' || r->state[0] == 'X')
		add(r, "state", CHECK_FAIL, "%s: the process has exited", r->state);
	else if (r->state[0] == 'D')
		add(r, "state", CHECK_WARN, "%s: in uninterruptible sleep, it may not stop within the time limit", r->state);
	else if (r->state[0] == 'T')
		add(r, "state", CHECK_INFO, "%s: stopped by job control; it stays stopped afterwards", r->state);
	else
		add(r, "state", CHECK_OK, "%s", r->state);

	_cleanup_free_ pid_t *anc = NULL;
	size_t nanc = 0;
	bool ancestor = false;
	if (plan_ancestors("/proc", getpid(), &anc, &nanc) == 0)
		for (size_t i = 0; i < nanc; i++)
			ancestor |= anc[i] == r->pid;
	if (r->pid == 1)
		add(r, "policy", CHECK_FAIL, "PID 1 is never touched");
	else if (r->pid == getpid())
		add(r, "policy", CHECK_FAIL, "that is sockreap itself");
	else if (ancestor && !o->allow_ancestors)
		add(r, "policy", CHECK_FAIL, "an ancestor of sockreap (your own session): refused without --allow-ancestors");
	else if (u64_list_has(&o->exclude_pid, (uint64_t)r->pid) || str_list_has(&o->exclude_comm, r->comm))
		add(r, "policy", CHECK_FAIL, "excluded by --exclude-pid or --exclude-comm");
	else
		add(r, "policy", CHECK_OK, "not refused by sockreap's rules (LISTEN sockets still are, per socket)");
}

/* Opening /proc/PID/mem needs the same permission as a ptrace attach
 * (PTRACE_MODE_ATTACH: capabilities, Yama, LSMs) and does nothing to the
 * process. */
static void check_ptrace(struct check_report *r, const char *proc_root)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%d/mem", proc_root, (int)r->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		add(r, "ptrace", CHECK_OK, "attach permitted (checked by opening /proc/%d/mem: same rule, no stop)",
		    (int)r->pid);
	} else
		add(r, "ptrace", CHECK_FAIL, "attach not permitted: opening /proc/%d/mem fails with %s", (int)r->pid,
		    strerror(errno));
}

static void check_seccomp(struct check_report *r, const char *status)
{
	r->seccomp = (int)status_long(status, "Seccomp", -1);
	long filters = status_long(status, "Seccomp_filters", 0);
	if (r->seccomp <= 0)
		add(r, "seccomp", CHECK_OK, r->seccomp == 0 ? "none" : "mode unknown (no Seccomp line)");
	else if (has(r->cap_eff, PRIV_CAP_SYS_ADMIN))
		add(r, "seccomp", CHECK_OK, "mode %d (%s, %ld filter%s): suspended while attached (PTRACE_O_SUSPEND_SECCOMP, "
			"CAP_SYS_ADMIN)", r->seccomp, r->seccomp == 1 ? "strict" : "filter", filters, filters == 1 ? "" : "s");
	else
		add(r, "seccomp", CHECK_FAIL, "mode %d (%s): suspending it needs CAP_SYS_ADMIN, which sockreap lacks",
		    r->seccomp, r->seccomp == 1 ? "strict" : "filter");
}

enum check_level check_dispatch(const char *release, bool wine, char *detail, size_t size)
{
	int major = 0, minor = 0;
	bool readable = sscanf(release, "%d.%d", &major, &minor) == 2 && (major > 6 || (major == 6 && minor >= 4));
	if (readable) {
		snprintf(detail, size, "syscall user dispatch read per thread at each stop "
				       "(PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG): a thread using it is passed over%s",
			 wine ? " (the target maps Wine's ntdll.so)" : "");
		return wine ? CHECK_INFO : CHECK_OK;
	}
	if (wine) {
		snprintf(detail, size, "the target maps Wine's ntdll.so, and this kernel (%s) cannot tell which of its "
				       "threads use syscall user dispatch (that needs Linux 6.4): refused", release);
		return CHECK_FAIL;
	}
	snprintf(detail, size, "this kernel (%s) cannot report syscall user dispatch (Linux 6.4 can): only a target "
			       "that maps Wine's ntdll.so is known to use it, and refused; this one does not", release);
	return CHECK_INFO;
}

static void check_dispatch_of(struct check_report *r, const char *proc_root)
{
	char path[128], detail[sizeof(r->item[0].detail)];
	_cleanup_free_ char *maps = NULL;
	struct utsname u;
	snprintf(path, sizeof(path), "%s/%d/maps", proc_root, (int)r->pid);
	size_t len = 0;
	bool wine = procinfo_read_file(AT_FDCWD, path, &maps, &len) == 0 && procinfo_maps_wine(maps);
	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "unknown");
	enum check_level level = check_dispatch(u.release, wine, detail, sizeof(detail));
	add(r, "dispatch", level, "%s", detail);
}

static void check_tracer(struct check_report *r, const char *status, const char *proc_root)
{
	r->tracer_pid = status_long(status, "TracerPid", 0);
	if (!r->tracer_pid) {
		add(r, "tracer", CHECK_OK, "not traced");
		return;
	}
	char path[128], comm[64] = "?", shown[80];
	snprintf(path, sizeof(path), "%s/%ld/comm", proc_root, r->tracer_pid);
	ssize_t n = read_small_file(AT_FDCWD, path, comm, sizeof(comm));
	if (n > 0 && comm[n - 1] == '\n')
		comm[n - 1] = '\0';
	memcpy(r->tracer_comm, comm, MIN(strlen(comm) + 1, sizeof(r->tracer_comm) - 1));
	esc_term_buf(shown, sizeof(shown), r->tracer_comm);
	add(r, "tracer", CHECK_FAIL, "already traced by PID %ld (%s): only one tracer at a time", r->tracer_pid, shown);
}

/* The fd directory, and a zombie leader's through a live thread. */
static DIR *open_fds(const char *proc_root, pid_t pid, const char *state, int *err)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%d/fd", proc_root, (int)pid);
	DIR *d = opendir(path);
	*err = d ? 0 : errno;
	if (d && state[0] != 'Z')
		return d;
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "%s/%d/task", proc_root, (int)pid);
	DIR *t = opendir(path);
	struct dirent *de;
	d = NULL;
	while (t && !d && (de = readdir(t))) {
		if (de->d_name[0] == '.' || atoi(de->d_name) == pid)
			continue;
		snprintf(path, sizeof(path), "%s/%d/task/%s/fd", proc_root, (int)pid, de->d_name);
		d = opendir(path);
	}
	if (t)
		closedir(t);
	return d;
}

/* Open fds and the first socket fd, from the fd directory. */
static void count_fds(struct check_report *r, const char *proc_root, int *sockfd)
{
	int err;
	*sockfd = -1;
	r->fds_open = -1;
	DIR *d = open_fds(proc_root, r->pid, r->state, &err);
	if (!d) {
		add(r, "fds", CHECK_FAIL, "its fds cannot be read: %s%s", strerror(err),
		    err == EACCES && !has(r->cap_eff, PRIV_CAP_DAC_READ_SEARCH) ? " (another user's /proc/PID/fd needs "
										 "CAP_DAC_READ_SEARCH)" : "");
		return;
	}
	struct dirent *de;
	long n = 0;
	bool denied = false;
	while ((de = readdir(d))) {
		uint64_t fd;
		if (parse_u64(de->d_name, INT32_MAX, &fd) < 0)
			continue;
		n++;
		char link[64];
		ssize_t k = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (k < 0) {
			denied |= errno == EACCES || errno == EPERM;
			continue;
		}
		link[k] = '\0';
		if (*sockfd < 0 && procfd_socket_inode(link))
			*sockfd = (int)fd;
	}
	closedir(d);
	r->fds_open = n;
	if (denied)
		add(r, "fds", CHECK_FAIL, "its fd links cannot be read: it is more privileged than sockreap");
}

static void check_headroom(struct check_report *r, const char *proc_root)
{
	char path[128], buf[8192];
	r->fd_soft = r->fd_hard = -1;
	snprintf(path, sizeof(path), "%s/%d/limits", proc_root, (int)r->pid);
	if (read_small_file(AT_FDCWD, path, buf, sizeof(buf)) > 0) {
		const char *p = strstr(buf, "Max open files");
		char soft[32], hard[32];
		if (p && sscanf(p + 14, " %31s %31s", soft, hard) == 2) {
			r->fd_soft = !strcmp(soft, "unlimited") ? -2 : strtol(soft, NULL, 10);
			r->fd_hard = !strcmp(hard, "unlimited") ? -2 : strtol(hard, NULL, 10);
		}
	}
	if (r->fds_open < 0 || r->fd_soft == -1)
		add(r, "fd headroom", CHECK_INFO, "unknown (%s)", r->fds_open < 0 ? "fds unreadable" : "no limits file");
	else if (r->fd_soft == -2)
		add(r, "fd headroom", CHECK_OK, "%ld fds open, no limit", r->fds_open);
	else {
		long free_fds = r->fd_soft - r->fds_open;
		add(r, "fd headroom", free_fds >= 1 ? CHECK_OK : CHECK_WARN,
		    "%ld of %ld (soft limit RLIMIT_NOFILE) open, %ld free%s", r->fds_open, r->fd_soft, MAX(free_fds, 0L),
		    free_fds >= 1 ? "" : ": a method that needs a new fd in the target (a placeholder) cannot get one");
	}
}

/* pidfd_getfd on one of its socket fds: the duplicate is one more
 * reference to the socket, closed at once (it never is the last one
 * while the target holds the fd). */
static void check_pidfd(struct check_report *r, int sockfd)
{
	int pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);
	if (pidfd < 0) {
		int e = errno;
		r->pidfd = e == ENOSYS ? "unsupported" : "failed";
		add(r, "pidfd_getfd", CHECK_INFO, "pidfd_open: %s%s", strerror(e),
		    e == ENOSYS ? " (Linux < 5.3): --shutdown and --reset stop the target instead" : "");
		return;
	}
	if (sockfd < 0) {
		close(pidfd);
		r->pidfd = "not-tried";
		add(r, "pidfd_getfd", CHECK_INFO, "not tried: the process holds no socket fd we could see");
		return;
	}
	int dup = (int)syscall(SYS_pidfd_getfd, pidfd, sockfd, 0);
	int e = errno;
	if (dup >= 0)
		close(dup);
	close(pidfd);
	if (dup >= 0) {
		r->pidfd = "works";
		add(r, "pidfd_getfd", CHECK_OK, "works (its fd %d duplicated and closed at once): --shutdown and --reset "
			"act without stopping it", sockfd);
	} else {
		r->pidfd = e == ENOSYS ? "unsupported" : e == EPERM || e == EACCES ? "denied" : "failed";
		add(r, "pidfd_getfd", CHECK_INFO, "on its fd %d: %s%s", sockfd, strerror(e),
		    e == ENOSYS ? " (Linux < 5.6)" : "; --shutdown and --reset stop the target instead");
	}
}

/* SOCK_DESTROY of a TCP listener we own, found by its address and cookie:
 * 0 when the kernel destroyed it. */
static int destroy_own_listener(bool any_addr)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(any_addr ? INADDR_ANY : INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	uint64_t cookie = 0;
	socklen_t clen = sizeof(cookie);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &alen) < 0 || getsockopt(s, SOL_SOCKET, SO_COOKIE, &cookie, &clen) < 0)
		return -errno;

	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	int r = 0;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto out;
	}
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DESTROY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	*req = (struct inet_diag_req_v2){
		.sdiag_family = AF_INET,
		.sdiag_protocol = IPPROTO_TCP,
		.idiag_states = ~0u,
		.id = { .idiag_sport = a.sin_port, .idiag_src = { a.sin_addr.s_addr },
			.idiag_cookie = { (uint32_t)cookie, (uint32_t)(cookie >> 32) } },
	};
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		r = -errno;
		goto out;
	}
	ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0) {
		r = -errno;
		goto out;
	}
	nlh = (struct nlmsghdr *)buf;
	if ((size_t)n < sizeof(*nlh) + sizeof(struct nlmsgerr) || nlh->nlmsg_type != NLMSG_ERROR) {
		r = -EBADMSG;
		goto out;
	}
	r = ((struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
	if (r == 0) {
		/* destroyed: tcp_abort() leaves ECONNABORTED on the listener */
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != ECONNABORTED)
			r = -EPROTO;
	}
out:
	mnl_socket_close(nl);
	return r;
}

int check_sock_destroy(bool *private_netns)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t child = fork();
	if (child < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -errno;
	}
	if (child == 0) {
		/* A network namespace of our own: the probe socket is never
		 * reachable from anywhere. Without CAP_SYS_ADMIN, a loopback
		 * socket of ours in the current one. */
		int res[2];
		res[1] = unshare(CLONE_NEWNET) == 0;
		res[0] = destroy_own_listener(res[1]);
		ssize_t w = write(pfd[1], res, sizeof(res));
		_exit(w == sizeof(res) ? 0 : 1);
	}
	close(pfd[1]);
	int res[2] = { -ETIMEDOUT, 0 }, status;
	uint64_t deadline = now_ns() + 5000ull * 1000 * 1000;
	while (waitpid(child, &status, WNOHANG) == 0) {
		if (now_ns() >= deadline) {
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
			break;
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (read(pfd[0], res, sizeof(res)) != sizeof(res))
		res[0] = res[0] == -ETIMEDOUT ? -ETIMEDOUT : -EIO;
	close(pfd[0]);
	*private_netns = res[1];
	return res[0];
}

static void check_destroy(struct check_report *r)
{
	bool priv = false;
	int e = check_sock_destroy(&priv);
	const char *where = priv ? "on a socket of sockreap's own in a private network namespace"
				 : "on a loopback socket of sockreap's own";
	if (e == 0) {
		r->destroy = "supported";
		add(r, "SOCK_DESTROY", CHECK_OK, "supported (probed %s: the kernel destroyed it)", where);
	} else if (e == -EOPNOTSUPP) {
		r->destroy = "unsupported";
		add(r, "SOCK_DESTROY", CHECK_INFO, "not supported: the kernel lacks CONFIG_INET_DIAG_DESTROY (probed %s)",
		    where);
	} else if (e == -EPERM || e == -EACCES) {
		r->destroy = "denied";
		add(r, "SOCK_DESTROY", CHECK_INFO, "not permitted: needs CAP_NET_ADMIN (probed %s)", where);
	} else {
		r->destroy = "unknown";
		add(r, "SOCK_DESTROY", CHECK_INFO, "unknown: the probe %s failed: %s", where, strerror(-e));
	}
}

/* The ELF class and machine of a file's header. */
static int elf_kind(const char *path, uint8_t *cls, uint16_t *machine)
{
	unsigned char h[20];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, h, sizeof(h)) != sizeof(h) || memcmp(h, ELFMAG, SELFMAG) != 0)
		return -ENOEXEC;
	*cls = h[EI_CLASS];
	*machine = (uint16_t)(h[18] | h[19] << 8); /* little-endian hosts */
	return 0;
}

/* The engine injects into processes of sockreap's own kind only, and not
 * at all in a build without injection for its architecture (arch none.c). */
static void check_arch(struct check_report *r, const char *proc_root)
{
	char path[128];
	uint8_t c1, c2;
	uint16_t m1, m2;
	const char *no_inject = arch_inject_refusal();
	snprintf(path, sizeof(path), "%s/%d/exe", proc_root, (int)r->pid);
	if (no_inject)
		add(r, "architecture", CHECK_FAIL, "%s", no_inject);
	else if (elf_kind(path, &c2, &m2) < 0 || elf_kind("/proc/self/exe", &c1, &m1) < 0)
		add(r, "architecture", CHECK_INFO, "unknown (its executable cannot be read)");
	else if (c1 != c2 || m1 != m2)
		add(r, "architecture", CHECK_FAIL, "a %d-bit executable of machine %u: sockreap injects only into %d-bit "
			"machine %u processes", c2 == ELFCLASS32 ? 32 : 64, m2, c1 == ELFCLASS32 ? 32 : 64, m1);
	else
		add(r, "architecture", CHECK_OK, "%d-bit %s, same as sockreap", c1 == ELFCLASS32 ? 32 : 64, arch_name);
}

int check_run(const char *proc_root, pid_t pid, const struct options *o, struct check_report *r)
{
	_cleanup_free_ char *status = NULL;
	*r = (struct check_report){ .pid = pid, .yama = -1, .seccomp = -1, .pidfd = "not-tried", .destroy = "unknown" };
	if (read_status(proc_root, pid, &status) < 0)
		return -ESRCH;
	r->exists = true;
	procinfo_status_field(status, "State", r->state, sizeof(r->state));
	char path[128], comm[64];
	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int)pid);
	ssize_t n = read_small_file(AT_FDCWD, path, comm, sizeof(comm));
	if (n > 0 && comm[n - 1] == '\n')
		comm[--n] = '\0';
	if (n > 0)
		memcpy(r->comm, comm, MIN((size_t)n + 1, sizeof(r->comm) - 1));

	int sockfd;
	check_caps(r);
	check_yama(r);
	check_process(r, status, o);
	check_arch(r, proc_root);
	check_ptrace(r, proc_root);
	check_seccomp(r, status);
	check_dispatch_of(r, proc_root);
	check_tracer(r, status, proc_root);
	count_fds(r, proc_root, &sockfd);
	check_headroom(r, proc_root);
	check_pidfd(r, sockfd);
	check_destroy(r);
	r->would_work = true;
	for (size_t i = 0; i < r->n; i++)
		r->would_work &= r->item[i].level != CHECK_FAIL;
	return 0;
}

static const char *level_name(enum check_level l)
{
	static const char *const names[] = { "ok", "info", "warn", "FAIL" };
	return names[l];
}

static void print_json(FILE *f, const struct check_report *r)
{
	fprintf(f, "{\"pid\":%d,", (int)r->pid);
	esc_json_field(f, "comm", r->comm);
	fputs(",\"state\":", f);
	esc_json(f, r->state);
	fprintf(f, ",\"would_work\":%s,\"cap_eff\":\"0x%" PRIx64 "\",\"cap_sys_ptrace\":%s,\"cap_dac_read_search\":%s,"
		   "\"cap_sys_admin\":%s,\"cap_net_admin\":%s,",
		r->would_work ? "true" : "false", r->cap_eff, has(r->cap_eff, PRIV_CAP_SYS_PTRACE) ? "true" : "false",
		has(r->cap_eff, PRIV_CAP_DAC_READ_SEARCH) ? "true" : "false",
		has(r->cap_eff, PRIV_CAP_SYS_ADMIN) ? "true" : "false", has(r->cap_eff, PRIV_CAP_NET_ADMIN) ? "true" : "false");
	if (r->yama >= 0)
		fprintf(f, "\"yama_ptrace_scope\":%d,", r->yama);
	else
		fputs("\"yama_ptrace_scope\":null,", f);
	fprintf(f, "\"seccomp\":%d,\"tracer_pid\":%ld,", r->seccomp, r->tracer_pid);
	esc_json_field(f, "tracer_comm", r->tracer_pid ? r->tracer_comm : NULL);
	fprintf(f, ",\"pidfd_getfd\":\"%s\",\"sock_destroy\":\"%s\",", r->pidfd, r->destroy);
	fprintf(f, r->fds_open >= 0 ? "\"fds_open\":%ld," : "\"fds_open\":null,", r->fds_open);
	if (r->fd_soft >= 0)
		fprintf(f, "\"fd_limit\":%ld,", r->fd_soft);
	else
		fputs("\"fd_limit\":null,", f);
	fputs("\"checks\":[", f);
	for (size_t i = 0; i < r->n; i++) {
		fprintf(f, "%s{\"check\":\"%s\",\"status\":\"%s\",", i ? "," : "", r->item[i].name,
			r->item[i].level == CHECK_FAIL ? "fail" : level_name(r->item[i].level));
		esc_json_field(f, "detail", r->item[i].detail);
		fputc('}', f);
	}
	fputs("]}\n", f);
}

void check_print(FILE *f, const struct check_report *r, bool json)
{
	if (json) {
		print_json(f, r);
		return;
	}
	fprintf(f, "pid %d (", (int)r->pid);
	esc_term(f, r->comm);
	fputs("):\n", f);
	for (size_t i = 0; i < r->n; i++) {
		fprintf(f, "  %-4s  %-13s ", level_name(r->item[i].level), r->item[i].name);
		esc_term(f, r->item[i].detail);
		fputc('\n', f);
	}
	if (r->would_work) {
		fprintf(f, "acting on pid %d would work: close stops it briefly through ptrace; --shutdown and --reset %s\n",
			(int)r->pid, !strcmp(r->pidfd, "works") ? "act on pidfd_getfd duplicates without stopping it"
							       : "stop it briefly too (no pidfd_getfd)");
		return;
	}
	fprintf(f, "acting on pid %d would not work (", (int)r->pid);
	bool first = true;
	for (size_t i = 0; i < r->n; i++)
		if (r->item[i].level == CHECK_FAIL) {
			fprintf(f, "%s%s", first ? "" : ", ", r->item[i].name);
			first = false;
		}
	fputs(": see above)\n", f);
}
