#include "act.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "inject.h"
#include "pidfd.h"
#include "placeholder.h"
#include "procfd.h"
#include "remote.h"
#include "unwind.h"
#include "util.h"

volatile sig_atomic_t act_interrupted;

/* What the engine must do inside the target for one row. */
enum step { STEP_NONE, STEP_INSIDE };

/* One row acted on inside the target, and the calls of the program that
 * decide its outcome (indexes into the program, -1: none). */
struct fdjob {
	unsigned flags;      /* the fd's open flags (fdinfo), before the stop */
	int check;           /* the cookie check, first of the row's calls */
	int sock, linger, close, dup, shut;
	int adds_failed;     /* epoll re-registrations that failed */
};

struct job {
	struct plan *p;
	const struct options *o;
	const struct act_ops *ops;
	const struct method_info *m;
	size_t *idx;          /* rows of this process, by fd */
	enum step *step;      /* per row of idx */
	struct fdjob *fj;     /* per row of idx */
	size_t n;
	pid_t pid;
	struct epoll_watches ep; /* the process's epoll registrations */
	bool tight;           /* no free fd slot: close first, placeholder after */
	bool told_calls;      /* -v said the calls go one by one (not crash-only) */
	uint64_t reserve_ns;  /* what ends a stop after its program: see RESERVE_* */
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

static struct row *row_k(const struct job *j, size_t k)
{
	return &j->p->rows[j->idx[k]];
}

static int fd_k(const struct job *j, size_t k)
{
	return owner_of(j->p, row_k(j, k))->fd;
}

static const struct sock *sock_k(const struct job *j, size_t k)
{
	return &j->p->socks.v[row_k(j, k)->sock];
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

/* The method's part done from outside, on pidfd_getfd duplicates; what is
 * left for the inside marked STEP_INSIDE. */
static void outside_steps(struct job *j)
{
	for (size_t k = 0; k < j->n; k++) {
		struct row *rw = row_k(j, k);
		j->step[k] = j->m->inside == INSIDE_NONE ? STEP_NONE : STEP_INSIDE;
		if (j->m->outside != OUTSIDE_SHUTDOWN || j->o->inject)
			continue;
		const struct owner *ow = owner_of(j->p, rw);
		int r = j->ops->shutdown(ow->pid, ow->fd, sock_k(j, k)->cookie, j->o->how);
		if (r == 0 || r == -ENOTCONN) { /* ENOTCONN: already shut, e.g. through another owner */
			set_result(rw, RES_DONE, 0, NULL);
			j->step[k] = STEP_NONE;
		} else if (pidfd_settled(rw, r, "shutdown"))
			j->step[k] = STEP_NONE;
	}
}

static bool any_step(const struct job *j)
{
	for (size_t k = 0; k < j->n; k++)
		if (j->step[k] != STEP_NONE)
			return true;
	return false;
}

/* Before the stop: what the replacement must copy (the fd's flags, its
 * epoll registrations) and whether the process has a free fd slot. The
 * registrations are read now, not while the target is stopped (a 10,000
 * entry epoll fdinfo costs milliseconds); one that is gone by the stop
 * makes its EPOLL_CTL_DEL fail, and then nothing is re-added for it. */
static void read_before_stop(struct job *j)
{
	if (!j->m->placeholder)
		return;
	for (size_t k = 0; k < j->n; k++) {
		j->fj[k].flags = 0;
		if (j->step[k] != STEP_NONE)
			procfd_fd_flags(j->ops->proc_root, j->pid, fd_k(j, k), &j->fj[k].flags);
	}
	_cleanup_free_ int *epfds = malloc((j->p->owners.nep + 1) * sizeof(*epfds));
	size_t nep = 0;
	for (size_t e = 0; epfds && e < j->p->owners.nep; e++)
		if (j->p->owners.ep[e].pid == j->pid)
			epfds[nep++] = j->p->owners.ep[e].fd;
	if (nep)
		procfd_epoll_watches(j->ops->proc_root, j->pid, epfds, nep, &j->ep);
	uint64_t nopen, limit;
	j->tight = procfd_fd_headroom(j->ops->proc_root, j->pid, &nopen, &limit) == 0 && nopen >= limit;
}

/* Mark the rows from k on that the engine still had to do. */
static void abandon(struct job *j, size_t k, int err, const char *why)
{
	for (; k < j->n; k++)
		if (j->step[k] != STEP_NONE) {
			set_result(row_k(j, k), err == ESRCH ? RES_SKIPPED : RES_FAILED, err == ESRCH ? 0 : err, "%s",
				   why);
			j->step[k] = STEP_NONE;
		}
}

/* A registration the application's worker has taken (EPOLLONESHOT fired
 * and not re-armed: only flag bits left). Re-adding it would fire at once
 * (EPOLLHUP is always reported) and could hand a second worker the
 * connection the first one still owns: it is removed and not re-added;
 * the worker that holds it reads EOF from the placeholder. */
static bool oneshot_disarmed(uint32_t events)
{
	const uint32_t flags = EPOLLONESHOT | EPOLLET | EPOLLWAKEUP | EPOLLEXCLUSIVE;
	return (events & EPOLLONESHOT) && !(events & ~flags);
}

/* The calls that replace row k's socket by a placeholder (the default
 * close, and --reset). The placeholder is a socket of the same family and
 * type that was never connected and is shut down both ways: it reads EOF,
 * polls IN|HUP|RDHUP, keeps socket options working, and a write fails with
 * EPIPE. It is marked (SO_RCVLOWAT) so later runs recognise it.
 *
 *   S  socket(family, type | NONBLOCK as the fd had | CLOEXEC)
 *   H  shutdown(S, RDWR)                      (ENOTCONN, but it takes effect)
 *   M  setsockopt(S, SO_RCVLOWAT, mark)
 *   G  getsockopt(fd, SO_LINGER)  L  setsockopt(fd, SO_LINGER, {1,0})   (--reset)
 *   Di epoll_ctl(Ei, DEL, fd)                 for each registration (Ei, fd)
 *   X  dup3(S, fd, CLOEXEC as the fd had)     the old socket's reference goes
 *   R  setsockopt(fd, SO_LINGER, G's value)   only if X failed
 *   Ai epoll_ctl(Ei, ADD, fd, events, data)   if Di and X succeeded
 *   Bi epoll_ctl(Ei, ADD, fd, ...)            if Di succeeded and X failed
 *   Z  close(S)
 *
 * Tight (no free fd slot for S): L, Di, then C close(fd) first, S lands on
 * the freed number (the lowest free), X dup3(S, fd) fails EINVAL when it
 * did (S == fd) and moves it there otherwise, Z closes S only after a
 * successful X, Ai as above. */
/* The registrations of (fd, inode) in the process's epoll sets. */
static bool watches(const struct epoll_watch *w, int fd, const struct sock *s)
{
	return w->fd == fd && w->inode == s->inode;
}

static int add_dels(struct job *j, size_t k, struct rprog *p, int32_t need, int *del)
{
	int fd = fd_k(j, k), r = 0;
	for (size_t i = 0; i < j->ep.n && r >= 0; i++) {
		del[i] = -1;
		if (watches(&j->ep.v[i], fd, sock_k(j, k)))
			r = del[i] = rp_epoll_ctl(p, need, 0, j->ep.v[i].epfd, EPOLL_CTL_DEL, RP_IMM(fd), 0, 0);
	}
	return r < 0 ? r : 0;
}

static int build_replace(struct job *j, size_t k, struct rprog *p, int32_t gate)
{
	const struct sock *s = sock_k(j, k);
	struct fdjob *f = &j->fj[k];
	int fd = fd_k(j, k), r;
	int32_t need = gate;
	struct ph_desc ph;
	if (placeholder_for(s, &ph) < 0) {
		set_result(row_k(j, k), RES_SKIPPED, 0, "no placeholder for this kind of socket; nothing changed");
		j->step[k] = STEP_NONE;
		return 0;
	}
	bool pair = ph.kind == PH_UNIX_PAIR;
	if (pair && j->tight) {
		/* the pair needs two free slots for a moment */
		set_result(row_k(j, k), RES_SKIPPED, 0, "the process has no free fd for the placeholder pair; "
			   "nothing changed (--free-fd frees the number instead)");
		j->step[k] = STEP_NONE;
		return 0;
	}
	int type = ph.type | (f->flags & O_NONBLOCK ? SOCK_NONBLOCK : 0);
	int cloexec = f->flags & O_CLOEXEC ? O_CLOEXEC : 0;
	long poff = -1;
	static const struct linger l0 = { .l_onoff = 1, .l_linger = 0 };
	static const int mark = PLACEHOLDER_MARK;
	long goff = -1;
	_cleanup_free_ int *del = malloc((j->ep.n + 1) * sizeof(*del));

	if (!del)
		return -ENOMEM;
#define TRY(x) do { if ((r = (x)) < 0) return r; } while (0)
	*f = (struct fdjob){ .flags = f->flags, .check = f->check, .sock = -1, .linger = -1, .close = -1, .dup = -1,
			     .shut = -1 };
	if (j->tight) {
		if (j->m->linger0) {
			TRY(f->linger = rp_setsockopt(p, gate, 0, RP_IMM(fd), SOL_SOCKET, SO_LINGER, &l0, sizeof(l0)));
			need = RP_OK(f->linger);
		}
		TRY(add_dels(j, k, p, need, del));
		TRY(f->close = rp_close(p, need, 0, RP_IMM(fd)));
		TRY(f->sock = rp_socket(p, RP_OK(f->close), ph.family, type | (cloexec ? SOCK_CLOEXEC : 0)));
	} else if (pair)
		TRY(f->sock = rp_socketpair(p, gate, ph.family, type | SOCK_CLOEXEC, &poff));
	else
		TRY(f->sock = rp_socket(p, gate, ph.family, type | SOCK_CLOEXEC));
	/* the placeholder's fd: socket()'s result, or socketpair()'s first */
	struct rp_arg phfd = pair ? RP_MEM32(poff) : RP_RET(f->sock);
	if (pair)
		TRY(rp_close(p, RP_OK(f->sock), 0, RP_MEM32(poff + 4)));
	if (ph.shutdown_self)
		TRY(f->shut = rp_shutdown(p, RP_OK(f->sock), phfd, SHUT_RDWR));
	TRY(rp_setsockopt(p, RP_OK(f->sock), 0, phfd, SOL_SOCKET, SO_RCVLOWAT, &mark, sizeof(mark)));
	if (!j->tight) {
		need = RP_OK(f->sock);
		if (j->m->linger0) {
			int g;
			TRY(g = rp_getsockopt(p, need, fd, SOL_SOCKET, SO_LINGER, sizeof(struct linger), &goff));
			TRY(f->linger = rp_setsockopt(p, RP_OK(g), 0, RP_IMM(fd), SOL_SOCKET, SO_LINGER, &l0, sizeof(l0)));
			need = RP_OK(f->linger);
		}
		TRY(add_dels(j, k, p, need, del));
	}
	TRY(f->dup = rp_dup3(p, j->tight ? RP_OK(f->sock) : need, 0, phfd, fd, cloexec));
	if (goff >= 0)
		TRY(rp_setsockopt_from(p, RP_OK(f->linger), RP_FAILED(f->dup), fd, SOL_SOCKET, SO_LINGER, goff,
				       sizeof(struct linger)));
	/* After a tight dup3, EINVAL means S already sits on fd. */
	int32_t placed = j->tight ? RP_OK(f->sock) : RP_OK(f->dup);
	for (size_t i = 0; i < j->ep.n; i++) {
		const struct epoll_watch *w = &j->ep.v[i];
		if (del[i] < 0 || oneshot_disarmed(w->events))
			continue;
		TRY(rp_epoll_ctl(p, RP_OK(del[i]), placed, w->epfd, EPOLL_CTL_ADD, RP_IMM(fd), w->events, w->data));
		if (!j->tight) /* the old socket stays: so does its registration */
			TRY(rp_epoll_ctl(p, RP_OK(del[i]), RP_FAILED(f->dup), w->epfd, EPOLL_CTL_ADD, RP_IMM(fd),
					 w->events, w->data));
	}
	TRY(rp_close(p, j->tight ? RP_OK(f->dup) : RP_OK(f->sock), 0, phfd));
#undef TRY
	return 0;
}

static int build_row(struct job *j, size_t k, struct rprog *p)
{
	struct fdjob *f = &j->fj[k];
	int fd = fd_k(j, k);

	/* Every call of the row needs the check: is the fd still the
	 * socket the plan saw? It runs inside the target with every thread
	 * stopped, right before the row's first action. */
	rp_row(p);
	int check = rp_check_cookie(p, fd, sock_k(j, k)->cookie);
	if (check < 0)
		return check;
	f->check = check;
	switch (j->m->inside) {
	case INSIDE_REPLACE:
		return build_replace(j, k, p, RP_OK(check));
	case INSIDE_CLOSE:
		*f = (struct fdjob){ .check = check, .sock = -1, .linger = -1, .dup = -1, .shut = -1 };
		f->close = rp_close(p, RP_OK(check), 0, RP_IMM(fd));
		return f->close < 0 ? f->close : 0;
	case INSIDE_SHUTDOWN:
		*f = (struct fdjob){ .check = check, .sock = -1, .linger = -1, .close = -1, .dup = -1 };
		f->shut = rp_shutdown(p, RP_OK(check), RP_IMM(fd), j->o->how);
		return f->shut < 0 ? f->shut : 0;
	default:
		return -EINVAL;
	}
}

static int64_t ret_of(const struct rprog *p, int i)
{
	return i < 0 ? RP_NOT_RUN : p->c[i].ret;
}

/* What the program did for row k. */
static void row_outcome(struct job *j, size_t k, const struct rprog *p)
{
	struct row *rw = row_k(j, k);
	const struct fdjob *f = &j->fj[k];
	int64_t r = ret_of(p, f->check);

	if (r == RP_NOT_RUN) {
		set_result(rw, RES_FAILED, 0, "the check of the fd did not run in the target");
		return;
	}
	if (r == -ESTALE || r == -ENOTSOCK) {
		set_result(rw, RES_SKIPPED, 0, "fd reused: the fd is no longer this socket");
		return;
	}
	if (r == -EBADF) {
		set_result(rw, RES_SKIPPED, 0, "the fd was closed meanwhile");
		return;
	}
	if (r < 0) {
		set_result(rw, RES_FAILED, (int)-r, "getsockopt(SO_COOKIE) on the fd in the target failed%s; nothing "
			   "changed", r == -ENOPROTOOPT ? " (the kernel has no SO_COOKIE: Linux 4.12 or later)" : "");
		return;
	}
	switch (j->m->inside) {
	case INSIDE_CLOSE:
		/* Linux frees the fd even when close() reports EINTR or EIO */
		r = ret_of(p, f->close);
		if (r == RP_NOT_RUN)
			set_result(rw, RES_FAILED, 0, "close() did not run in the target");
		else if (r == 0 || r == -EINTR || r == -EIO)
			set_result(rw, RES_DONE, 0, NULL);
		else if (r == -EBADF)
			set_result(rw, RES_SKIPPED, 0, "the fd was already closed");
		else
			set_result(rw, RES_FAILED, (int)-r, "close() in the target failed");
		return;
	case INSIDE_SHUTDOWN:
		r = ret_of(p, f->shut);
		if (r == RP_NOT_RUN)
			set_result(rw, RES_FAILED, 0, "shutdown() did not run in the target");
		else if (r == 0 || r == -ENOTCONN) /* already shut, e.g. through another owner */
			set_result(rw, RES_DONE, 0, NULL);
		else
			set_result(rw, RES_FAILED, (int)-r, "shutdown() in the target failed");
		return;
	default:
		break;
	}
	if ((r = ret_of(p, f->linger)) < 0 && r != RP_NOT_RUN) {
		set_result(rw, RES_FAILED, (int)-r, "setsockopt(SO_LINGER) in the target failed; nothing changed");
		return;
	}
	if ((r = ret_of(p, f->sock)) < 0) {
		if (j->tight && ret_of(p, f->close) == 0)
			set_result(rw, RES_DONE, 0, "the process had no free fd and socket() for the placeholder "
				   "failed after the close: the fd number was freed");
		else
			set_result(rw, RES_FAILED, r == RP_NOT_RUN ? 0 : (int)-r,
				   "socket() for the placeholder failed in the target%s; nothing changed",
				   r == -EMFILE ? " (no free fd)" : "");
		return;
	}
	r = ret_of(p, f->dup);
	if (r >= 0 || (j->tight && r == -EINVAL))
		set_result(rw, RES_DONE, 0, NULL);
	else
		set_result(rw, RES_FAILED, r == RP_NOT_RUN ? 0 : (int)-r, "dup3() of the placeholder failed; "
			   "the socket, its SO_LINGER and its epoll registrations are as they were");
}

/* Note failed epoll re-registrations: the application may not wake for
 * this fd (it still reads EOF the next time it looks). */
static void note_epoll_failures(struct job *j, const struct rprog *p, size_t from, size_t to, size_t k)
{
	for (size_t i = from; i < to; i++)
		if (p->c[i].sys == ASYS_EPOLL_CTL && p->c[i].a[1].v == EPOLL_CTL_ADD && p->c[i].ret < 0 &&
		    p->c[i].ret != RP_NOT_RUN)
			row_k(j, k)->note = "re-registering the placeholder in the process's epoll set failed: "
					    "its event loop may not wake for this fd";
}

/* A thread stopped inside a call on the fd (a read on this very socket)
 * re-enters that call by number when it resumes. After a replacement it
 * finds the placeholder and reads EOF, as it should; after a plain close
 * it would fail with EBADF, or use a reused number: those fds are left
 * alone by the number-freeing close. */
static int skip_busy(struct job *j, struct inj *t, size_t from, size_t to)
{
	_cleanup_free_ struct inj_busy *busy = NULL;
	size_t nbusy = 0;
	int r;

	if (j->m->inside != INSIDE_CLOSE)
		return 0;
	if ((r = inj_busy_fds(t, &busy, &nbusy)) < 0)
		return abandon(j, from, -r, "cannot read the threads' registers"), r;
	for (size_t k = from; k < to; k++)
		for (size_t b = 0; b < nbusy && j->step[k] != STEP_NONE; b++)
			if (busy[b].fd == fd_k(j, k)) {
				set_result(row_k(j, k), RES_SKIPPED, 0,
					   "thread %d is blocked in %s() on this fd: after freeing the number it "
					   "would fail with EBADF when it resumes; the default close replaces the "
					   "fd instead", (int)busy[b].tid, busy[b].call ? busy[b].call : "a system call");
				j->step[k] = STEP_NONE;
			}
	return 0;
}

/* The stop's budget: from the first thread's interrupt to the last one's
 * resume, the target should be frozen about this long at most. */
#define STALL_TARGET_NS (1500ull * 1000)
/* ... so that none is longer than this (-v counts those that were) */
#define STALL_GOAL_MS 2.0
/* ... but the program always gets at least this much, and half of what
 * stopping every thread costs (hundreds of threads: milliseconds), or
 * batches would be all stop and no work: the lesser of this stop's and
 * the last one's, as one hiccup may have made either long */
#define EXEC_MIN_NS (200ull * 1000)
/* What stopping the executor and resuming every thread takes after the
 * program: not the program's. It grows with the thread count (resuming
 * 50 threads takes about 0.4 ms here), so it is learnt: each stop that
 * its budget ended moves it half way to what that stop really needed, up
 * to a fifth of the budget: with many threads the end of a stop costs
 * more than that, and a larger reserve only made more, shorter stops
 * (50 threads: 72 stops instead of 31, no shorter, 1.67x the wall). */
/* What making the executor's mapping costs in a stop: an injected mmap(),
 * two syscall stops of one thread (0.2-0.45 ms here) */
#define MAP_NS (400ull * 1000)
#define RESERVE_FIRST_NS (150ull * 1000)
#define RESERVE_MIN_NS (100ull * 1000)
#define RESERVE_MAX_NS (STALL_TARGET_NS / 5)

/* One batch: rows [from, to) and their program, built while the target
 * runs; first[k - from] is row k's first call (first[to - from]: the end). */
struct batch {
	size_t from, to;
	struct rprog prog;
	size_t *first;
};

static void batch_free(struct batch *b)
{
	rprog_free(&b->prog);
	free(b->first);
	b->first = NULL;
}

/* Build the program of the rows still to do in [from, to): before the stop
 * (nothing in it depends on what the stop sees), and again at the stop
 * only when its checks dropped a row. */
static int build_batch(struct job *j, struct batch *b)
{
	int r = 0;
	rprog_reset(&b->prog);
	if (!b->first && !(b->first = malloc((b->to - b->from + 1) * sizeof(*b->first))))
		return -ENOMEM;
	for (size_t k = b->from; k < b->to && r == 0; k++) {
		b->first[k - b->from] = b->prog.n;
		if (j->step[k] != STEP_NONE)
			r = build_row(j, k, &b->prog);
	}
	b->first[b->to - b->from] = b->prog.n;
	return r;
}

static size_t rows_to_do(const struct job *j, size_t from, size_t to)
{
	size_t n = 0;
	for (size_t k = from; k < to; k++)
		n += j->step[k] != STEP_NONE;
	return n;
}

/* Act on batch b while every thread is stopped: check each fd, run the
 * program (inside the target in one go when possible, call by call
 * otherwise) until the stop's budget is spent, and settle each row it
 * reached. The budget counts from stop_begin; stop_ns is what stopping
 * every thread cost. *exec_ns: time the program took; *next_row: the first
 * row not reached (b->to when all were), left for the next batch. */
static int run_batch(struct job *j, struct inj *t, struct batch *b, uint64_t stop_begin, uint64_t stop_ns,
		     uint64_t *exec_ns, size_t *next_row)
{
	size_t from = b->from, to = b->to;
	struct rprog *prog = &b->prog;
	int r;

	/* All threads are stopped, so nothing in the target can close and
	 * reuse an fd number from here until we resume it: check each fd
	 * once, now, and act. (Another process sharing the fd table through
	 * CLONE_FILES without being a thread is not stopped; such processes
	 * are rare and would show the same fd under their own pid.) */
	uint64_t tb = now_ns();
	size_t before = rows_to_do(j, from, to);
	*exec_ns = 0;
	*next_row = to;
	r = act_interrupted ? -EINTR : 0;
	if (r == 0)
		r = skip_busy(j, t, from, to);
	if (r == 0 && rows_to_do(j, from, to) != before)
		r = build_batch(j, b);
	if (r < 0) {
		abandon(j, from, -r, r == -EINTR ? (from ? "sockreap was interrupted: nothing more is done to this process"
						     : "sockreap was interrupted before acting on this process")
			: r == -ENOMEM ? "out of memory" : t->why);
		return r;
	}
	uint64_t data = 0, t0 = now_ns();
	prog->deadline_ns = j->o->single_stop ? 0 : MAX(stop_begin + STALL_TARGET_NS - j->reserve_ns,
							 t0 + MAX(EXEC_MIN_NS, stop_ns / 2));
	if (j->o->verbose > 1)
		fprintf(stderr, "sockreap: pid %d: rows %zu-%zu checked in %.3f ms\n", (int)j->pid, from, to,
			(double)(t0 - tb) / 1e6);
	size_t next = 0;
	/* In one go inside the target when it can be (crash-only); call by
	 * call from here when it cannot. */
	prog->reached = prog->n;
	r = prog->n ? rp_run_inside(t, prog, &next) : 0;
	if (r == -EAGAIN) {
		if (t->no_executor) {
			if (j->o->verbose && !j->told_calls)
				fprintf(stderr, "sockreap: pid %d: the calls go one by one from sockreap, not in one go "
					"inside the target (%s): not crash-only\n",
					(int)j->pid, t->why);
			j->told_calls = true;
			t->why[0] = '\0'; /* not a failure: no later report may quote it */
		}
		next = 0;
		r = prog->ndata ? inj_scratch(t, prog->ndata, PROT_READ | PROT_WRITE, &data) : 0;
		if (r == 0)
			r = rp_run_calls(t, prog, data, &next);
	}
	*exec_ns = now_ns() - t0;
	if (j->o->verbose > 1)
		fprintf(stderr, "sockreap: pid %d: rows %zu-%zu: %zu calls, %.3f ms to run them (%.3f ms left)%s\n",
			(int)j->pid, from, to, prog->n, (double)*exec_ns / 1e6,
			prog->deadline_ns ? (double)(prog->deadline_ns - t0) / 1e6 : 0.0,
			r == 0 && prog->reached < prog->n ? ", stopped by the budget" : "");
	for (size_t k = from; k < to; k++) {
		if (j->step[k] == STEP_NONE)
			continue;
		size_t lo = b->first[k - from], hi = b->first[k - from + 1];
		if (r == 0 && lo >= prog->reached) {
			/* not started: the budget was spent; the next batch
			 * checks it again */
			*next_row = MIN(*next_row, k);
			continue;
		}
		if (r < 0 && hi > next) {
			/* the engine stopped inside this row's calls or before
			 * (a row half done by a process that died is nothing:
			 * its fds went with it) */
			if (lo >= next || r == -ESRCH)
				abandon(j, k, t->exec_seen ? ESRCH : -r, t->why);
			else
				set_result(row_k(j, k), RES_FAILED, -r, "the engine failed midway through this fd: %s",
					   t->why);
		} else {
			row_outcome(j, k, prog);
			note_epoll_failures(j, prog, lo, hi, k);
		}
		j->step[k] = STEP_NONE;
	}
	return r;
}

/* The target's longest stop must not grow with the number of fds: rows go
 * in batches, every thread resumed between batches and each batch's fds
 * checked again at its stop. Each batch's program stops itself when the
 * stop's budget (STALL_TARGET_NS, from the first interrupt) is spent; the
 * batch size (what fitted last time, with room to spare) only bounds what
 * is built before and checked while stopped. */
/* --backtrace walks stacks while every thread is stopped */
#define BACKTRACE_BUDGET_NS (50ull * 1000 * 1000)
#define BATCH_FIRST 32
#define BATCH_MIN 8
#define BATCH_MAX 4096

static void set_stall(struct job *j, size_t from, size_t to, double ms)
{
	for (size_t k = from; k < to; k++)
		row_k(j, k)->stall_ms = ms;
}

static void act_process(struct job *j)
{
	struct inj t;
	int r;

	outside_steps(j);
	if (!any_step(j))
		return;
	if (act_interrupted) {
		abandon(j, 0, ESRCH, "sockreap was interrupted before acting on this process");
		return;
	}
	read_before_stop(j);
	size_t batch = j->o->single_stop ? j->n : BATCH_FIRST, nbatch = 0;
	struct batch b = { .from = 0, .to = MIN(batch, j->n) };
	if ((r = build_batch(j, &b)) < 0) {
		batch_free(&b);
		abandon(j, 0, -r, "out of memory");
		return;
	}
	/* the process the plan saw, not one that got its pid since */
	uint64_t stop_begin = now_ns();
	r = inj_attach_checked(&t, j->ops->tracee, j->pid, owner_of(j->p, row_k(j, 0))->start_time);
	/* the stall counts from the first thread's stop: from right before
	 * the first interrupt (the checks and seizes before it stop
	 * nothing); a thread that a signal stopped after its seize was
	 * stopped a little earlier */
	if (r == 0 && t.interrupted_at_ns)
		stop_begin = t.interrupted_at_ns;
	t.busy_checks = j->m->inside == INSIDE_CLOSE; /* skip_busy */
	uint64_t stop_ns = now_ns() - stop_begin; /* what stopping every thread costs */
	if (r < 0) {
		batch_free(&b);
		abandon(j, 0, -r == ESRCH || t.exec_seen ? ESRCH : -r, t.why);
		return;
	}
	if (j->o->verbose > 1)
		fprintf(stderr, "sockreap: pid %d: stopped %zu threads in %.3f ms\n", (int)j->pid, t.nth,
			(double)(now_ns() - stop_begin) / 1e6);
	struct unwind_bt *bt = NULL;
	if (j->o->backtrace && j->ops->stacks)
		bt = j->ops->stacks(j->pid, BACKTRACE_BUDGET_NS);
	double max_stall = 0, total_stall = 0;
	size_t nlong = 0; /* stops longer than the goal */
	uint64_t last_stop_ns = UINT64_MAX; /* what stopping every thread took the last time */
	j->reserve_ns = RESERVE_FIRST_NS;
	/* The first stop also seized every thread and makes the executor's
	 * mapping: when that leaves too little of its budget, it ends there
	 * and the rows begin at the next stop; when stopping every thread
	 * left too little even for the mapping (many threads), the mapping
	 * is for the next stop, and the rows for the one after. */
	bool ready_only = false, map_next = false;
	if (!j->o->single_stop && b.prog.n) {
		map_next = now_ns() + MAP_NS + j->reserve_ns > stop_begin + STALL_TARGET_NS;
		ready_only = map_next || (rp_ready(&t, &b.prog) == 0 &&
					  now_ns() + EXEC_MIN_NS + j->reserve_ns > stop_begin + STALL_TARGET_NS);
	}
	for (;;) {
		size_t next = b.from;
		uint64_t exec_ns;
		nbatch++;
		/* the mapping alone: a program's first run in a new mapping
		 * costs more than later ones (measured: its first rows ran
		 * 0.3-0.6 ms late), and this stop has paid for the mapping */
		if (map_next && nbatch == 2)
			ready_only = rp_ready(&t, &b.prog) == 0;
		if (!ready_only) {
			/* a stop that one hiccup made long (milliseconds: a VM's
			 * CPU taken away) must not also get a long program: the
			 * lesser of this stop's cost and the last one's (a
			 * lasting change, more threads, counts from its second) */
			uint64_t floor_ns = MIN(stop_ns, last_stop_ns);
			last_stop_ns = stop_ns;
			r = run_batch(j, &t, &b, stop_begin, floor_ns, &exec_ns, &next);
			if (r < 0 || next == j->n)
				break;
			if (next <= b.from) /* cannot be: the first row always runs */
				next = b.to;
			/* The program stops itself when the stop's budget is
			 * spent; the batch's size only bounds what is checked
			 * while stopped and built before: about what fitted
			 * this time, or twice as much when everything did. */
			batch = next < b.to ? MAX((next - b.from) * 3 / 2, BATCH_MIN) : MIN(2 * batch, BATCH_MAX);
		}
		uint64_t pause_at = now_ns();
		r = inj_pause(&t);
		double stall = (double)(t.released_at_ns - stop_begin) / 1e6;
		if (!ready_only && next < b.to && b.prog.deadline_ns == stop_begin + STALL_TARGET_NS - j->reserve_ns) {
			/* ended by its budget, at the deadline the reserve set
			 * (not at the floor, EXEC_MIN_NS or half the stop's
			 * cost): how far off was the reserve? */
			int64_t off = (int64_t)(t.released_at_ns - stop_begin) - (int64_t)STALL_TARGET_NS;
			int64_t rs = (int64_t)j->reserve_ns + off / 2;
			j->reserve_ns = (uint64_t)MIN(MAX(rs, (int64_t)RESERVE_MIN_NS), (int64_t)RESERVE_MAX_NS);
		}
		if (j->o->verbose > 1)
			fprintf(stderr, "sockreap: pid %d: stop %zu: %.3f ms (%.3f ms to stop every thread, %.3f ms %s, %.3f ms to resume them)\n",
				(int)j->pid, nbatch, stall, (double)stop_ns / 1e6,
				(double)((ready_only ? pause_at - stop_begin - stop_ns : exec_ns)) / 1e6,
				ready_only ? "for the checks and the executor's mapping" : "to run the program",
				(double)(t.released_at_ns - pause_at) / 1e6);
		set_stall(j, b.from, next, stall);
		max_stall = MAX(max_stall, stall);
		total_stall += stall;
		nlong += stall > STALL_GOAL_MS;
		if (r < 0) {
			abandon(j, next, -r, t.why);
			break;
		}
		/* while the application runs (about three quarters of the
		 * time): the next batch's program */
		uint64_t run_until = t.released_at_ns + MAX((uint64_t)(stall * 1e6) / 3, 200000ull);
		if (!ready_only) { /* else the first batch is still to do, as built */
			b.from = next;
			b.to = MIN(next + batch, j->n);
			free(b.first);
			b.first = NULL;
			if ((r = build_batch(j, &b)) < 0) {
				abandon(j, b.from, -r, "out of memory");
				break;
			}
		}
		ready_only = false;
		/* Threads that stop on their own meanwhile (a signal: every
		 * signal stops a traced thread) are resumed, about every
		 * millisecond (each pass one wait per report, see inj_tend). */
		for (uint64_t tended = 0; now_ns() < run_until;) {
			if (now_ns() >= tended + 1000000) {
				inj_tend(&t);
				tended = now_ns();
			}
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
		}
		stop_begin = now_ns();
		r = inj_restop(&t);
		stop_ns = now_ns() - stop_begin;
		if (r < 0) {
			/* after an exec: another program now; what was planned
			 * was for the one the plan saw (skipped, as when that
			 * happens while attaching) */
			abandon(j, b.from, -r == ESRCH || t.exec_seen ? ESRCH : -r, t.why);
			break;
		}
	}
	/* Whatever ended the loop early, every row still to do is settled
	 * with its reason: run_batch settles only the rows of its batch (a
	 * target killed after its batch's last call left the rest planned). */
	if (r < 0)
		abandon(j, 0, -r == ESRCH || t.exec_seen ? ESRCH : -r, t.why[0] ? t.why : "the engine stopped");
	batch_free(&b);
	r = inj_release(&t);
	double stall = (double)(t.released_at_ns - stop_begin) / 1e6;
	set_stall(j, b.from, j->n, stall);
	max_stall = MAX(max_stall, stall);
	total_stall += stall;
	nlong += stall > STALL_GOAL_MS;
	if (j->o->verbose)
		fprintf(stderr, "sockreap: pid %d: %zu stop%s, longest %.3f ms, %.3f ms in all, %zu over %g ms, "
				"%lu injected call%s%s%s%s\n",
			(int)j->pid, nbatch, nbatch == 1 ? "" : "s", max_stall, total_stall, nlong, STALL_GOAL_MS, t.ncalls,
			t.ncalls == 1 ? "" : "s",
			t.self_restored ? "; sockreap was held up past the executor's timeout, which had restored "
					  "the thread itself" : "",
			r < 0 ? "; release: " : "", r < 0 ? t.why : "");
	if (j->o->verbose && t.nunguarded)
		fprintf(stderr, "sockreap: pid %d: %u of the scratch mapping's own calls (mmap, munmap) were plain, "
				"not guarded: had sockreap died inside one, the thread would have run on with its "
				"registers (%s)\n",
			(int)j->pid, t.nunguarded, t.guard_why ? t.guard_why : "no reason recorded");
	else if (j->o->verbose > 1 && t.nguarded)
		fprintf(stderr, "sockreap: pid %d: the scratch mapping's own calls guarded (%u)\n", (int)j->pid,
			t.nguarded);
	if (bt) {
		/* once per process: its first row carries the stacks, the
		 * others name that row's fd (500 rows x 200 threads made 32 MB
		 * of audit log when every row carried them) */
		struct row *first = row_k(j, 0);
		free(first->backtrace);
		first->backtrace = unwind_resolve(bt);
		for (size_t k = 1; k < j->n && first->backtrace; k++)
			row_k(j, k)->backtrace_fd = fd_k(j, 0);
	}
}

int act_run(struct plan *p, const struct options *o, struct audit *a, const struct act_ops *ops)
{
	if (o->method == METHOD_DESTROY)
		return act_destroy_run(p, o, a);
	size_t n = 0;
	_cleanup_free_ size_t *idx = malloc((p->n + 1) * sizeof(*idx));
	_cleanup_free_ enum step *step = malloc((p->n + 1) * sizeof(*step));
	_cleanup_free_ struct fdjob *fj = calloc(p->n + 1, sizeof(*fj));
	if (!idx || !step || !fj)
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
		struct job j = { .p = p, .o = o, .ops = ops, .m = method_info(o->method), .idx = idx + k,
				 .step = step + k, .fj = fj + k, .n = end - k, .pid = pid };

		/* A pid reused since the scan is another process: nothing of
		 * it is recorded or touched (the engine checks again, once
		 * every thread is seized). */
		uint64_t st = 0, want = owner_of(p, &p->rows[idx[k]])->start_time;
		if (!want) {
			/* not read at the scan (it was exiting, or its stat could
			 * not be parsed): a reuse could not be seen, so nothing */
			for (size_t i = k; i < end; i++)
				set_result(&p->rows[idx[i]], RES_SKIPPED, 0,
					   "the start time of process %d could not be read when it was found, so a "
					   "process that took its PID since could not be told apart; not touched",
					   (int)pid);
			k = end;
			continue;
		}
		if (ops->tracee->start_time(pid, &st) == 0 && st != want) {
			for (size_t i = k; i < end; i++)
				set_result(&p->rows[idx[i]], RES_SKIPPED, 0,
					   "process exited (PID reused: %d is now another process)", (int)pid);
			k = end;
			continue;
		}
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
		free(j.ep.v);
		/* What happened to this process reaches the log now, not at the
		 * end of the run: a crash later loses none of it. */
		int w = 0;
		for (size_t i = k; i < end && !w; i++)
			w = audit_record(a, p, &p->rows[idx[i]], o, "result");
		if (!w)
			w = audit_flush(a);
		if (w && !err)
			err = w;
		k = end;
	}
	return err;
}

size_t act_acted_rows(const struct plan *p, const struct options *o, size_t *idx)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].acted)
			idx[n++] = i;
	if (o->method != METHOD_DESTROY)
		qsort_r(idx, n, sizeof(*idx), by_pid_fd, (void *)p);
	return n;
}

const struct act_ops act_real = {
	.tracee = &tracee_real, .proc_root = "/proc", .shutdown = pidfd_shutdown, .stacks = unwind_collect,
};
