#include "tracee.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "privs.h"
#include "procinfo.h"
#include "unwind.h"
#include "util.h"

static int read_proc_text(pid_t pid, const char *name, char **text);

static int ret_errno(long r)
{
	return r < 0 ? -errno : 0;
}

static int real_seize(pid_t tid, unsigned long options)
{
	return ret_errno(ptrace(PTRACE_SEIZE, tid, 0, options));
}

static int real_interrupt(pid_t tid)
{
	return ret_errno(ptrace(PTRACE_INTERRUPT, tid, 0, 0));
}

/* A task that exited, or a zombie thread-group leader: the kernel reports
 * a leader's exit only after every other thread was reaped, so waiting for
 * it alone could last for ever when the process was killed under us. */
static bool task_dead(pid_t tid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)tid);
	if (read_small_file(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return true;
	const char *p = strrchr(buf, ')');
	return !p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X';
}

/* Stops come within microseconds when the tracee is on a CPU: first a short
 * spin on WNOHANG (an injected call's stop comes in ~10 us), then sleep
 * until the kernel's SIGCHLD for a tracee's stop or exit, at most 5 ms at a
 * time, up to the deadline. SIGCHLD is blocked in the waiting thread and
 * taken with sigtimedwait: it never runs a handler or interrupts anything
 * (sockreap has no other use for it; its other threads block every
 * signal). Spinning longer would take a CPU from the very threads that
 * must run to reach their stops (2 CPUs, a loaded machine). */
#define WAIT_SPIN_NS (30ull * 1000)
#define WAIT_SLEEP_MAX_NS (5ull * 1000 * 1000)

static int real_wait(pid_t tid, int *status, uint64_t deadline_ns)
{
	static __thread bool chld_blocked;
	sigset_t chld;
	uint64_t spin_until = 0;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (!chld_blocked) {
		pthread_sigmask(SIG_BLOCK, &chld, NULL);
		chld_blocked = true;
	}
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		uint64_t now = now_ns();
		if (now >= deadline_ns)
			return -ETIMEDOUT;
		if (!spin_until)
			spin_until = now + WAIT_SPIN_NS;
		if (now < spin_until) {
			cpu_relax();
			continue;
		}
		if (task_dead(tid))
			return -ESRCH;
		uint64_t left = MIN(deadline_ns - now, WAIT_SLEEP_MAX_NS);
		struct timespec ts = { (time_t)(left / 1000000000u), (long)(left % 1000000000u) };
		sigtimedwait(&chld, NULL, &ts);
	}
}

/* The registers are the arch's register sets, each read whole (a short
 * one would leave part of struct arch_regs undefined) and written back in
 * the same order. */
static int real_getregs(pid_t tid, struct arch_regs *r)
{
	if (!arch_nregsets)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < arch_nregsets; i++) {
		const struct arch_regset *rs = &arch_regsets[i];
		struct iovec iov = { (uint8_t *)r + rs->offset, rs->size };
		if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)rs->type, &iov) < 0)
			return -errno;
		if (iov.iov_len != rs->size)
			return -EIO;
	}
	return 0;
}

static int real_setregs(pid_t tid, const struct arch_regs *r)
{
	if (!arch_nregsets)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < arch_nregsets; i++) {
		const struct arch_regset *rs = &arch_regsets[i];
		struct iovec iov = { (void *)((const uint8_t *)r + rs->offset), rs->size };
		if (ptrace(PTRACE_SETREGSET, tid, (void *)(long)rs->type, &iov) < 0)
			return -errno;
	}
	return 0;
}

static int real_getsigmask(pid_t tid, uint64_t *mask)
{
	return ret_errno(ptrace(PTRACE_GETSIGMASK, tid, sizeof(*mask), mask));
}

static int real_setsigmask(pid_t tid, uint64_t mask)
{
	return ret_errno(ptrace(PTRACE_SETSIGMASK, tid, sizeof(mask), &mask));
}

static int real_resume(pid_t tid, bool to_syscall, int sig)
{
	return ret_errno(ptrace(to_syscall ? PTRACE_SYSCALL : PTRACE_CONT, tid, 0, sig));
}

static int real_getregset(pid_t tid, int type, void *buf, size_t *len)
{
	struct iovec iov = { buf, *len };
	if (ptrace(PTRACE_GETREGSET, tid, (void *)(long)type, &iov) < 0)
		return -errno;
	*len = iov.iov_len;
	return 0;
}

static int real_read_status(pid_t pid, char **text)
{
	return read_proc_text(pid, "status", text);
}

static int real_detach(pid_t tid, int sig)
{
	return ret_errno(ptrace(PTRACE_DETACH, tid, 0, sig));
}

static int real_geteventmsg(pid_t tid, unsigned long *msg)
{
	return ret_errno(ptrace(PTRACE_GETEVENTMSG, tid, 0, msg));
}

static int real_list_threads(pid_t pid, pid_t **tids, size_t *n)
{
	char path[64];
	size_t cap = 0;
	pid_t *v = NULL;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	*n = 0;
	while ((de = readdir(d))) {
		uint64_t tid;
		if (parse_u64(de->d_name, INT32_MAX, &tid) < 0)
			continue;
		if (GROW(v, cap, *n) < 0) {
			closedir(d);
			free(v);
			return -ENOMEM;
		}
		v[(*n)++] = (pid_t)tid;
	}
	closedir(d);
	*tids = v;
	return 0;
}

/* The whole text of /proc/PID/NAME, malloc'ed and NUL-terminated. */
static int read_proc_text(pid_t pid, const char *name, char **text)
{
	char path[64], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return -ENOMEM;
	char chunk[4096];
	size_t k;
	while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, k, m);
	if (fclose(m) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*text = buf;
	return 0;
}

static int real_read_maps(pid_t pid, char **text)
{
	return read_proc_text(pid, "maps", text);
}

/* /proc/PID/mem works for a traced (stopped) process and reads across
 * pages in one call; process_vm_readv would refuse non-readable mappings.
 * It is opened once per target and kept: the engine reads the
 * executor's progress words in a tight loop, and an open() of it costs
 * more than the read (access checks, the mm). The fd holds no memory of
 * the target's (only its mm_struct, not its pages). It sees the address
 * space it was opened on: after an execve, or for a pid that a new
 * process got, it reads nothing, and the file is opened again once. */
static __thread struct { pid_t pid; int fd; } memfd = { 0, -1 };

static int mem_open(pid_t pid, bool fresh)
{
	char path[64];
	if (memfd.fd >= 0 && memfd.pid == pid && !fresh)
		return memfd.fd;
	memfd.fd = safe_close(memfd.fd);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memfd.pid = pid;
	return memfd.fd = fd;
}

static int mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	int r = -EIO;
	for (int attempt = 0; attempt < 2 && r < 0; attempt++) {
		int fd = mem_open(pid, attempt > 0);
		if (fd < 0)
			return fd;
		ssize_t n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
		r = n < 0 ? -errno : (size_t)n == len ? 0 : -EIO;
	}
	return r;
}

static int real_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	return mem_io(pid, addr, buf, len, false);
}

static int real_write_mem(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	return mem_io(pid, addr, (void *)buf, len, true);
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int real_list_fds(pid_t pid, int **fds, size_t *n)
{
	char path[64];
	size_t cap = 0;
	int *v = NULL;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -errno;
	*n = 0;
	while ((de = readdir(d))) {
		uint64_t fd;
		if (parse_u64(de->d_name, INT32_MAX, &fd) < 0)
			continue;
		if (GROW(v, cap, *n) < 0) {
			closedir(d);
			free(v);
			return -ENOMEM;
		}
		v[(*n)++] = (int)fd;
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof(*v), int_cmp);
	*fds = v;
	return 0;
}

static int real_start_time(pid_t pid, uint64_t *ticks)
{
	return procinfo_pid_start_time("/proc", pid, ticks, NULL);
}

static int real_wait_any(pid_t *tid, int *status)
{
	pid_t r = waitpid(-1, status, __WALL | WNOHANG);
	if (r > 0)
		*tid = r;
	return r > 0 ? 0 : r == 0 ? -EAGAIN : -errno;
}

static int real_exiting(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *text = NULL;
	uint64_t flags;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int r = procinfo_read_file(AT_FDCWD, path, &text, NULL);
	if (r < 0)
		return r;
	if (procinfo_stat_u64(text, 9, &flags) < 0)
		return -EINVAL;
	return (flags & 0x4) != 0; /* PF_EXITING (include/linux/sched.h) */
}

static int real_reap_exited(pid_t tid)
{
	siginfo_t si = { 0 };
	/* WNOWAIT: look without taking; a ptrace stop is reported here too
	 * (whatever the flags) and must stay for the engine's own wait. */
	if (waitid(P_PID, (id_t)tid, &si, WEXITED | __WALL | WNOHANG | WNOWAIT) < 0)
		return errno == EINTR ? 0 : -errno;
	if (si.si_pid != tid || (si.si_code != CLD_EXITED && si.si_code != CLD_KILLED && si.si_code != CLD_DUMPED))
		return 0;
	int status;
	return waitpid(tid, &status, __WALL | WNOHANG) == tid ? 1 : 0;
}

static int real_reap_exited_threads(pid_t pid)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t n = 0;
	int reaped = 0;
	int r = real_list_threads(pid, &tids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		reaped += real_reap_exited(tids[i]) == 1;
	return reaped;
}

/* The whole file, however long (see procinfo.h): a field missing because
 * a buffer was short would make the engine misjudge the target. */
static int real_status_field(pid_t pid, const char *name, char *out, size_t size)
{
	return procinfo_pid_status_field("/proc", pid, name, out, size);
}

static int real_cpus_with(pid_t tid)
{
	cpu_set_t ours, theirs, both;
	if (sched_getaffinity(0, sizeof(ours), &ours) < 0 || sched_getaffinity(tid, sizeof(theirs), &theirs) < 0)
		return -errno;
	CPU_OR(&both, &ours, &theirs);
	return CPU_COUNT(&both);
}

/* PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG (Linux 6.4; not in every
 * libc's headers): the thread's syscall user dispatch mode. */
#ifndef PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG
#define PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG 0x4211
#endif
struct sud_config {
	uint64_t mode, selector, offset, len;
};

static int real_sud_mode(pid_t tid)
{
	struct sud_config c = { 0 };
	if (ptrace(PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG, tid, sizeof(c), &c) < 0)
		return -errno;
	return c.mode > INT32_MAX ? INT32_MAX : (int)c.mode;
}

static int real_setoptions(pid_t tid, unsigned long options)
{
	return ret_errno(ptrace(PTRACE_SETOPTIONS, tid, 0, options));
}

static bool real_may_suspend_seccomp(void)
{
	char own[32];
	return privs_have(PRIV_CAP_SYS_ADMIN) &&
	       procinfo_pid_status_field("/proc", getpid(), "Seccomp", own, sizeof(own)) == 0 && !strcmp(own, "0");
}

static int real_boost(bool on)
{
	/* per sockreap thread; what it ran with before, -1: not boosted */
	static __thread int policy = -1;
	static __thread struct sched_param param;
	static __thread bool refused;
	if (on) {
		if (refused || policy >= 0)
			return refused ? -EPERM : 0;
		int was = sched_getscheduler(0);
		if (was < 0 || sched_getparam(0, &param) < 0)
			return -errno;
		if (was != SCHED_OTHER && was != SCHED_BATCH)
			return 0; /* already real-time, or idle: as the operator chose */
		/* not SCHED_RESET_ON_FORK: without CAP_SYS_NICE (RLIMIT_RTPRIO
		 * allowing the boost) that flag can never be cleared again, nor
		 * the policy put back; sockreap forks nothing while boosted */
		if (sched_setscheduler(0, SCHED_FIFO, &(struct sched_param){ .sched_priority = 1 }) < 0) {
			refused = errno == EPERM;
			return -errno;
		}
		policy = was;
		return 0;
	}
	if (policy < 0)
		return 0;
	if (sched_setscheduler(0, policy, &param) < 0) {
		/* cannot be (a lower policy is always allowed): never again */
		refused = true;
		return -errno;
	}
	policy = -1;
	return 0;
}

const struct tracee_ops tracee_real = {
	.seize = real_seize,
	.interrupt = real_interrupt,
	.wait = real_wait,
	.getregs = real_getregs,
	.setregs = real_setregs,
	.getsigmask = real_getsigmask,
	.setsigmask = real_setsigmask,
	.resume = real_resume,
	.detach = real_detach,
	.geteventmsg = real_geteventmsg,
	.list_threads = real_list_threads,
	.read_maps = real_read_maps,
	.read_mem = real_read_mem,
	.write_mem = real_write_mem,
	.status_field = real_status_field,
	.getregset = real_getregset,
	.read_status = real_read_status,
	.list_fds = real_list_fds,
	.start_time = real_start_time,
	.reap_exited = real_reap_exited,
	.reap_exited_threads = real_reap_exited_threads,
	.exiting = real_exiting,
	.signal_context = unwind_signal_context,
	.wait_any = real_wait_any,
	.cpus_with = real_cpus_with,
	.boost = real_boost,
	.sud_mode = real_sud_mode,
	.setoptions = real_setoptions,
	.may_suspend_seccomp = real_may_suspend_seccomp,
};
