#include "remote.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "exec_abi.h"
#include "util.h"

/* The executor's code, as linked into sockreap (src/exec/exec.c). Weak:
 * an ARCH without an executor leaves src/exec/ out (the Makefile), its
 * section is not there and these are NULL (arch_exec_refusal() says so
 * before they are used). */
extern const uint8_t __start_sockreap_exec[] __attribute__((weak));
extern const uint8_t __stop_sockreap_exec[] __attribute__((weak));
extern const uint8_t exec_entry[] __attribute__((weak));

long rp_data(struct rprog *p, const void *src, size_t len)
{
	size_t off = (p->ndata + 15) & ~(size_t)15;
	if (off + len > p->capdata) {
		size_t cap = MAX(off + len, 2 * p->capdata);
		uint8_t *v = realloc(p->data, MAX(cap, 256));
		if (!v)
			return -ENOMEM;
		p->data = v;
		p->capdata = MAX(cap, 256);
	}
	memset(p->data + p->ndata, 0, off - p->ndata);
	if (src)
		memcpy(p->data + off, src, len);
	else
		memset(p->data + off, 0, len);
	p->ndata = off + len;
	return (long)off;
}

int rp_add(struct rprog *p, int32_t need0, int32_t need1, enum arch_sys sys, const struct rp_arg a[6])
{
	if (GROW(p->c, p->cap, p->n) < 0)
		return -ENOMEM;
	struct rp_call *c = &p->c[p->n];
	*c = (struct rp_call){ .sys = sys, .need = { need0, need1 }, .row = p->row_next, .ret = RP_NOT_RUN };
	memcpy(c->a, a, sizeof(c->a));
	p->row_next = false;
	return (int)p->n++;
}

void rp_row(struct rprog *p)
{
	p->row_next = true;
}

int rp_socket(struct rprog *p, int32_t need, int family, int type)
{
	return rp_add(p, need, 0, ASYS_SOCKET, (struct rp_arg[6]){ RP_IMM(family), RP_IMM(type), RP_IMM(0) });
}

int rp_socketpair(struct rprog *p, int32_t need, int family, int type, long *ret_off)
{
	static const int32_t none[2] = { -1, -1 };
	long off = rp_data(p, none, sizeof(none));
	if (off < 0)
		return (int)off;
	*ret_off = off;
	return rp_add(p, need, 0, ASYS_SOCKETPAIR,
		      (struct rp_arg[6]){ RP_IMM(family), RP_IMM(type), RP_IMM(0), RP_DATA(off) });
}

int rp_shutdown(struct rprog *p, int32_t need, struct rp_arg fd, int how)
{
	return rp_add(p, need, 0, ASYS_SHUTDOWN, (struct rp_arg[6]){ fd, RP_IMM(how) });
}

int rp_close(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg fd)
{
	return rp_add(p, need0, need1, ASYS_CLOSE, (struct rp_arg[6]){ fd });
}

int rp_dup3(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg oldfd, int newfd, int flags)
{
	return rp_add(p, need0, need1, ASYS_DUP3, (struct rp_arg[6]){ oldfd, RP_IMM(newfd), RP_IMM(flags) });
}

int rp_setsockopt(struct rprog *p, int32_t need0, int32_t need1, struct rp_arg fd, int level, int name,
		  const void *val, size_t len)
{
	long off = rp_data(p, val, len);
	if (off < 0)
		return (int)off;
	return rp_add(p, need0, need1, ASYS_SETSOCKOPT,
		      (struct rp_arg[6]){ fd, RP_IMM(level), RP_IMM(name), RP_DATA(off), RP_IMM(len) });
}

int rp_getsockopt(struct rprog *p, int32_t need, int fd, int level, int name, size_t len, long *ret_off)
{
	uint32_t l = (uint32_t)len;
	long loff = rp_data(p, &l, sizeof(l));
	long off = loff < 0 ? loff : rp_data(p, NULL, len);
	if (off < 0)
		return (int)off;
	*ret_off = off;
	return rp_add(p, need, 0, ASYS_GETSOCKOPT,
		      (struct rp_arg[6]){ RP_IMM(fd), RP_IMM(level), RP_IMM(name), RP_DATA(off), RP_DATA(loff) });
}

int rp_check_cookie(struct rprog *p, int fd, uint64_t cookie)
{
	long off;
	int i = rp_getsockopt(p, 0, fd, SOL_SOCKET, SO_COOKIE, sizeof(uint64_t), &off);
	if (i >= 0) {
		p->c[i].expect_on = true;
		p->c[i].expect = cookie;
	}
	return i;
}

int rp_setsockopt_from(struct rprog *p, int32_t need0, int32_t need1, int fd, int level, int name, long off,
		       size_t len)
{
	return rp_add(p, need0, need1, ASYS_SETSOCKOPT,
		      (struct rp_arg[6]){ RP_IMM(fd), RP_IMM(level), RP_IMM(name), RP_DATA(off), RP_IMM(len) });
}

int rp_epoll_ctl(struct rprog *p, int32_t need0, int32_t need1, int epfd, int op, struct rp_arg fd,
		 uint32_t events, uint64_t data)
{
	struct rp_arg ev = RP_IMM(0);
	if (op != EPOLL_CTL_DEL) {
		/* struct epoll_event is packed on x86_64 (12 bytes), natural
		 * elsewhere: the local definition matches the target's ABI,
		 * which is sockreap's own (arch_sysno refuses other modes). */
		struct epoll_event e = { .events = events, .data.u64 = data };
		long off = rp_data(p, &e, sizeof(e));
		if (off < 0)
			return (int)off;
		ev = RP_DATA(off);
	}
	return rp_add(p, need0, need1, ASYS_EPOLL_CTL, (struct rp_arg[6]){ RP_IMM(epfd), RP_IMM(op), fd, ev });
}

int rp_fcntl(struct rprog *p, int32_t need, struct rp_arg fd, int cmd, long arg)
{
	return rp_add(p, need, 0, ASYS_FCNTL, (struct rp_arg[6]){ fd, RP_IMM(cmd), RP_IMM(arg) });
}

static bool need_met(const struct rprog *p, int32_t need)
{
	if (need == 0)
		return true;
	size_t i = (size_t)(need > 0 ? need : -need) - 1;
	int64_t r = p->c[i].ret;
	if (r == RP_NOT_RUN)
		return false;
	return need > 0 ? r >= 0 : r < 0;
}

bool rp_runnable(const struct rprog *p, size_t i)
{
	return need_met(p, p->c[i].need[0]) && need_met(p, p->c[i].need[1]);
}

int rp_run_calls(struct inj *t, struct rprog *p, uint64_t data_addr, size_t *next)
{
	int r;
	bool first_row = true;
	p->reached = p->n;
	if (p->ndata && *next == 0 && (r = t->ops->write_mem(t->pid, data_addr, p->data, p->ndata)) < 0)
		return r;
	for (; *next < p->n; (*next)++) {
		struct rp_call *c = &p->c[*next];
		if (c->row && !first_row && p->deadline_ns && now_ns() >= p->deadline_ns) {
			p->reached = *next;
			return 0;
		}
		if (c->row)
			first_row = false;
		if (!rp_runnable(p, *next))
			continue;
		uint64_t args[6];
		for (int k = 0; k < 6; k++) {
			int32_t v32 = -1;
			if (c->a[k].kind == RP_MEM32 &&
			    (r = t->ops->read_mem(t->pid, data_addr + c->a[k].v, &v32, sizeof(v32))) < 0)
				return r;
			args[k] = c->a[k].kind == RP_RET ? (uint64_t)p->c[c->a[k].v].ret
				: c->a[k].kind == RP_DATA ? data_addr + c->a[k].v
				: c->a[k].kind == RP_MEM32 ? (uint64_t)(int64_t)v32 : c->a[k].v;
		}
		long ret;
		uint64_t got;
		if ((r = inj_call(t, c->sys, args, &ret)) < 0)
			return r;
		if (c->expect_on && ret >= 0) {
			if ((r = t->ops->read_mem(t->pid, args[3], &got, sizeof(got))) < 0)
				return r;
			if (got != c->expect)
				ret = -ESTALE;
		}
		c->ret = ret;
	}
	return 0;
}

/* Where everything lives in the scratch mapping: the executor's code on
 * the first pages (read+exec), then, made writable by the executor itself,
 * the job, its calls, the program's data, a stack and the signal frame. */
struct layout {
	uint64_t code, rw, job, ops, data, stack_top, frame, end;
	size_t code_len;
};

_Static_assert(EXEC_ESTALE == ESTALE, "the executor's ESTALE");

#define EXEC_STACK (16 * 1024)
#define EXEC_MAP_MIN (256 * 1024)

static struct layout layout_of(const struct rprog *p, size_t xstate_len)
{
	const uint64_t page = page_size(); /* the executor mprotects whole pages */
	struct layout l = { .code_len = (size_t)(__stop_sockreap_exec - __start_sockreap_exec) };
	l.rw = (l.code_len + page - 1) / page * page;
	l.job = l.rw;
	l.ops = l.job + 256;
	l.data = (l.ops + (p->n + 2) * sizeof(struct exec_op) + 63) & ~(uint64_t)63;
	l.stack_top = (l.data + p->ndata + EXEC_STACK + 63) & ~(uint64_t)63;
	l.frame = l.stack_top + 64;
	l.end = l.frame + arch_exec_frame_size(xstate_len);
	return l;
}

static uint8_t xstate[ARCH_XSTATE_MAX];

/* The executor cannot run in this target: why (for -v), and -EAGAIN, the
 * call-by-call path. */
static int no_executor(struct inj *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int no_executor(struct inj *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	t->no_executor = true;
	return -EAGAIN;
}

/* Everything before p can run inside the target: the injection thread
 * chosen and saved, its extended state read (into xstate, *xlen), the
 * scratch mapping checked or made, the executor's code in it. */
static int ready_inside(struct inj *t, const struct rprog *p, size_t *xlen, struct layout *lp, uint64_t *basep)
{
	uint64_t base;
	int r;

	*xlen = sizeof(xstate);
	t->no_executor = false;
	if ((r = inj_prepare(t)) < 0)
		return r;
	pid_t tid = t->th[t->it].tid;
	if (!t->ops->getregset || !t->ops->read_status)
		return no_executor(t, "no register sets here");
	/* what the status says (a shadow stack) does not change between
	 * batches: read once per thread */
	const uint8_t *code = __start_sockreap_exec;
	if (!code)
		return no_executor(t, "no executor in this build");
	if (t->exec_ok_tid != tid) {
		_cleanup_free_ char *status = NULL;
		if (t->ops->read_status(tid, &status) < 0)
			return no_executor(t, "thread %d's status cannot be read", (int)tid);
		if (arch_exec_refusal(status))
			return no_executor(t, "thread %d has a user shadow stack", (int)tid);
		t->exec_ok_tid = tid;
	}
	if (t->ops->getregset(tid, arch_xstate_regset, xstate, xlen) < 0)
		return no_executor(t, "no XSAVE state for thread %d", (int)tid);

	struct layout l = layout_of(p, *xlen);
	/* Still ours, now that every thread is stopped? The maps were checked
	 * while the target ran (inj_pause); between that and this stop the
	 * application could have mapped something else there. Our code must
	 * still be at its start, and the end still mapped; if not, the range
	 * is forgotten (never unmapped: it is not ours) and a new one made. */
	if (t->scratch && t->scratch_prot == (PROT_READ | PROT_EXEC)) {
		_cleanup_free_ uint8_t *back = malloc(l.code_len);
		uint8_t last;
		if (!back)
			return -ENOMEM;
		if (t->ops->read_mem(t->pid, t->scratch, back, l.code_len) < 0 ||
		    memcmp(back, __start_sockreap_exec, l.code_len) ||
		    t->ops->read_mem(t->pid, t->scratch + t->scratch_len - 1, &last, 1) < 0)
			t->scratch = t->scratch_len = 0;
	}
	bool fresh = !t->scratch || t->scratch_prot != (PROT_READ | PROT_EXEC) || t->scratch_len < l.end;
	/* room for the batches that follow (a new mapping costs a stop
	 * several injected calls): untouched pages cost the target nothing */
	if ((r = inj_scratch(t, MAX(l.end, EXEC_MAP_MIN), PROT_READ | PROT_EXEC, &base)) < 0)
		return r == -EACCES || r == -EPERM ? no_executor(t, "an executable mapping was refused (%s)", strerror(-r))
						   : r;
	if (fresh && (r = t->ops->write_mem(t->pid, base, __start_sockreap_exec, l.code_len)) < 0)
		return r;
	*lp = l;
	*basep = base;
	return 0;
}

int rp_ready(struct inj *t, const struct rprog *p)
{
	size_t xlen;
	struct layout l;
	uint64_t base;
	int r = ready_inside(t, p, &xlen, &l, &base);
	if (r == -EAGAIN && t->no_executor)
		t->why[0] = '\0'; /* not a failure: the batches will say it (-v) */
	if (r < 0 || t->scratch_marked)
		return r;
	/* A new mapping gets its madvise() calls in the stop that made it:
	 * an empty program, which is only those (a stop of its own may come
	 * between this one and the first rows, where the application could
	 * fork, or sockreap die, leaving it as it was made). */
	struct rprog empty = { 0 };
	size_t ran;
	return rp_run_inside(t, &empty, &ran);
}

int rp_run_inside(struct inj *t, struct rprog *p, size_t *ran)
{
	size_t xlen;
	struct layout l;
	uint64_t base, frame_sp, altstack;
	int r;

	*ran = 0;
	if ((r = ready_inside(t, p, &xlen, &l, &base)) < 0)
		return r;

	/* the frame: the thread's registers in the form it must continue with
	 * when rt_sigreturn is what restores them (no stop follows) */
	struct arch_regs cont = t->saved;
	arch_restart_fixup(&cont);
	size_t flen = (size_t)(l.end - l.frame);
	_cleanup_free_ uint8_t *frame = malloc(flen);
	/* two more calls after the program's, at its first run in a new
	 * mapping: the mapping is not for a child the application forks
	 * between batches, nor for its core dumps */
	size_t nops = p->n + (t->scratch_marked ? 0 : 2);
	_cleanup_free_ struct exec_op *ops = calloc(nops, sizeof(*ops));
	if (!frame || !ops)
		return -ENOMEM;
	if ((r = arch_exec_build_frame(frame, flen, base + l.frame, &cont, t->saved_mask, xstate, xlen, &frame_sp,
				       &altstack)) < 0)
		return snprintf(t->why, sizeof(t->why), "cannot build the restore frame"), r;
	for (size_t i = 0; i < p->n; i++) {
		const struct rp_call *c = &p->c[i];
		long nr = arch_sysno(&t->saved, c->sys);
		if (nr < 0)
			return -EOPNOTSUPP;
		ops[i] = (struct exec_op){ .nr = nr, .need = { c->need[0], c->need[1] },
					   .flags = (c->row ? EXEC_OP_ROW : 0) | (c->expect_on ? EXEC_OP_EXPECT : 0),
					   .expect = c->expect, .ret = EXEC_NOT_RUN };
		for (int k = 0; k < 6; k++) {
			ops[i].a[k] = c->a[k].v;
			ops[i].kind[k] = c->a[k].kind == RP_RET ? EXEC_RET : c->a[k].kind == RP_DATA ? EXEC_DATA
				       : c->a[k].kind == RP_MEM32 ? EXEC_MEM32 : EXEC_IMM;
		}
	}
	long madv = arch_sysno(&t->saved, ASYS_MADVISE);
	/* over the whole mapping, which may be larger than this layout */
	if (nops > p->n) {
		ops[p->n] = (struct exec_op){ .nr = madv, .a = { base, t->scratch_len, MADV_DONTFORK },
					      .ret = EXEC_NOT_RUN };
		ops[p->n + 1] = (struct exec_op){ .nr = madv, .a = { base, t->scratch_len, MADV_DONTDUMP },
						  .ret = EXEC_NOT_RUN };
	}
	/* what is left of the stop's time; at least 1 ns (0 means none) */
	uint64_t now = now_ns(), budget = !p->deadline_ns ? 0 : p->deadline_ns > now ? p->deadline_ns - now : 1;
	/* the same deadline on the clock the target reads as we do */
	uint64_t deadline_rt = budget ? realtime_ns() + budget : 0;
	struct exec_job job = {
		.nops = nops, .ops = base + l.ops, .data = base + l.data, .frame_sp = frame_sp, .altstack = altstack,
		.nr_wait = arch_sysno(&t->saved, ASYS_PPOLL), .nr_sigaltstack = arch_sysno(&t->saved, ASYS_SIGALTSTACK),
		/* if sockreap is gone, the thread goes on after this long */
		.timeout = { 0, 500 * 1000 * 1000 },
		.budget_ns = budget, .nr_clock = arch_sysno(&t->saved, ASYS_CLOCK_GETTIME), .tail = p->n,
		.stopped_at = UINT64_MAX, .deadline_rt = deadline_rt,
	};
	_Static_assert(offsetof(struct exec_job, frame_sp) == EXEC_JOB_FRAME_SP, "exec_entry reads frame_sp");
	if ((r = t->ops->write_mem(t->pid, base + l.job, &job, sizeof(job))) < 0 ||
	    (r = t->ops->write_mem(t->pid, base + l.ops, ops, nops * sizeof(*ops))) < 0 ||
	    (p->ndata && (r = t->ops->write_mem(t->pid, base + l.data, p->data, p->ndata)) < 0) ||
	    (r = t->ops->write_mem(t->pid, base + l.frame, frame, flen)) < 0)
		return r;

	struct arch_regs start = t->saved;
	arch_exec_set_regs(&start, base + (uint64_t)(exec_entry - __start_sockreap_exec), base + l.stack_top,
			   base + l.rw, l.end - l.rw, base + l.job);
	r = inj_exec(t, &start, base + l.job + offsetof(struct exec_job, done),
		     base + l.job + offsetof(struct exec_job, progress), base, l.code_len);
	/* what ran, even after an error: the results are in the target */
	uint64_t progress = 0, stopped_at = UINT64_MAX;
	p->reached = p->n;
	if (t->ops->read_mem(t->pid, base + l.ops, ops, nops * sizeof(*ops)) == 0 &&
	    t->ops->read_mem(t->pid, base + l.job + offsetof(struct exec_job, progress), &progress,
			     sizeof(progress)) == 0 &&
	    t->ops->read_mem(t->pid, base + l.job + offsetof(struct exec_job, stopped_at), &stopped_at,
			     sizeof(stopped_at)) == 0) {
		for (size_t i = 0; i < p->n; i++)
			p->c[i].ret = ops[i].ret == EXEC_NOT_RUN ? RP_NOT_RUN : ops[i].ret;
		/* once is enough: the mapping keeps them (each takes the
		 * target's mmap lock for writing, inside the stop) */
		if (nops > p->n && ops[p->n].ret == 0 && ops[p->n + 1].ret == 0)
			t->scratch_marked = true;
		*ran = r == 0 ? p->n : (size_t)MIN(progress, p->n);
		if (stopped_at < p->n) { /* stopped by its budget: nothing ran after */
			p->reached = (size_t)stopped_at;
			*ran = MIN(*ran, p->reached);
		}
	} else if (r == 0) {
		/* it ran, but what it did is not known */
		snprintf(t->why, sizeof(t->why), "the results of the calls could not be read back from the target");
		r = -EIO;
	}
	return r;
}

void rprog_reset(struct rprog *p)
{
	p->n = p->ndata = p->reached = 0;
	p->row_next = false;
}

void rprog_free(struct rprog *p)
{
	free(p->c);
	free(p->data);
	*p = (struct rprog){ 0 };
}
