#include "act.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "inject.h"
#include "pidfd.h"
#include "procfd.h"
#include "unwind.h"
#include "util.h"

volatile sig_atomic_t act_interrupted;

#define PROC_ROOT "/proc"

/* What the engine must do inside the target for one row. */
enum step { STEP_NONE, STEP_CLOSE, STEP_SHUTDOWN, STEP_LINGER_CLOSE };

struct job {
	struct plan *p;
	const struct options *o;
	size_t *idx;          /* rows of this process, by fd */
	enum step *step;      /* per row of idx */
	size_t n;
	pid_t pid;
};

static void set_result(struct row *rw, enum result res, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_result(struct row *rw, enum result res, int err, const char *fmt, ...)
{
	rw->result = res;
	rw->err = err;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(rw->detail, sizeof(rw->detail), fmt, ap);
		va_end(ap);
		rw->reason = rw->detail;
	}
}

static const struct owner *owner_of(const struct plan *p, const struct row *rw)
{
	return &p->owners.v[rw->owner];
}

static int by_pid_fd(const void *a, const void *b, void *arg)
{
	const struct plan *p = arg;
	const struct owner *x = owner_of(p, &p->rows[*(const size_t *)a]);
	const struct owner *y = owner_of(p, &p->rows[*(const size_t *)b]);
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* The outcome of a pidfd attempt for a row: true if the row is settled
 * (done, skipped, failed), false if the engine must take over. */
static bool pidfd_settled(struct row *rw, int r, const char *what)
{
	switch (r) {
	case 0:
		return false;
	case -ENOSYS:
	case -EPERM:
	case -EACCES:
		return false; /* no pidfd_getfd here, or refused: inject instead */
	case -ESTALE:
		set_result(rw, RES_SKIPPED, 0, "fd reused: the fd is no longer this socket");
		return true;
	case -ESRCH:
	case -EBADF:
		set_result(rw, RES_SKIPPED, 0, "the process or its fd is gone");
		return true;
	default:
		set_result(rw, RES_FAILED, -r, "%s on a pidfd_getfd duplicate failed", what);
		return true;
	}
}

/* shutdown and --reset's SO_LINGER from outside; decide the engine steps. */
static void plan_steps(struct job *j)
{
	const struct options *o = j->o;
	for (size_t k = 0; k < j->n; k++) {
		struct row *rw = &j->p->rows[j->idx[k]];
		const struct owner *ow = owner_of(j->p, rw);
		uint64_t cookie = j->p->socks.v[rw->sock].cookie;
		int r;

		switch (o->method) {
		case METHOD_CLOSE:
			j->step[k] = STEP_CLOSE;
			break;
		case METHOD_SHUTDOWN:
			j->step[k] = STEP_SHUTDOWN;
			if (o->inject)
				break;
			r = pidfd_shutdown(ow->pid, ow->fd, cookie, o->how);
			if (r == 0 || r == -ENOTCONN) { /* ENOTCONN: already shut, e.g. through another owner */
				set_result(rw, RES_DONE, 0, NULL);
				j->step[k] = STEP_NONE;
			} else if (pidfd_settled(rw, r, "shutdown"))
				j->step[k] = STEP_NONE;
			break;
		case METHOD_DESTROY: /* act_destroy_run: nothing runs in the target */
			j->step[k] = STEP_NONE;
			break;
		case METHOD_RESET:
			j->step[k] = STEP_LINGER_CLOSE;
			if (o->inject)
				break;
			r = pidfd_set_linger0(ow->pid, ow->fd, cookie);
			if (r == 0)
				j->step[k] = STEP_CLOSE; /* linger set: the close remains */
			else if (pidfd_settled(rw, r, "SO_LINGER"))
				j->step[k] = STEP_NONE;
			break;
		}
	}
}

/* Result of an injected close: Linux frees the fd even when close()
 * reports EINTR or EIO, so those count as done (verify checks). */
static void close_result(struct row *rw, long ret)
{
	if (ret == 0 || ret == -EINTR || ret == -EIO)
		set_result(rw, RES_DONE, 0, NULL);
	else if (ret == -EBADF)
		set_result(rw, RES_SKIPPED, 0, "the fd was already closed");
	else
		set_result(rw, RES_FAILED, (int)-ret, "close() in the target failed");
}

/* SO_LINGER {1, 0} by injection: the option value must be in the target's
 * memory. Borrow 8 bytes of its stack below the red zone (unused by
 * definition while the thread is stopped) and put them back byte for byte. */
static int inject_linger0(struct inj *t, int fd, long *ret)
{
	static const struct linger l0 = { .l_onoff = 1, .l_linger = 0 };
	uint8_t saved[sizeof(l0)];
	int r;

	if ((r = inj_prepare(t)) < 0)
		return r;
	uint64_t addr = (arch_sp(&t->saved) - 128 - 64) & ~(uint64_t)15;
	if ((r = t->ops->read_mem(t->pid, addr, saved, sizeof(saved))) < 0 ||
	    (r = t->ops->write_mem(t->pid, addr, &l0, sizeof(l0))) < 0)
		return r;
	uint64_t args[6] = { (uint64_t)fd, SOL_SOCKET, SO_LINGER, addr, sizeof(l0), 0 };
	r = inj_call(t, ASYS_SETSOCKOPT, args, ret);
	int w = t->ops->write_mem(t->pid, addr, saved, sizeof(saved));
	return r < 0 ? r : w;
}

/* Killed, or exiting: its fds are gone with it. While we hold it, a live
 * target is in "t (tracing stop)"; a SIGKILL wakes it to exit. */
static bool target_gone(pid_t pid)
{
	char state[32];
	return tracee_real.status_field(pid, "State", state, sizeof(state)) < 0 || state[0] != 't';
}

/* Mark the rows from k on that the engine still had to do. */
static void abandon(struct job *j, size_t k, int err, const char *why)
{
	for (; k < j->n; k++)
		if (j->step[k] != STEP_NONE) {
			set_result(&j->p->rows[j->idx[k]], err == ESRCH ? RES_SKIPPED : RES_FAILED,
				   err == ESRCH ? 0 : err, "%s", why);
			j->step[k] = STEP_NONE;
		}
}

/* close_range(2) for a run of consecutive fds, all verified ours: one call
 * instead of many. Falls back to close() when the kernel lacks it. */
static int close_run(struct job *j, struct inj *t, size_t k, size_t end)
{
	int first = owner_of(j->p, &j->p->rows[j->idx[k]])->fd;
	int last = owner_of(j->p, &j->p->rows[j->idx[end - 1]])->fd;
	long ret;
	int r;

	if (end - k >= 2) {
		uint64_t args[6] = { (uint64_t)first, (uint64_t)last, 0 };
		if ((r = inj_call(t, ASYS_CLOSE_RANGE, args, &ret)) < 0)
			return r;
		if (ret == 0) {
			for (size_t i = k; i < end; i++)
				set_result(&j->p->rows[j->idx[i]], RES_DONE, 0, NULL);
			return 0;
		}
		/* -ENOSYS (before 5.9) or -EINVAL: one by one below */
	}
	for (size_t i = k; i < end; i++) {
		uint64_t args[6] = { (uint64_t)owner_of(j->p, &j->p->rows[j->idx[i]])->fd };
		if ((r = inj_call(t, ASYS_CLOSE, args, &ret)) < 0)
			return r;
		close_result(&j->p->rows[j->idx[i]], ret);
	}
	return 0;
}

/* Runs of consecutive fds (no other fd between them) worth one
 * close_range() each; from CLOSE_LOOP_MIN runs on, one close loop for all
 * fds is cheaper: one stop instead of one per run. */
#define CLOSE_LOOP_MIN 8

static size_t run_end(const struct job *j, size_t k)
{
	size_t end = k + 1;
	while (end < j->n && j->step[end] == STEP_CLOSE &&
	       owner_of(j->p, &j->p->rows[j->idx[end]])->fd == owner_of(j->p, &j->p->rows[j->idx[end - 1]])->fd + 1)
		end++;
	return end;
}

static int close_loop(struct job *j, struct inj *t)
{
	size_t n = 0, done = 0;
	_cleanup_free_ int *fds = malloc(j->n * sizeof(*fds));
	_cleanup_free_ size_t *which = malloc(j->n * sizeof(*which));
	_cleanup_free_ long *res = malloc(j->n * sizeof(*res));
	if (!fds || !which || !res)
		return -ENOMEM;
	for (size_t k = 0; k < j->n; k++)
		if (j->step[k] == STEP_CLOSE) {
			which[n] = k;
			fds[n++] = owner_of(j->p, &j->p->rows[j->idx[k]])->fd;
		}
	int r = inj_close_many(t, fds, n, res, &done);
	for (size_t i = 0; i < done; i++) {
		close_result(&j->p->rows[j->idx[which[i]]], res[i]);
		j->step[which[i]] = STEP_NONE;
	}
	return r;
}

static int close_all(struct job *j, struct inj *t)
{
	size_t runs = 0;
	int r;

	for (size_t k = 0; k < j->n;)
		if (j->step[k] == STEP_CLOSE) {
			runs++;
			k = run_end(j, k);
		} else
			k++;
	if (runs >= CLOSE_LOOP_MIN) {
		r = close_loop(j, t);
		if (r < 0 && r != -EAGAIN) {
			size_t first = 0;
			while (first < j->n && j->step[first] != STEP_CLOSE)
				first++;
			return abandon(j, first, -r, t->why), r;
		}
		/* -EAGAIN: no scratch mapping here; one call per run below */
	}
	for (size_t k = 0; k < j->n;) {
		if (j->step[k] != STEP_CLOSE) {
			k++;
			continue;
		}
		size_t end = run_end(j, k);
		if ((r = close_run(j, t, k, end)) < 0)
			return abandon(j, k, -r, t->why), r;
		for (; k < end; k++)
			j->step[k] = STEP_NONE;
	}
	return 0;
}

static int run_steps(struct job *j, struct inj *t)
{
	const struct options *o = j->o;
	int r;

	/* All threads are stopped, so nothing in the target can close and
	 * reuse an fd number from here until we detach: check each fd once,
	 * now, and act. (Another process sharing the fd table through
	 * CLONE_FILES without being a thread is not stopped; such processes
	 * are rare and would show the same fd under their own pid.) */
	if (act_interrupted) {
		abandon(j, 0, ESRCH, "sockreap was interrupted before acting on this process");
		return -EINTR;
	}
	for (size_t k = 0; k < j->n; k++) {
		struct row *rw = &j->p->rows[j->idx[k]];
		if (j->step[k] == STEP_NONE)
			continue;
		int c = procfd_fd_check(PROC_ROOT, j->pid, owner_of(j->p, rw)->fd, j->p->socks.v[rw->sock].inode);
		if (c == 1)
			continue;
		/* Every thread is stopped: an fd can only vanish now because
		 * the process is being killed and its files torn down. */
		if (c < 0 && target_gone(j->pid))
			return abandon(j, 0, ESRCH, "the target exited"), -ESRCH;
		set_result(rw, RES_SKIPPED, 0, c < 0 ? "the fd was closed meanwhile"
						    : "fd reused: the fd is no longer this socket");
		j->step[k] = STEP_NONE;
	}
	/* A thread stopped inside a call on the fd (a read on this very
	 * socket) re-enters that call by number when it resumes: after our
	 * close it would fail with EBADF, or read a reused fd. Leave those
	 * fds alone; shutdown is the tool for a socket still in use. */
	if (o->method != METHOD_SHUTDOWN) {
		_cleanup_free_ struct inj_busy *busy = NULL;
		size_t nbusy = 0;
		if ((r = inj_busy_fds(t, &busy, &nbusy)) < 0)
			return abandon(j, 0, -r, "cannot read the threads' registers"), r;
		for (size_t k = 0; k < j->n; k++) {
			int fd = owner_of(j->p, &j->p->rows[j->idx[k]])->fd;
			for (size_t b = 0; b < nbusy && j->step[k] != STEP_NONE; b++)
				if (busy[b].fd == fd) {
					set_result(&j->p->rows[j->idx[k]], RES_SKIPPED, 0,
						   "thread %d is blocked in system call %ld on this fd: after a close "
						   "it would fail with EBADF when it resumes; use --shutdown to wake it",
						   (int)busy[b].tid, busy[b].nr);
					j->step[k] = STEP_NONE;
				}
		}
	}
	/* shutdown and SO_LINGER first; closes are gathered afterwards */
	for (size_t k = 0; k < j->n; k++) {
		struct row *rw = &j->p->rows[j->idx[k]];
		int fd = owner_of(j->p, rw)->fd;
		long ret;

		if (j->step[k] == STEP_SHUTDOWN) {
			uint64_t args[6] = { (uint64_t)fd, (uint64_t)o->how };
			if ((r = inj_call(t, ASYS_SHUTDOWN, args, &ret)) < 0)
				return abandon(j, k, -r, t->why), r;
			if (ret == 0 || ret == -ENOTCONN) /* already shut, e.g. through another owner */
				set_result(rw, RES_DONE, 0, NULL);
			else
				set_result(rw, RES_FAILED, (int)-ret, "shutdown() in the target failed");
			j->step[k] = STEP_NONE;
		} else if (j->step[k] == STEP_LINGER_CLOSE) {
			if ((r = inject_linger0(t, fd, &ret)) < 0)
				return abandon(j, k, -r, t->why[0] ? t->why : "cannot set SO_LINGER"), r;
			if (ret < 0) {
				set_result(rw, RES_FAILED, (int)-ret, "setsockopt(SO_LINGER) in the target failed");
				j->step[k] = STEP_NONE;
			} else
				j->step[k] = STEP_CLOSE;
		}
	}
	return close_all(j, t);
}

static bool any_step(const struct job *j)
{
	for (size_t k = 0; k < j->n; k++)
		if (j->step[k] != STEP_NONE)
			return true;
	return false;
}

static void act_process(struct job *j)
{
	struct inj t;
	int r;

	plan_steps(j);
	if (!any_step(j))
		return;
	if (act_interrupted) {
		abandon(j, 0, ESRCH, "sockreap was interrupted before acting on this process");
		return;
	}
	r = inj_attach(&t, &tracee_real, j->pid);
	if (r < 0) {
		abandon(j, 0, -r == ESRCH ? ESRCH : -r, t.why);
		return;
	}
	struct unwind_bt *bt = NULL;
	if (j->o->backtrace)
		bt = unwind_collect(j->pid);
	run_steps(j, &t);
	r = inj_release(&t);
	double stall = (double)(t.released_at_ns - t.stopped_at_ns) / 1e6;
	for (size_t k = 0; k < j->n; k++)
		j->p->rows[j->idx[k]].stall_ms = stall;
	if (j->o->verbose)
		fprintf(stderr, "sockreap: pid %d: stopped %.3f ms, %lu injected call%s%s%s\n", (int)j->pid, stall,
			t.ncalls, t.ncalls == 1 ? "" : "s", r < 0 ? "; release: " : "", r < 0 ? t.why : "");
	if (bt) {
		char *text = unwind_resolve(bt);
		for (size_t k = 0; k < j->n && text; k++) {
			struct row *rw = &j->p->rows[j->idx[k]];
			free(rw->backtrace);
			rw->backtrace = strdup(text);
		}
		free(text);
	}
}

int act_run(struct plan *p, const struct options *o, struct audit *a)
{
	if (o->method == METHOD_DESTROY)
		return act_destroy_run(p, o, a);
	size_t n = 0;
	_cleanup_free_ size_t *idx = malloc((p->n + 1) * sizeof(*idx));
	_cleanup_free_ enum step *step = malloc((p->n + 1) * sizeof(*step));
	if (!idx || !step)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].result == RES_PLANNED) {
			p->rows[i].acted = true;
			idx[n++] = i;
		}
	qsort_r(idx, n, sizeof(*idx), by_pid_fd, p);

	int err = 0;
	for (size_t k = 0; k < n;) {
		pid_t pid = owner_of(p, &p->rows[idx[k]])->pid;
		size_t end = k;
		while (end < n && owner_of(p, &p->rows[idx[end]])->pid == pid)
			end++;
		struct job j = { .p = p, .o = o, .idx = idx + k, .step = step + k, .n = end - k, .pid = pid };

		/* Nothing is done unlogged: the intent of every action on
		 * this process reaches the log before we touch it. */
		for (size_t i = k; i < end && !err; i++)
			err = audit_record(a, p, &p->rows[idx[i]], o, "intent");
		if (!err)
			err = audit_flush(a);
		if (err) {
			for (size_t i = k; i < n; i++)
				set_result(&p->rows[idx[i]], RES_FAILED, -err,
					   "the audit log could not be written: nothing is done unlogged");
			break;
		}
		act_process(&j);
		k = end;
	}
	verify_rows(p, o);
	for (size_t k = 0; k < n; k++)
		audit_record(a, p, &p->rows[idx[k]], o, "result");
	int r = audit_flush(a);
	return err ? err : r;
}
