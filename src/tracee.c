#include "tracee.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procinfo.h"
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

/* Stops come within microseconds when the tracee is on a CPU, so spin on
 * WNOHANG briefly (measured: 30 us per injected call against 50 us when
 * yielding the CPU instead), then back off to short sleeps up to
 * the deadline. No signals or timers are involved, so a wait never changes
 * sockreap's own signal disposition and always ends by the deadline. */
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

static int real_wait(pid_t tid, int *status, uint64_t deadline_ns)
{
	for (unsigned spin = 0;; spin++) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ns() >= deadline_ns)
			return -ETIMEDOUT;
		if (spin % 1024 == 1023 && task_dead(tid))
			return -ESRCH;
		if (spin < 20000)
			cpu_relax();
		else {
			struct timespec ts = { 0, spin < 4000 ? 20000 : 200000 };
			nanosleep(&ts, NULL);
		}
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
 * pages in one call; process_vm_readv would refuse non-readable mappings. */
static int mem_io(pid_t pid, uint64_t addr, void *buf, size_t len, bool write)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	_cleanup_close_ int fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write ? pwrite(fd, buf, len, (off_t)addr) : pread(fd, buf, len, (off_t)addr);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
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
};
