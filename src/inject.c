#include "inject.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <linux/ptrace.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procinfo.h"
#include "reaper.h"
#include "util.h"

/* <sys/ptrace.h> and <linux/ptrace.h> clash; the few constants we need: */
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef PTRACE_EVENT_EXEC
#define PTRACE_EVENT_EXEC 4
#endif
#ifndef PTRACE_O_TRACEEXEC
#define PTRACE_O_TRACEEXEC 0x10
#endif

static int fail(struct inj *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct inj *t, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	return err;
}

static struct inj_thread *find_thread(struct inj *t, pid_t tid)
{
	for (size_t i = 0; i < t->nth; i++)
		if (t->th[i].tid == tid)
			return &t->th[i];
	return NULL;
}

static struct inj_thread *add_thread(struct inj *t, pid_t tid)
{
	if (GROW(t->th, t->cap, t->nth) < 0)
		return NULL;
	t->th[t->nth] = (struct inj_thread){ .tid = tid };
	return &t->th[t->nth++];
}

static int read_status_int(struct inj *t, pid_t tid, const char *field, long *v);

/* A signal only the kernel forces on a thread running our code (its
 * others are blocked then): a fault, or SIGSYS (seccomp, dispatch). */
static bool forced_by_us(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGSYS;
}

static bool stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* A task attached by TRACECLONE, known from its clone event or from its
 * own first stop, whichever is reported first. Any clone() whose exit
 * signal is not SIGCHLD raises that event, a new process's too (no
 * CLONE_THREAD): held and detached like a thread, but never one our calls
 * run in (its fd table and memory may be copies: the executor's mapping
 * is not inherited), nor one that says the target lives. A Tgid that
 * cannot be read counts as another process. */
static struct inj_thread *add_child(struct inj *t, pid_t tid)
{
	struct inj_thread *c = add_thread(t, tid);
	long tgid = 0;
	if (c)
		c->foreign = read_status_int(t, tid, "Tgid", &tgid) < 0 || tgid != t->pid;
	return c;
}

/* The children of clone events noted since, into t->th. Only where no
 * pointer into t->th is held. A child of the thread seccomp is suspended
 * in inherited that (a thread the executor had given back to the
 * application, which cloned): put back at its first stop. 0 or -ENOMEM. */
static int adopt(struct inj *t)
{
	for (size_t k = 0; k < t->nkids; k++) {
		if (find_thread(t, t->kids[k].tid))
			continue;
		struct inj_thread *c = add_child(t, t->kids[k].tid);
		if (!c)
			return -ENOMEM;
		c->clear_opts = t->kids[k].suspended_parent;
	}
	t->nkids = 0;
	return 0;
}

/* Note a wait status for thread th: stopped, gone, or (for a clone event)
 * a new thread to expect (adopt). */
static int note_status(struct inj *t, struct inj_thread *th, int status)
{
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		th->gone = true;
		th->stopped = false;
		return 0;
	}
	if (!WIFSTOPPED(status))
		return 0;
	th->stopped = true;
	th->status = status;
	if (th->clear_opts && t->ops->setoptions && t->ops->setoptions(th->tid, INJ_PTRACE_OPTS) == 0)
		th->clear_opts = false;
	int event = status >> 16;
	if (event == 0 && WSTOPSIG(status) == (SIGTRAP | 0x80)) {
		/* a syscall-entry or -exit stop (PTRACE_O_TRACESYSGOOD) of our
		 * own injected call: outside signal delivery */
		th->in_signal_path = false;
		return 0;
	}
	th->in_signal_path = event == 0 || event == PTRACE_EVENT_STOP;
	if (event == PTRACE_EVENT_EXEC && !th->foreign)
		t->exec_seen = true; /* a new program: nothing planned holds */
	if (event == PTRACE_EVENT_CLONE) {
		/* The new thread is attached automatically (TRACECLONE) and
		 * will report an event stop of its own. */
		unsigned long child;
		pid_t tid = th->tid;
		if (t->ops->geteventmsg(tid, &child) == 0 && child > 0 && !find_thread(t, (pid_t)child)) {
			/* added to t->th by adopt(), at a point where nobody
			 * holds a pointer into it (a realloc here would leave
			 * the callers' th dangling) */
			if (GROW(t->kids, t->capkids, t->nkids) < 0)
				return -ENOMEM;
			t->kids[t->nkids++] = (struct inj_kid){ (pid_t)child, tid == t->suspended_tid };
		}
	} else if (event == 0)
		/* A signal arrived for this thread: hold it, deliver it when
		 * we leave (PTRACE_DETACH with the signal). SIGTRAP too: the
		 * engine raises no trap (no single step, no breakpoint, exec
		 * and syscall stops are told apart by TRACEEXEC and
		 * TRACESYSGOOD), so one here was sent to the application. */
		th->pending_sig = WSTOPSIG(status);
	return 0;
}

/* A number field of /proc/TID/status: 0, -errno if unreadable, -EINVAL
 * if it is not a plain decimal number. */
static int read_status_int(struct inj *t, pid_t tid, const char *field, long *v)
{
	char buf[64], *end;
	int r = t->ops->status_field(tid, field, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	*v = strtol(buf, &end, 10);
	return errno || end == buf || (*end && *end != ' ' && *end != '\t') ? -EINVAL : 0;
}

/* A field of the target's status that safety depends on (TracerPid,
 * Seccomp): when it cannot be read, nothing is done (fail closed), unless
 * the reason is that the process is gone. */
static int read_safety_field(struct inj *t, const char *field, long *v)
{
	char state[32];
	int r = read_status_int(t, t->pid, field, v);
	if (r == 0)
		return 0;
	if (t->ops->status_field(t->pid, "State", state, sizeof(state)) < 0)
		return fail(t, -ESRCH, "process exited");
	return fail(t, -EIO, "cannot read %s from /proc/%d/status (%s): the engine's safety depends on it; "
			      "refused, target untouched", field, (int)t->pid,
		    r == -ENOENT ? "no such field" : strerror(-r));
}

/* Who traces pid already? A message for the user naming the tracer. */
static int already_traced(struct inj *t, long tracer)
{
	char comm[64] = "?";
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/comm", tracer);
	if (read_small_file(AT_FDCWD, path, comm, sizeof(comm)) > 0)
		comm[strcspn(comm, "\n")] = '\0';
	return fail(t, -EBUSY, "already traced by PID %ld (%s): only one tracer at a time; target untouched",
		    tracer, comm);
}

/* A thread that has exited (zombie, dead, or no longer listed): the
 * kernel refuses to attach to it with EPERM, which is no permission
 * problem but "gone". */
static bool thread_exited(struct inj *t, pid_t tid)
{
	char state[32];
	if (t->ops->status_field(tid, "State", state, sizeof(state)) < 0)
		return true;
	return state[0] == 'Z' || state[0] == 'X';
}

/* PTRACE_SEIZE one thread, with the reaper watching (reaper.h). An EPERM
 * from a thread that looks alive and has no tracer can be the moment of
 * an exec, when the pid still names the old, dying main thread: tried
 * again a few times, a millisecond apart, before it counts. */
static int seize_one(struct inj *t, pid_t tid, unsigned long opts)
{
	for (int tries = 0;; tries++) {
		reaper_enter(t->reaper);
		int r = t->ops->seize(tid, opts);
		if (reaper_leave(t->reaper) > 0)
			t->exec_seen = true; /* blocked on cred_guard_mutex while threads died */
		long tracer = -1;
		if (r != -EPERM || tries == 3 || thread_exited(t, tid) ||
		    read_status_int(t, tid, "TracerPid", &tracer) < 0 || tracer != 0)
			return r;
		const struct timespec ms = { 0, 1000 * 1000 };
		nanosleep(&ms, NULL);
	}
}

static void boost(struct inj *t, bool on)
{
	if (t->ops->boost)
		t->ops->boost(on);
}

/* Interrupt th, unless it has stopped on its own already (a signal, a
 * clone or exec event since it was seized or resumed; drain_reports, just
 * before, took those reports): an interrupt sent to a thread in a stop is
 * owed, and it would stop again as soon as it is resumed, with nobody
 * waiting for it (inj_tend resumes it then). 0 or -errno. */
static int interrupt_unless_stopped(struct inj *t, struct inj_thread *th)
{
	if (th->gone || th->stopped)
		return 0;
	int r = t->ops->interrupt(th->tid);
	return r < 0 && r != -ESRCH ? r : 0;
}

/* Take every state change the threads have to report now, without
 * waiting: one wait per report (wait_any), not one per thread (1,000
 * threads: a millisecond and more, inside the stop). A thread we did not
 * know (a clone's child whose event is still to come) is added. Each
 * thread's last status is in th->status. 0 or -errno. */
static int drain_reports(struct inj *t)
{
	int status, r;
	if ((r = adopt(t)) < 0)
		return r;
	if (!t->ops->wait_any) {
		for (size_t i = 0; i < t->nth; i++) {
			struct inj_thread *th = &t->th[i];
			if (!th->gone && !th->stopped && t->ops->wait(th->tid, &status, 0) == 0 &&
			    (r = note_status(t, th, status)) < 0)
				return r;
		}
		return 0;
	}
	for (size_t n = 0; n < 2 * t->nth + 64; n++) {
		pid_t tid;
		if (t->ops->wait_any(&tid, &status) < 0)
			break;
		struct inj_thread *th = find_thread(t, tid);
		if (!th && !(th = add_child(t, tid)))
			return -ENOMEM;
		if ((r = note_status(t, th, status)) < 0)
			return r;
	}
	return adopt(t);
}

/* Seize every thread not yet seized, then interrupt them: a seized thread
 * runs on until its interrupt, so the target's stall begins with the
 * first interrupt, not with the first seize (both cost about as much per
 * thread: with 50 threads, half a millisecond each). A thread that stops
 * on its own in between (a signal) is not interrupted: its stop is the
 * one we wait for, and it began a little before the stall's count.
 * Returns how many were new. */
static int seize_new_threads(struct inj *t, unsigned long opts)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t n = 0, nseized = 0;
	int added = 0;

	int r = t->ops->list_threads(t->pid, &tids, &n);
	if (r < 0)
		return r == -ENOENT ? fail(t, -ESRCH, "process exited") : r;
	for (size_t i = 0; i < n; i++) {
		if (find_thread(t, tids[i]))
			continue;
		r = seize_one(t, tids[i], opts);
		if (r == -ESRCH)
			continue; /* the thread exited meanwhile */
		if (r == -EPERM && thread_exited(t, tids[i]))
			continue; /* ptrace_attach refuses a task in exit (Z or X): gone */
		if (r == -EPERM && t->nth > 0) {
			/* Probably attached automatically already, as the
			 * child of a clone we have not reaped yet: it will
			 * report its stop. */
			long tracer = 0;
			if (read_status_int(t, tids[i], "TracerPid", &tracer) == 0 && tracer == getpid()) {
				if (!add_thread(t, tids[i]))
					return -ENOMEM;
				added++;
				continue;
			}
		}
		if (r < 0)
			return r;
		if (!add_thread(t, tids[i]))
			return -ENOMEM;
		added++;
		tids[nseized++] = tids[i]; /* i >= nseized: not read again */
	}
	if (nseized && (r = drain_reports(t)) < 0)
		return r;
	r = 0;
	if (nseized)
		boost(t, true);
	for (size_t i = 0; i < nseized; i++) {
		if (!t->interrupted_at_ns)
			t->interrupted_at_ns = now_ns();
		struct inj_thread *th = find_thread(t, tids[i]);
		if (th && (r = interrupt_unless_stopped(t, th)) < 0)
			break;
	}
	boost(t, false);
	return r < 0 ? r : added;
}

/* A thread we had stopped has exited: only SIGKILL ends a ptrace stop, so
 * the process is being killed or is executing a new program (which
 * kills every other thread and waits for us to reap them). Reap such
 * threads now, so an execve() is not kept waiting for our deadline. */
static bool stopped_threads_died(struct inj *t)
{
	bool died = false;
	for (size_t i = 0; i < t->nth && t->ops->reap_exited; i++) {
		struct inj_thread *th = &t->th[i];
		if (th->stopped && !th->gone && t->ops->reap_exited(th->tid) == 1) {
			th->gone = true;
			th->stopped = false;
			died |= !th->foreign; /* another process's end says nothing of ours */
		}
	}
	t->threads_killed |= died;
	return died;
}

/* A signal taken at a stop (a signal-delivery stop's) lives only in
 * sockreap until the thread is resumed with it: the kernel cleared it when
 * we waited, so a sockreap that died now would lose it. Delivered at once
 * instead, from that very stop (its siginfo kept), the thread stopping
 * again right after (the interrupt is asked first): at its handler's first
 * instruction, or where it was if there is none. Stop signals stay held
 * until the threads run: job control is theirs to start. A few rounds at
 * most (a storm may bring the next one at once); what is left is held as
 * before. */
static void deliver_now(struct inj *t, struct inj_thread *th)
{
	if (!th->stopped || th->gone || !th->pending_sig || stop_signal(th->pending_sig) || th->deliveries >= 4)
		return;
	th->deliveries++;
	if (t->ops->interrupt(th->tid) == 0 && t->ops->resume(th->tid, false, th->pending_sig) == 0) {
		th->pending_sig = 0;
		th->stopped = false;
	}
}

/* Wait until every seized thread is stopped or gone, by the deadline; in
 * slices, to notice meanwhile threads that die (see above). */
static int wait_all_stopped(struct inj *t, uint64_t deadline)
{
	/* every thread's at once, then the waits: not one round trip after
	 * another, inside the stop */
	for (size_t i = 0; i < t->nth; i++) {
		t->th[i].deliveries = 0;
		deliver_now(t, &t->th[i]);
	}
	for (size_t i = 0; i < t->nth; i++) {
		/* t->th may grow (clone events) while we wait */
		int r = adopt(t);
		if (r < 0)
			return r;
		for (;;) {
			deliver_now(t, &t->th[i]);
			if (t->th[i].stopped || t->th[i].gone)
				break;
			int status;
			pid_t tid = t->th[i].tid;
			uint64_t slice = MIN(deadline, now_ns() + 2000000ull);
			r = t->ops->wait(tid, &status, slice);
			if (r == -ETIMEDOUT && slice < deadline) {
				if (stopped_threads_died(t))
					return 0; /* inj_attach gives up */
				continue;
			}
			if (r == -ETIMEDOUT)
				return fail(t, r, "thread %d did not stop within %llu ms (uninterruptible sleep, state D?); "
						  "target left running, untouched", (int)tid,
					    INJ_ATTACH_TIMEOUT_NS / 1000000);
			if (r == -ECHILD || r == -ESRCH) {
				t->th[i].gone = true;
				break;
			}
			if (r < 0)
				return r;
			if ((r = note_status(t, &t->th[i], status)) < 0)
				return r;
		}
	}
	/* children of the last thread's clone events: waited for too */
	return t->nkids ? wait_all_stopped(t, deadline) : 0;
}

/* After an exec the thread ids we know may name nothing, while the task
 * we seized lives on under the process's pid: detach every thread of pid
 * that is still traced by us, whatever we knew of it. */
static void detach_strays(struct inj *t)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t n = 0;
	if (t->ops->list_threads(t->pid, &tids, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		long tracer = 0;
		int status;
		if (read_status_int(t, tids[i], "TracerPid", &tracer) < 0 || tracer != getpid())
			continue;
		if (t->ops->interrupt(tids[i]) < 0)
			continue;
		/* a signal-delivery stop's signal goes back with the detach */
		while (t->ops->wait(tids[i], &status, now_ns() + INJ_ATTACH_TIMEOUT_NS) == 0 && WIFSTOPPED(status)) {
			int sig = (status >> 16) == 0 && WSTOPSIG(status) != (SIGTRAP | 0x80) ? WSTOPSIG(status) : 0;
			if (t->ops->detach(tids[i], sig) == 0)
				break;
		}
	}
}

static void detach_all(struct inj *t)
{
	boost(t, true);
	for (size_t i = 0; i < t->nth; i++) {
		adopt(t); /* a child not known yet is detached too */
		struct inj_thread *th = &t->th[i];
		if (!th->gone && !th->stopped) {
			/* Seized but not stopped: PTRACE_DETACH needs a stopped
			 * tracee, so ask for the stop (a thread resumed between
			 * batches has no interrupt pending) and wait (bounded). */
			int status;
			boost(t, false);
			t->ops->interrupt(th->tid);
			if (t->ops->wait(th->tid, &status, now_ns() + INJ_ATTACH_TIMEOUT_NS) == 0)
				note_status(t, th, status);
			boost(t, true);
		}
		/* A thread that has not stopped by now is in state D: the
		 * kernel detaches it when sockreap exits (we never set
		 * PTRACE_O_EXITKILL). */
		if (th->stopped && t->ops->detach(th->tid, th->pending_sig) == -ESRCH)
			th->gone = true; /* killed while stopped */
		if (th->gone) {
			/* reap the exit so the process's parent is not kept
			 * waiting for a zombie until sockreap exits */
			int status;
			t->ops->wait(th->tid, &status, 0);
		}
		th->stopped = false;
	}
	boost(t, false);
}

/* No thread of ours is left: the process exited, or, when it lives on
 * (not a zombie), it executed a new program (de_thread() killed the
 * others and the exec'ing one took the leader's id). */
static bool process_exited(struct inj *t);

static int fail_gone(struct inj *t)
{
	if (!process_exited(t)) {
		t->exec_seen = true;
		return fail(t, -EAGAIN, "the process executed a new program (execve) while sockreap held it; "
					"nothing more is done to it (run sockreap again)");
	}
	return fail(t, -ESRCH, "process exited");
}

/* Is pid still the process that started at start_time? 0 yes, -ESRCH no
 * (why says so), -errno if it cannot be told (refused: fail closed). */
static int same_process(struct inj *t, uint64_t start_time)
{
	uint64_t now = 0;
	if (!start_time)
		return 0;
	int r = t->ops->start_time ? t->ops->start_time(t->pid, &now) : -ENOSYS;
	if (r == -ENOENT || r == -ESRCH)
		return fail(t, -ESRCH, "process exited");
	if (r < 0)
		return fail(t, -EIO, "cannot read the start time of process %d (%s), so a reused PID cannot be "
				     "told apart; refused, target untouched", (int)t->pid, strerror(-r));
	if (now != start_time)
		return fail(t, -ESRCH, "process exited (PID reused: %d is now another process, started later); "
				       "not touched", (int)t->pid);
	return 0;
}

/* The thread we were using is gone: only SIGKILL ends a ptrace stop, so
 * the process exited, or a thread of it executed a new program (execve
 * kills every other thread), or (after the executor restored it itself)
 * it ended on its own. Said so when the process lives on, so that no row
 * blames an exit that did not happen; nothing is concluded from it (an
 * exec is known from its event: exec_seen). */
static int fail_thread_gone(struct inj *t, int err, const char *when)
{
	if (!process_exited(t))
		return fail(t, err, "a thread of the process ended%s (it is executing a new program, or the thread "
				    "exited); nothing more is done to it (run sockreap again)", when);
	return fail(t, err, "target exited%s", when);
}

/* A task on its way out, though not yet a zombie: exiting (PF_EXITING),
 * or with SIGKILL pending, which it has not acted on yet (a SIGKILL of
 * the process, exit_group() and execve() give one to every thread they
 * end, the exec'ing thread excepted). */
static bool dying(struct inj *t, pid_t tid)
{
	char pnd[32];
	if (t->ops->exiting && t->ops->exiting(tid) == 1)
		return true;
	return t->ops->status_field(tid, "SigPnd", pnd, sizeof(pnd)) == 0 &&
	       (strtoull(pnd, NULL, 16) >> (SIGKILL - 1) & 1);
}

/* Has the process exited? 1: its leader's state says Z or X, or nothing,
 * and no other thread is left (while an execve() from another thread
 * runs, de_thread() makes the old leader a zombie for a moment, with the
 * exec'ing thread still listed). 0: it lives on (after an exec, the pid
 * names the exec'ing thread). -1: not yet known: the leader, or another
 * thread, is still on its way out (PF_EXITING: an exit, or killed by an
 * exec's de_thread()), which takes a while with many sockets to close or
 * on a loaded machine. */
static int looks_exited(struct inj *t)
{
	char state[32];
	if (t->ops->status_field(t->pid, "State", state, sizeof(state)) < 0)
		return 1;
	if (state[0] != 'Z' && state[0] != 'X')
		return dying(t, t->pid) ? -1 : 0;
	_cleanup_free_ pid_t *tids = NULL;
	size_t n = 0;
	if (t->ops->list_threads(t->pid, &tids, &n) < 0)
		return 1;
	/* a thread that is not dying too: the exec'ing one (or, with a
	 * leader that called pthread_exit(), the process living on); one
	 * that is still on its way out (an exit_group() kills every thread,
	 * and the leader is a zombie before the last is gone) says nothing
	 * yet */
	int e = 1;
	for (size_t i = 0; i < n && e != 0; i++)
		if (tids[i] != t->pid && t->ops->status_field(tids[i], "State", state, sizeof(state)) == 0 &&
		    state[0] != 'Z' && state[0] != 'X')
			e = dying(t, tids[i]) ? -1 : 0;
	return e;
}

/* ... and so it stays: while the exec'ing thread takes the leader's id,
 * /proc/PID can be unreadable for a moment (longer on a loaded machine).
 * Asked a few times over about 20 ms, and while the leader is still
 * exiting for up to a second more; only on paths that give up. */
static bool process_exited(struct inj *t)
{
	int seen = 0;
	for (int i = 0; i < 250; i++) {
		int e = looks_exited(t);
		if (e == 0)
			return false;
		if (e == 1 && ++seen == 5)
			return true;
		nanosleep(&(struct timespec){ 0, 4 * 1000 * 1000 }, NULL);
	}
	return true; /* still exiting after a second: it is not running on */
}

/* Give up the attach when the process executed a new program or had its
 * threads killed under us: what was planned no longer holds, and an
 * exec must not be kept waiting. */
static int exec_or_kill_seen(struct inj *t)
{
	if (!t->exec_seen && !t->threads_killed)
		return 0;
	if (process_exited(t))
		return fail(t, -ESRCH, "process exited while sockreap attached");
	if (t->exec_seen)
		return fail(t, -EAGAIN, "the target executed a new program (execve) while sockreap attached; "
					"gave up, target untouched (run sockreap again)");
	return fail(t, -EAGAIN, "threads of the target were killed while sockreap attached (it is exiting, or "
				"executing a new program); gave up, target untouched");
}

static int find_insn(const struct tracee_ops *ops, pid_t pid, const char *maps, const struct arch_insn *insn,
		     int passes, bool fixed, uint64_t *addr);
static bool fixed_code(const char *line, const char *perms, int name_at);

/* Is insn at addr in the target? */
static bool insn_at(struct inj *t, uint64_t addr, const struct arch_insn *insn)
{
	uint8_t at[16];
	return insn->len && insn->len <= sizeof(at) && t->ops->read_mem(t->pid, addr, at, insn->len) == 0 &&
	       !memcmp(at, insn->bytes, insn->len);
}

static bool syscall_insn_at(struct inj *t, uint64_t addr)
{
	return insn_at(t, addr, &arch_syscall_insn);
}

/* Are the guarded call's gadgets still in code that nothing rewrites, and
 * where is the main thread's stack ([stack], which grows), in this maps
 * text (before the attach, and each time the threads ran)? If not, the
 * scratch mapping's calls are plain from now on, and say why. */
static void guard_maps(struct inj *t, const char *maps)
{
	bool call_ok = false, ret_ok = false;
	t->stack_lo = t->stack_hi = 0;
	for (const char *line = maps; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		uint64_t lo, hi;
		char perms[8] = "";
		int name_at = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n", &lo, &hi, perms, &name_at) < 3)
			continue;
		if (name_at && perms[0] == 'r' && perms[1] == 'w' && !strncmp(line + name_at, "[stack]", 7)) {
			t->stack_lo = lo;
			t->stack_hi = hi;
		}
		if (t->guard_call && fixed_code(line, perms, name_at)) {
			call_ok |= t->guard_call >= lo && t->guard_call + arch_guard_call.len <= hi;
			ret_ok |= t->guard_sigreturn >= lo &&
				  t->guard_sigreturn + arch_guard_sigreturn[t->guard_sigret].len <= hi;
		}
	}
	if (t->guard_call && (!call_ok || !ret_ok))
		t->guard_call = 0, t->guard_why = "its return gadgets' code was unmapped or replaced";
	if (!t->stack_hi && t->guard_call)
		t->guard_why = "no [stack] mapping";
}

/* The guarded call's gadgets (arch.h) and the main thread's stack, looked
 * for before the attach as the syscall instruction is; inj_prepare's
 * guard_frame reads them back at each stop. None found: the scratch
 * mapping's calls are plain ones. */
static void find_guard(struct inj *t, const char *maps)
{
	/* The C library's lines first: both are there (glibc's and musl's
	 * __restore_rt, their syscall wrappers), and a large program's other
	 * code (a JVM's) is not read for them; then every other mapping. */
	_cleanup_free_ char *libc = malloc(strlen(maps) + 1);
	size_t n = 0;
	t->guard_call = t->guard_sigreturn = 0;
	for (const char *line = maps; libc && line && *line;) {
		const char *next = strchr(line, '\n');
		size_t len = next ? (size_t)(next - line) + 1 : strlen(line);
		if (memmem(line, len, "/libc.so", 8) || memmem(line, len, "/libc-", 6) || memmem(line, len, "/ld-musl-", 9))
			memcpy(libc + n, line, len), n += len;
		line = next ? next + 1 : NULL;
	}
	if (libc)
		libc[n] = '\0';
	for (int pass = libc && n ? 0 : 1; pass < 2 && !(t->guard_call && t->guard_sigreturn); pass++) {
		const char *where = pass == 0 ? libc : maps;
		t->guard_call = t->guard_sigreturn = 0;
		if (find_insn(t->ops, t->pid, where, &arch_guard_call, 2, true, &t->guard_call) < 0)
			continue;
		for (size_t k = 0; k < ARRAY_SIZE(arch_guard_sigreturn) && !t->guard_sigreturn; k++)
			if (find_insn(t->ops, t->pid, where, &arch_guard_sigreturn[k], 2, true, &t->guard_sigreturn) == 0)
				t->guard_sigret = k;
	}
	if (!t->guard_call || !t->guard_sigreturn)
		t->guard_call = 0, t->guard_why = "no return gadgets in its code";
	guard_maps(t, maps);
}

/* The attach's reaper is of no use once every thread is seized. */
static void drop_reaper(struct inj *t)
{
	reaper_stop(t->reaper);
	t->reaper = NULL;
}

int inj_attach(struct inj *t, const struct tracee_ops *ops, pid_t pid)
{
	return inj_attach_checked(t, ops, pid, 0);
}

int inj_attach_checked(struct inj *t, const struct tracee_ops *ops, pid_t pid, uint64_t start_time)
{
	long tracer = 0, seccomp = 0;
	char state[32] = "";
	int r;

	*t = (struct inj){ .ops = ops, .pid = pid };
	const char *no_inject = arch_inject_refusal();
	if (no_inject)
		return fail(t, -EOPNOTSUPP, "%s", no_inject); /* before any ptrace request */
	r = ops->status_field(pid, "State", state, sizeof(state));
	if (r == -ENOENT || r == -ESRCH)
		return fail(t, -ESRCH, "process exited");
	if (r < 0)
		return fail(t, -EIO, "cannot read the state of process %d from /proc/%d/status (%s); refused, "
				     "target untouched", (int)pid, (int)pid, strerror(-r));
	if ((r = same_process(t, start_time)) < 0)
		return r;
	if ((r = read_safety_field(t, "TracerPid", &tracer)) < 0)
		return r;
	if (tracer != 0)
		return already_traced(t, tracer);
	t->job_stopped = state[0] == 'T';
	/* A seccomp filter (or strict mode) applies to injected calls too and
	 * may kill the target for them: it is suspended in the thread our
	 * calls run in, for as long as they run (thread_refusal; needs
	 * CAP_SYS_ADMIN). Asked at every stop, whatever the leader has now:
	 * a filter is per thread, and one may come between two batches. Only
	 * there: suspended for the whole session, the threads would run
	 * their own code between batches without their sandbox. Without the
	 * capability, a leader under seccomp is refused here, untouched. */
	if ((r = read_safety_field(t, "Seccomp", &seccomp)) < 0)
		return r;
	t->can_suspend = ops->may_suspend_seccomp && ops->may_suspend_seccomp();
	if (seccomp != 0 && !t->can_suspend)
		return fail(t, -EPERM, "the target runs under seccomp (Seccomp: %ld) and suspending it "
				       "(PTRACE_O_SUSPEND_SECCOMP) needs CAP_SYS_ADMIN; refused, target untouched",
			    seccomp);

	/* The syscall instruction, looked for while the target still runs:
	 * reading its maps and vdso is a good part of the first stop
	 * otherwise. Kept only in the vdso, which a program cannot unmap or
	 * make writable as it can its own code (the read-back at the stop
	 * goes through /proc/PID/mem, which sees bytes, not permissions);
	 * inj_prepare checks it is still there, and looks again if it is not
	 * (or was not found). */
	_cleanup_free_ char *maps = NULL;
	if (!ops->read_maps || ops->read_maps(pid, &maps) < 0 ||
	    find_insn(ops, pid, maps, &arch_syscall_insn, 1, false, &t->insn) < 0)
		t->insn = 0;
	if (maps)
		find_guard(t, maps);
	t->wine = procinfo_maps_wine(maps);

	/* TRACEEXEC: an exec while we attach stops its thread with an event
	 * (after the kernel let go of cred_guard_mutex), so we see it. */
	unsigned long opts = INJ_PTRACE_OPTS;
	uint64_t deadline = now_ns() + INJ_ATTACH_TIMEOUT_NS;
	t->reaper = reaper_start(ops, pid);
	/* Threads can be created while we seize: keep listing until a pass
	 * finds none new. Threads created after their creator was seized are
	 * attached by TRACECLONE and reported by a clone event. */
	for (;;) {
		r = seize_new_threads(t, opts);
		if (r == -EPERM && t->nth == 0) {
			drop_reaper(t);
			if (read_status_int(t, pid, "TracerPid", &tracer) == 0 && tracer != 0)
				return already_traced(t, tracer);
			return fail(t, r, "ptrace attach refused (EPERM): needs CAP_SYS_PTRACE, and Yama "
					  "ptrace_scope or an LSM may forbid it");
		}
		if (r < 0)
			break;
		int e = exec_or_kill_seen(t);
		if (e < 0) {
			r = e;
			break;
		}
		if (t->nth == 0) {
			r = fail(t, -ESRCH, state[0] == 'Z' || state[0] == 'X'
						    ? "process exited (a zombie: its fds are closed)" : "process exited");
			break;
		}
		if (r == 0)
			break; /* a pass found nothing new: every thread is ours */
		if ((r = wait_all_stopped(t, deadline)) < 0 || (r = exec_or_kill_seen(t)) < 0)
			break;
		if (now_ns() > deadline) {
			r = fail(t, -ETIMEDOUT, "threads kept appearing; gave up, target untouched");
			break;
		}
	}
	if (r >= 0) {
		bool any = false;
		for (size_t i = 0; i < t->nth; i++)
			any |= t->th[i].stopped && !t->th[i].foreign;
		if (!any)
			r = fail_gone(t);
		else
			r = same_process(t, start_time); /* reused between the check and the seize? */
	}
	/* The reaper is stopped once the target runs again (drop_reaper):
	 * joining its thread takes a few hundred microseconds here, which
	 * would all be the target's stall. */
	if (r < 0) {
		if (!t->why[0])
			fail(t, r, "attach failed: %s", strerror(-r));
		detach_all(t);
		if (t->exec_seen || t->threads_killed)
			detach_strays(t);
		drop_reaper(t);
		free(t->th);
		free(t->kids);
		t->th = NULL;
		t->kids = NULL;
		t->nkids = t->capkids = 0;
		t->nth = t->cap = 0;
		return r;
	}
	t->stopped_at_ns = now_ns();
	return 0;
}

/* ---- fds that interrupted calls will look up again (inj_busy_fds) ---- */

struct busy_acc {
	struct inj_busy *v;
	size_t n, cap;
	pid_t tid;        /* the thread being looked at, and its call */
	long nr;
	const char *call;
};

/* The largest fd set read from a target; nr_open's default is 1 << 20,
 * a bigger count fails closed. */
#define BUSY_SET_MAX (1u << 20)
#define BUSY_CHUNK 512

static int busy_add(struct busy_acc *b, int fd)
{
	if (GROW(b->v, b->cap, b->n) < 0)
		return -ENOMEM;
	b->v[b->n++] = (struct inj_busy){ b->tid, fd, b->nr, b->call };
	return 0;
}

/* Fail closed: every open fd below limit is busy. */
static int busy_all(struct inj *t, struct busy_acc *b, uint64_t limit)
{
	_cleanup_free_ int *fds = NULL;
	size_t n = 0;
	int r;

	if (!t->ops->list_fds)
		return -EIO;
	if ((r = t->ops->list_fds(t->pid, &fds, &n)) < 0)
		return r;
	for (size_t i = 0; i < n && (uint64_t)fds[i] < limit; i++)
		if ((r = busy_add(b, fds[i])) < 0)
			return r;
	return 0;
}

/* poll/ppoll: n struct pollfd {int fd; short events, revents;} at addr,
 * read in chunks. maybe: restart_syscall, whose arguments may not be a
 * poll set at all; then what cannot be one is no set. */
static int busy_poll(struct inj *t, struct busy_acc *b, uint64_t addr, uint64_t n, bool maybe)
{
	struct { int32_t fd; int16_t events, revents; } pfd[BUSY_CHUNK];
	int r;

	if (maybe && (!addr || n > BUSY_SET_MAX))
		return 0;
	if (n > BUSY_SET_MAX)
		return busy_all(t, b, UINT64_MAX);
	for (uint64_t i = 0; i < n; i += BUSY_CHUNK) {
		size_t k = (size_t)MIN((uint64_t)BUSY_CHUNK, n - i);
		if (t->ops->read_mem(t->pid, addr + i * sizeof(pfd[0]), pfd, k * sizeof(pfd[0])) < 0)
			return maybe ? 0 : busy_all(t, b, UINT64_MAX);
		for (size_t p = 0; p < k; p++)
			if (pfd[p].fd >= 0 && (r = busy_add(b, pfd[p].fd)) < 0)
				return r;
	}
	return 0;
}

/* select/pselect6: fds below nfds whose bit is set in any of the three
 * fd_sets (arrays of 64-bit words; NULL: no set). */
static int busy_select(struct inj *t, struct busy_acc *b, const uint64_t args[6])
{
	uint64_t words[BUSY_CHUNK];
	int64_t nfds = (int32_t)args[0];
	int r;

	if (nfds <= 0)
		return 0; /* no set, or EINVAL on restart */
	if (nfds > (int64_t)BUSY_SET_MAX)
		return busy_all(t, b, (uint64_t)nfds);
	uint64_t nwords = ((uint64_t)nfds + 63) / 64;
	for (int s = 1; s <= 3; s++) {
		if (!args[s])
			continue;
		for (uint64_t w = 0; w < nwords; w += BUSY_CHUNK) {
			size_t k = (size_t)MIN((uint64_t)BUSY_CHUNK, nwords - w);
			if (t->ops->read_mem(t->pid, args[s] + w * 8, words, k * 8) < 0)
				return busy_all(t, b, (uint64_t)nfds);
			for (size_t i = 0; i < k; i++)
				for (uint64_t bit = 0; words[i] && bit < 64; bit++) {
					uint64_t fd = (w + i) * 64 + bit;
					if ((words[i] >> bit & 1) && fd < (uint64_t)nfds && (r = busy_add(b, (int)fd)) < 0)
						return r;
				}
		}
	}
	return 0;
}

/* The fds the interrupted call of one stopped thread will look up again. */
static int busy_thread(struct inj *t, struct busy_acc *b, const struct arch_regs *regs)
{
	uint64_t args[6];
	int fds[6];
	int r;

	if (!arch_interrupted_call(regs, &b->nr, args) &&
	    !(arch_call_to_enter(regs, &b->nr, args) && syscall_insn_at(t, arch_ip(regs))))
		return 0; /* not inside a call that will be restarted, nor about to enter one */
	enum sc id = arch_sc(regs, b->nr);
	const struct sc_info *sc = sc_info(id);
	b->call = sc->name;
	if (id == SC_UNKNOWN)
		return busy_all(t, b, UINT64_MAX); /* we cannot tell what it will look up */
	size_t k = sc_fd_args(id, args, fds, ARRAY_SIZE(fds));
	for (size_t i = 0; i < k; i++)
		if ((r = busy_add(b, fds[i])) < 0)
			return r;
	switch (sc->fdset) {
	case SC_FDSET_POLL:
		return busy_poll(t, b, args[0], args[1], false);
	case SC_FDSET_MAYBE_POLL:
		return busy_poll(t, b, args[0], args[1], true);
	case SC_FDSET_SELECT:
		return busy_select(t, b, args);
	default:
		return 0;
	}
}

static int busy_cmp(const void *a, const void *b)
{
	const struct inj_busy *x = a, *y = b;
	return (x->fd > y->fd) - (x->fd < y->fd);
}

/* Could this thread be at work in a signal handler (whose frame holds
 * the call it interrupted)? In its own code, outside any call; or right
 * at the handler's start, where x86_64 leaves orig_rax as the interrupted
 * call's number (with rax 0): a thread stopped there between batches (the
 * signal delivered while it ran) must have its frame looked at too. */
static bool maybe_in_handler(const struct arch_regs *r)
{
	long nr;
	uint64_t args[6];
	return arch_current_syscall(r) < 0 || (!arch_interrupted_call(r, &nr, args) && arch_syscall_ret(r) == 0);
}

/* The context a signal handler that tid is in will return to: 1 and *ctx,
 * 0 if none is found. At the handler's first instruction the frame is
 * read where the kernel just put it (libunwind, from there, was seen to
 * give the interrupted call's caller); elsewhere libunwind walks to it. */
static int handler_context(struct inj *t, pid_t tid, const struct arch_regs *live, struct arch_regs *ctx)
{
	uint64_t addr;
	size_t len;
	uint8_t buf[512];
	if (arch_handler_entry(live, &addr, &len)) {
		if (len > sizeof(buf) || t->ops->read_mem(t->pid, addr, buf, len) < 0)
			return 0;
		arch_frame_context(buf, live, ctx);
		return 1;
	}
	if (!maybe_in_handler(live) || !t->ops->signal_context)
		return 0;
	return t->ops->signal_context(tid, live, ctx) == 1;
}

int inj_busy_fds(struct inj *t, struct inj_busy **ret, size_t *n)
{
	struct busy_acc b = { 0 };
	int r = 0;

	for (size_t i = 0; i < t->nth && r >= 0; i++) {
		struct arch_regs regs;
		/* the injection thread, once we used it in this stop, holds
		 * our registers: its own are those it had at the stop (a
		 * signal delivered since may have put the call's restart in a
		 * frame on its stack, out of sight) */
		bool it = t->prepared && i == t->it;
		if (it)
			regs = t->at_stop;
		else if (!t->th[i].stopped || t->ops->getregs(t->th[i].tid, &regs) < 0)
			continue;
		b.tid = t->th[i].tid;
		size_t before = b.n;
		r = busy_thread(t, &b, &regs);
		/* In its own code, not in a call: perhaps a signal handler,
		 * which returns to the call it interrupted (SA_RESTART). */
		if (r < 0 || b.n != before)
			continue;
		struct arch_regs ctx;
		if (it && t->at_stop_in_handler)
			r = busy_thread(t, &b, &t->at_stop_ctx);
		else if (!it && handler_context(t, b.tid, &regs, &ctx) == 1)
			r = busy_thread(t, &b, &ctx);
	}
	if (r < 0) {
		free(b.v);
		return fail(t, r, "cannot tell which fds the blocked threads will use again: %s", strerror(-r));
	}
	/* sorted by fd, one entry each (the first thread found) */
	size_t k = 0;
	if (b.n)
		qsort(b.v, b.n, sizeof(*b.v), busy_cmp);
	for (size_t i = 0; i < b.n; i++)
		if (!k || b.v[k - 1].fd != b.v[i].fd)
			b.v[k++] = b.v[i];
	*ret = b.v;
	*n = k;
	return 0;
}

/* The first occurrence of insn in buf (which starts at address base) at an
 * address the CPU allows for it, or NULL. */
static const uint8_t *find_aligned(const uint8_t *buf, size_t len, uint64_t base, const struct arch_insn *insn)
{
	for (const uint8_t *p = buf; (p = memmem(p, len - (size_t)(p - buf), insn->bytes, insn->len)); p++)
		if ((base + (uint64_t)(p - buf)) % insn->align == 0)
			return p;
	return NULL;
}

/* Is the executable mapping of this maps line code that nothing rewrites:
 * the vdso, or a private mapping of a file that is there and not
 * writable? Never a JIT's code: neither its anonymous pages nor a view of
 * them that another mapping writes (shared, a memfd's, /dev/shm's, a file
 * deleted once mapped, as JITs double-map their code). */
static bool fixed_code(const char *line, const char *perms, int name_at)
{
	if (!name_at || perms[2] != 'x')
		return false;
	const char *name = line + name_at, *nl = strchr(name, '\n');
	size_t len = nl ? (size_t)(nl - name) : strlen(name);
	if (len >= 6 && !strncmp(name, "[vdso]", 6))
		return true;
	return name[0] == '/' && perms[1] != 'w' && perms[3] == 'p' && strncmp(name, "/memfd:", 7) &&
	       strncmp(name, "/dev/shm/", 9) && !memmem(name, len, " (deleted)", 10);
}

/* inj_find_insn, in the vdso only (passes 1) or anywhere (2); fixed: in
 * code that nothing rewrites only (fixed_code). */
static int find_insn(const struct tracee_ops *ops, pid_t pid, const char *maps, const struct arch_insn *insn,
		     int passes, bool fixed, uint64_t *addr)
{
	static uint8_t buf[65536];

	if (!insn->len || insn->len > sizeof(buf) / 2 || !insn->align)
		return -ENOENT; /* none.c: no instruction */
	/* Consecutive chunks overlap by len - 1 bytes (an instruction across
	 * their border), and start at addresses of the same alignment. */
	const uint64_t step = (sizeof(buf) - insn->len + 1) / insn->align * insn->align;
	/* Two passes: the vdso (always mapped, small, executable) first, then
	 * any other executable mapping. */
	for (int pass = 0; pass < passes; pass++) {
		for (const char *line = maps; line && *line;) {
			uint64_t lo, hi;
			char perms[8] = "";
			int name_at = 0;
			const char *next = strchr(line, '\n');
			if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n", &lo, &hi, perms, &name_at) >= 3 &&
			    perms[2] == 'x') {
				bool vdso = name_at && !strncmp(line + name_at, "[vdso]", 6);
				if (vdso == (pass == 0) && (!fixed || fixed_code(line, perms, name_at))) {
					/* at most 1 MiB of a mapping, in chunks */
					for (uint64_t a = lo; a < hi && a < lo + (1u << 20); a += step) {
						size_t len = MIN(sizeof(buf), hi - a);
						if (ops->read_mem(pid, a, buf, len) < 0)
							break;
						const uint8_t *p = find_aligned(buf, len, a, insn);
						if (p) {
							*addr = a + (uint64_t)(p - buf);
							return 0;
						}
					}
				}
			}
			line = next ? next + 1 : NULL;
		}
	}
	return -ENOENT;
}

int inj_find_insn(const struct tracee_ops *ops, pid_t pid, const char *maps, const struct arch_insn *insn,
		  uint64_t *addr)
{
	return find_insn(ops, pid, maps, insn, 2, false, addr);
}

int inj_find_syscall_insn(const struct tracee_ops *ops, pid_t pid, const char *maps, uint64_t *addr)
{
	return inj_find_insn(ops, pid, maps, &arch_syscall_insn, addr);
}


/* Is this a syscall-entry or -exit stop (PTRACE_O_TRACESYSGOOD)? */
static bool is_syscall_stop(int status)
{
	return WIFSTOPPED(status) && (status >> 16) == 0 && WSTOPSIG(status) == (SIGTRAP | 0x80);
}

/* Bring thread th from any stop into one inside signal delivery (the
 * interrupt's trap stop), where the kernel applies the restart rules to
 * the registers it resumes with. A thread in an event stop (clone, exec,
 * exit) or a syscall stop of ours is told to stop again at once
 * (PTRACE_INTERRUPT) and resumed: it finishes what the stop was in, and
 * stops in get_signal() before it runs any instruction of its own. */
static int to_signal_path(struct inj *t, struct inj_thread *th, uint64_t deadline)
{
	int r;
	if (th->in_signal_path && !th->pending_sig)
		return 0;
	/* A signal-delivery stop's signal is delivered now, by the kernel,
	 * from that very stop (so with its own siginfo), before we use the
	 * thread: resuming it without the signal would discard it. */
	while (!th->stopped || !th->in_signal_path || th->pending_sig) {
		int status;
		if (th->stopped) {
			int sig = th->pending_sig;
			th->pending_sig = 0;
			if ((r = t->ops->interrupt(th->tid)) < 0 || (r = t->ops->resume(th->tid, false, sig)) < 0)
				return r == -ESRCH ? fail_thread_gone(t, r, "")
						   : fail(t, r, "cannot resume thread %d: %s", (int)th->tid, strerror(-r));
		}
		th->stopped = false;
		r = t->ops->wait(th->tid, &status, deadline);
		if (r == -ECHILD || r == -ESRCH)
			th->gone = true;
		else if (r < 0)
			return fail(t, r, "thread %d did not stop again: %s", (int)th->tid, strerror(-r));
		else if ((r = note_status(t, th, status)) < 0)
			return r;
		if (th->gone)
			return fail_thread_gone(t, -ESRCH, "");
	}
	return 0;
}

/* Seccomp back on in the thread it was suspended in (thread_refusal),
 * before it runs its own code again. A detach ends it too. */
static void unsuspend(struct inj *t)
{
	/* kept when it fails (the thread not in a stop, on an error path):
	 * tried again at the next stop, and a detach ends it anyway */
	if (!t->suspended_tid)
		return;
	const struct inj_thread *th = find_thread(t, t->suspended_tid);
	if (t->ops->setoptions(t->suspended_tid, INJ_PTRACE_OPTS) < 0 && th && !th->gone)
		return;
	t->suspended_tid = 0;
}

/* Why system calls made in thread tid would not be ours (or would harm
 * it): 1 with the reason in why, 0 none. Read at every stop, as the
 * application may change either between two batches.
 * - A seccomp filter, unless it is suspended in that thread (done here,
 *   where sockreap may): the filter would judge our calls, and may kill
 *   the target for one.
 * - Syscall user dispatch (PR_SET_SYSCALL_USER_DISPATCH, Wine): a call
 *   from outside the thread's allowed range becomes a SIGSYS, forced on
 *   our code, which runs with every signal blocked: the kernel resets the
 *   handler and the target dies. Known from Linux 6.4 on; before, the
 *   kernel cannot say (HACKING.md). */
static int thread_refusal(struct inj *t, pid_t tid, char *why, size_t size)
{
	long seccomp = -1;
	unsuspend(t);
	/* refused (a CAP_SYS_ADMIN of a user namespace only, a kernel without
	 * checkpoint/restore): from now on each thread is looked at */
	int r = !t->can_suspend || !t->ops->setoptions ? -EPERM
		: t->suspended_tid ? -EBUSY /* still on in another: one at a time */
				   : t->ops->setoptions(tid, INJ_PTRACE_OPTS | PTRACE_O_SUSPEND_SECCOMP);
	if (r == 0)
		t->suspended_tid = tid;
	else if (r == -EPERM || r == -EINVAL)
		t->can_suspend = false;
	if (!t->suspended_tid && (read_status_int(t, tid, "Seccomp", &seccomp) < 0 || seccomp != 0)) {
		snprintf(why, size, seccomp < 0 ? "the seccomp mode of thread %d cannot be read; refused"
						: "thread %d runs under seccomp, which sockreap cannot suspend without "
						  "CAP_SYS_ADMIN (it would judge the injected calls); refused",
			 (int)tid);
		return 1;
	}
	int sud = t->ops->sud_mode ? t->ops->sud_mode(tid) : -ENOSYS;
	if (sud < 0 && sud != -ENOSYS && sud != -ESRCH && t->wine) {
		/* a kernel that cannot say (before 6.4), and a process that
		 * maps Wine's ntdll.so, the one user of dispatch known */
		unsuspend(t);
		snprintf(why, size, "the kernel cannot say whether thread %d uses syscall user dispatch (Linux before "
				    "6.4), and the target maps Wine's ntdll.so, which does; refused", (int)tid);
		return 1;
	}
	if (sud > 0) {
		unsuspend(t);
		snprintf(why, size, "thread %d uses syscall user dispatch (PR_SET_SYSCALL_USER_DISPATCH, as Wine does): "
				    "an injected call would be turned into a SIGSYS; refused", (int)tid);
		return 1;
	}
	return 0;
}

/* Everything between the first modification and the restore: pick the
 * thread, bring it to a stop where the restart rules hold, save its
 * registers and mask, find the instruction. Also block sockreap's own
 * SIGINT/SIGTERM/SIGHUP: nothing may cut this window short. The target's
 * signals are blocked only once its registers are ours (see inj_call). */
int inj_prepare(struct inj *t)
{
	size_t pick = t->nth;
	int r;

	if (t->prepared)
		return 0;
	if ((r = adopt(t)) < 0)
		return fail(t, r, "out of memory");
	/* Prefer the main thread, then any thread already in a stop inside
	 * signal delivery; an event stop (clone, exec) is left first. A
	 * thread whose system calls would not be ours to make is passed
	 * over (thread_refusal); if every one is, nothing is done. */
	char refused[sizeof(t->why)] = "";
	for (size_t i = 0; i < t->nth; i++)
		t->th[i].passed_over = false;
	for (;;) {
		pick = t->nth;
		for (size_t i = 0; i < t->nth; i++) {
			const struct inj_thread *th = &t->th[i];
			if (!th->stopped || th->gone || th->passed_over || th->foreign)
				continue;
			if (pick == t->nth || th->tid == t->pid || (!t->th[pick].in_signal_path && th->in_signal_path))
				pick = i;
		}
		if (pick == t->nth)
			return refused[0] ? fail(t, -EPERM, "%s", refused) : fail_gone(t);
		if ((r = thread_refusal(t, t->th[pick].tid, refused, sizeof(refused))) <= 0)
			break;
		t->th[pick].passed_over = true;
	}
	t->it = pick;
	if ((r = t->ops->getregs(t->th[pick].tid, &t->at_stop)) < 0)
		return r == -ESRCH ? fail_thread_gone(t, r, "")
				   : fail(t, r, "cannot read registers of thread %d: %s", (int)t->th[pick].tid,
					  strerror(-r));
	/* and, in its own code, where a signal handler it runs will return
	 * to (inj_busy_fds): only now can its stack be walked. Only when the
	 * fds of blocked calls are asked for: a walk costs about a
	 * millisecond, inside the stop. */
	t->at_stop_in_handler = t->busy_checks && handler_context(t, t->th[pick].tid, &t->at_stop, &t->at_stop_ctx) == 1;
	if ((r = to_signal_path(t, &t->th[pick], now_ns() + INJ_ATTACH_TIMEOUT_NS)) < 0)
		return r;
	pid_t tid = t->th[pick].tid;

	if ((r = t->ops->getregs(tid, &t->saved)) < 0)
		return r == -ESRCH ? fail_thread_gone(t, r, "")
				   : fail(t, r, "cannot read registers of thread %d: %s", (int)tid, strerror(-r));
	if (arch_sysno(&t->saved, ASYS_CLOSE) < 0)
		return fail(t, -EOPNOTSUPP, "cannot inject into a %s yet", arch_mode_name(&t->saved));
	/* Found before the attach (inj_attach_checked): still the same
	 * instruction now? (Its mapping may have gone meanwhile.) */
	if (t->insn && !t->insn_checked) {
		if (!syscall_insn_at(t, t->insn))
			t->insn = 0;
		t->insn_checked = true;
	}
	if (!t->insn) {
		_cleanup_free_ char *maps = NULL;
		if ((r = t->ops->read_maps(t->pid, &maps)) < 0)
			return fail(t, r, "cannot read /proc/%d/maps: %s", (int)t->pid, strerror(-r));
		if (inj_find_syscall_insn(t->ops, t->pid, maps, &t->insn) < 0)
			return fail(t, -ENOENT, "no syscall instruction found in the vdso or code of the target");
	}
	if ((r = t->ops->getsigmask(tid, &t->saved_mask)) < 0)
		return fail(t, r, "cannot read the signal mask: %s", strerror(-r));

	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	/* and the stops a terminal sends (Ctrl-Z): a stopped sockreap would
	 * leave the target frozen (SIGSTOP itself cannot be blocked; the
	 * executor's timeout covers it) */
	sigaddset(&block, SIGTSTP);
	sigaddset(&block, SIGTTIN);
	sigaddset(&block, SIGTTOU);
	sigprocmask(SIG_BLOCK, &block, &t->own_mask);
	t->prepared = true;
	return 0;
}

/* All signals blocked in the injection thread while our registers are in
 * place (SIGKILL and SIGSTOP cannot be; the wait loops cope with those):
 * signals arriving now stay pending and are delivered after the restore.
 * Done after the registers are set, never before: if sockreap died in
 * between, the thread must not go on with its own code and every signal
 * blocked. */
static int block_signals(struct inj *t)
{
	int r;
	if (t->masked)
		return 0;
	if ((r = t->ops->setsigmask(t->th[t->it].tid, ~0ull)) < 0)
		return fail(t, r, "cannot block the target's signals: %s", strerror(-r));
	t->masked = true;
	return 0;
}

/* Only SIGKILL and SIGSTOP get through while our registers are in place
 * (every other signal is blocked); a SIGSTOP's stop must be left without
 * it, so it is sent again once we are gone. */
static void hold_for_resend(struct inj_thread *th)
{
	if (th->pending_sig)
		th->resend_sig = th->pending_sig;
	th->pending_sig = 0;
}

/* Resume the injection thread (to the next syscall stop, or running) and
 * wait for its next stop; its registers then in *cur and the wait status
 * in *status. A call that blocks past the deadline (close() on a lingering
 * socket) is interrupted: registers are ours, so we may not give up, and
 * wait for the stop however long it takes. */
static int run_to_next_stop(struct inj *t, bool to_syscall, struct arch_regs *cur, int *status)
{
	struct inj_thread *th = &t->th[t->it];
	int r;

	hold_for_resend(th);
	if ((r = t->ops->resume(th->tid, to_syscall, 0)) < 0)
		return r == -ESRCH ? fail_thread_gone(t, r, "") : r;
	th->stopped = false;
	r = t->ops->wait(th->tid, status, now_ns() + INJ_CALL_TIMEOUT_NS);
	if (r == -ETIMEDOUT) {
		t->ops->interrupt(th->tid);
		r = t->ops->wait(th->tid, status, UINT64_MAX);
	}
	if (r == -ECHILD || r == -ESRCH)
		th->gone = true;
	else if (r < 0)
		return r;
	else if ((r = note_status(t, th, *status)) < 0)
		return r;
	if (th->gone)
		return fail_thread_gone(t, -ESRCH, " while our code ran in it");
	return t->ops->getregs(th->tid, cur);
}

/* Run the injected call with PTRACE_SYSCALL: its syscall-entry stop, then
 * its syscall-exit stop, where *cur holds the result. No trap and no
 * signal is raised (a forced SIGTRAP would reset a target's blocked or
 * ignored SIGTRAP to its default action). Other stops on the way (an
 * interrupt, a group stop) are noted and the thread resumed. */
static int run_syscall(struct inj *t, struct arch_regs *cur)
{
	bool entered = false;
	for (int tries = 0; tries < 64; tries++) {
		int status, r;
		if ((r = run_to_next_stop(t, true, cur, &status)) < 0)
			return r;
		int sig = WIFSTOPPED(status) && (status >> 16) == 0 ? WSTOPSIG(status) : 0;
		if (forced_by_us(sig)) {
			/* every signal is blocked while our call runs: only one
			 * the kernel forced can stop it here (a fault, or a
			 * SIGSYS from a filter or dispatch): ours, never passed
			 * on; the kernel has reset its handler, if it had one */
			t->th[t->it].pending_sig = 0; /* (a SIGSTOP held for resending stays) */
			return fail(t, -EFAULT, "the injected call raised signal %d in the target (its handler, if any, "
						"is now the default one); registers restored", sig);
		}
		if (!is_syscall_stop(status))
			continue;
		if (entered)
			return 0;
		entered = true;
	}
	return fail(t, -EIO, "the injected call did not complete after 64 stops");
}

/* inj_call from the instruction at insn, with the stack pointer at sp
 * (0: the thread's own). */
static int call_from(struct inj *t, enum arch_sys sys, const uint64_t args[6], long *ret, uint64_t insn, uint64_t sp)
{
	struct arch_regs cur;
	int r;

	if ((r = inj_prepare(t)) < 0)
		return r;
	long nr = arch_sysno(&t->saved, sys);
	if (nr < 0)
		return fail(t, -EOPNOTSUPP, "system call not available for a %s", arch_mode_name(&t->saved));
	cur = t->saved;
	if (sp)
		arch_guard_set(&cur, insn, sp, nr, args);
	else
		arch_set_syscall(&cur, insn, nr, args);
	if ((r = t->ops->setregs(t->th[t->it].tid, &cur)) < 0)
		return fail(t, r, "cannot set registers: %s", strerror(-r));
	t->modified = true;
	if ((r = block_signals(t)) < 0)
		return r;
	if ((r = run_syscall(t, &cur)) < 0) {
		if (!t->why[0])
			fail(t, r, "injected call failed: %s", strerror(-r));
		return r;
	}
	t->ncalls++;
	*ret = arch_syscall_ret(&cur);
	return 0;
}

int inj_call(struct inj *t, enum arch_sys sys, const uint64_t args[6], long *ret)
{
	int r = inj_prepare(t);
	return r < 0 ? r : call_from(t, sys, args, ret, t->insn, 0);
}

/* The guarded call's frame (arch.h) for the injection thread at this
 * stop, written once: its stack pointer in *sp, or -EOPNOTSUPP when it
 * cannot be had here. Only in the main thread, and only when its stack
 * pointer is in the main stack ([stack], which only the main thread's own
 * native stack is): the frame goes below its red zone, where a signal's
 * frame would go, and nothing else of the process lives there. A thread
 * elsewhere may be on a small stack with other memory right below it (a
 * goroutine's, a coroutine's), where a signal's frame never goes (its
 * runtime gives every handler an alternate stack). */
static int guard_frame(struct inj *t, uint64_t *sp)
{
	/* stack: 64 KiB from the stack pointer up, where the frame of a
	 * handler that is running would be */
	static uint8_t xstate[ARCH_XSTATE_MAX], frame[ARCH_XSTATE_MAX + 1024], stack[1 << 16];
	const struct inj_thread *th = &t->th[t->it];
	int r;

	if (t->guard_sp)
		return *sp = t->guard_sp, 0;
	if (!t->guard_call || !t->stack_hi)
		return -EOPNOTSUPP; /* guard_why says why */
	if (th->tid != t->pid || !t->ops->getregset || !t->ops->read_status)
		return t->guard_why = "not from the main thread", -EOPNOTSUPP;
	/* a user shadow stack (x86 CET) would fault at the "ret", as it
	 * rejects the executor's frame (remote.c reads the same, once) */
	if (t->exec_ok_tid != th->tid) {
		_cleanup_free_ char *status = NULL;
		if (t->ops->read_status(th->tid, &status) < 0 || arch_exec_refusal(status))
			return t->guard_why = "a user shadow stack (x86 CET), or its status unread", -EOPNOTSUPP;
		t->exec_ok_tid = th->tid;
	}
	/* at every stop: code may have been mapped over them meanwhile */
	if (!insn_at(t, t->guard_call, &arch_guard_call) ||
	    !insn_at(t, t->guard_sigreturn, &arch_guard_sigreturn[t->guard_sigret]))
		return t->guard_why = "its return gadgets' code was rewritten", t->guard_call = 0, -EOPNOTSUPP;
	size_t xlen = sizeof(xstate);
	if (t->ops->getregset(th->tid, arch_xstate_regset, xstate, &xlen) < 0)
		return t->guard_why = "its extended state unread", -EOPNOTSUPP;
	uint64_t rsp = arch_sp(&t->saved), size = arch_exec_frame_size(xlen);
	uint64_t at = (rsp - ARCH_RED_ZONE - size) & ~(uint64_t)63;
	if (size > sizeof(frame) || rsp > t->stack_hi || rsp < ARCH_RED_ZONE + size || at < t->stack_lo)
		return t->guard_why = "its stack pointer outside [stack], or no room there", -EOPNOTSUPP;
	/* A handler on an alternate stack that is itself in [stack] (an
	 * array of main()'s): below that stack lies live memory, so the
	 * frame must fit in it, as the kernel's own would (get_sigframe()
	 * refuses to overflow it). The frame of the handler's signal says
	 * which stack it runs on. */
	uint64_t ss_sp, ss_size;
	int ss_flags;
	size_t above = (size_t)MIN((uint64_t)sizeof(stack), t->stack_hi - rsp);
	if (t->ops->read_mem(t->pid, rsp, stack, above) < 0)
		return t->guard_why = "its stack unread", -EOPNOTSUPP;
	if (arch_sigframe_altstack(&t->saved, stack, above, rsp, &ss_sp, &ss_size, &ss_flags) == 1 &&
	    !(ss_flags & SS_DISABLE) && rsp > ss_sp && rsp - ss_sp <= ss_size && at < ss_sp)
		return t->guard_why = "in a signal handler, on an alternate stack with no room for a frame", -EOPNOTSUPP;
	/* what rt_sigreturn restores: the registers in the form the thread
	 * must continue with (no stop follows it), its mask, its state */
	struct arch_regs cont = t->saved;
	arch_restart_fixup(&cont);
	if ((r = arch_guard_frame(frame, size, at, &cont, t->saved_mask, xstate, xlen, t->guard_sigreturn, sp)) < 0 ||
	    (r = t->ops->write_mem(t->pid, at, frame, size)) < 0)
		return -EOPNOTSUPP;
	t->guard_sp = *sp;
	return 0;
}

/* A call of the scratch mapping's own (its mmap, its munmap, madvise):
 * guarded when it can be (crash-only: sockreap may die at any point of
 * it), else a plain call, with the window that leaves (HACKING.md). */
static int scratch_call(struct inj *t, enum arch_sys sys, const uint64_t args[6], long *ret)
{
	uint64_t sp;
	int r = inj_prepare(t);
	if (r < 0)
		return r;
	/* the frame is written before the registers change: a death in
	 * between leaves the thread as it was, with bytes below its stack
	 * pointer that nothing reads */
	if (guard_frame(t, &sp) == 0) {
		t->nguarded++;
		return call_from(t, sys, args, ret, t->guard_call, sp);
	}
	t->nunguarded++;
	return call_from(t, sys, args, ret, t->insn, 0);
}

static void unmask_eintr(struct inj *t, struct inj_thread *th, bool early);

/* Will a signal be delivered to th when it resumes (pending, for it or
 * the process, and not blocked)? 1 yes, 0 no, -1 it cannot be told. */
static int signal_due(struct inj *t, const struct inj_thread *th)
{
	char pnd[32], shd[32], blk[32];
	if (t->ops->status_field(th->tid, "SigPnd", pnd, sizeof(pnd)) < 0 ||
	    t->ops->status_field(th->tid, "ShdPnd", shd, sizeof(shd)) < 0 ||
	    t->ops->status_field(th->tid, "SigBlk", blk, sizeof(blk)) < 0)
		return -1;
	return ((strtoull(pnd, NULL, 16) | strtoull(shd, NULL, 16)) & ~strtoull(blk, NULL, 16)) != 0;
}

/* A killed target's threads may never report (a zombie leader is
 * reported only after its threads): look at the thread's state itself. */
static bool thread_dead(struct inj *t, pid_t tid)
{
	char state[32];
	return t->ops->status_field(tid, "State", state, sizeof(state)) < 0 || state[0] == 'Z' || state[0] == 'X';
}

int inj_exec(struct inj *t, const struct arch_regs *start, uint64_t done_addr, uint64_t progress_addr,
	     uint64_t code, uint64_t code_len)
{
	struct inj_thread *th = &t->th[t->it];
	uint64_t progress = 0, moved_at = now_ns();
	int r;

	if ((r = t->ops->setregs(th->tid, start)) < 0)
		return fail(t, r, "cannot set registers: %s", strerror(-r));
	t->modified = true;
	hold_for_resend(th);
	if ((r = block_signals(t)) < 0 || (r = t->ops->resume(th->tid, false, 0)) < 0)
		return r == -ESRCH ? fail_thread_gone(t, r, "") : r;
	th->stopped = false;
	/* While our code runs: what inj_pause would do for the other
	 * threads, so that it is not part of the stop's end. */
	for (size_t i = 0; i < t->nth; i++)
		if (i != t->it)
			unmask_eintr(t, &t->th[i], true);
	/* Waiting for our code: by looking, as the executor can tell us
	 * nothing else (a signal or a trap would reach the application if
	 * sockreap were gone). Where both can run at once, without yielding
	 * while the calls move on: sched_yield() gives the CPU away for a
	 * whole slice, up to 2 ms after the executor was done (measured),
	 * all of it a stop of every thread; asleep in 50 us steps once a
	 * call blocks (a lingering close), and yielding now and then while
	 * it has not begun (placed on our CPU, it would wait for our slice
	 * to end). Where they cannot run at once, the executor needs our
	 * CPU: yielding is what lets it run. */
	/* asked at every run, not once: the application may move its
	 * threads between two stops (two calls, while the executor runs) */
	int cpus = t->ops->cpus_with ? t->ops->cpus_with(th->tid) : -ENOSYS;
	bool together = cpus >= 2 || cpus == -EINVAL; /* -EINVAL: over CPU_SETSIZE CPUs */
	uint64_t started = now_ns();
	for (unsigned spin = 0;; spin++) {
		uint32_t done = 0;
		uint64_t p = 0;
		int status;
		r = t->ops->read_mem(t->pid, done_addr, &done, sizeof(done));
		if (r == 0 && done)
			break;
		if ((r < 0 || spin % 256 == 255) && thread_dead(t, th->tid))
			th->gone = true;
		r = t->ops->wait(th->tid, &status, 0);
		if (r == -ECHILD || r == -ESRCH)
			th->gone = true;
		else if (r == 0 && (r = note_status(t, th, status)) < 0)
			return r;
		if (th->gone)
			return fail_thread_gone(t, -ESRCH, " while our code ran in it");
		if (th->stopped) {
			int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
			if (forced_by_us(sig)) {
				/* our code faulted (it must not), or one of its
				 * calls was refused with a signal (a seccomp
				 * filter, syscall user dispatch: thread_refusal
				 * looks for both): the signal is not passed on;
				 * the registers go back at release */
				th->pending_sig = 0;
				return fail(t, -EFAULT, "the executor faulted in the target (signal %d); "
							"registers restored", sig);
			}
			/* an interrupt or a group stop: it stays noted */
			hold_for_resend(th);
			if ((r = t->ops->resume(th->tid, false, 0)) < 0)
				return fail(t, r, "cannot resume thread %d: %s", (int)th->tid, strerror(-r));
			th->stopped = false;
		}
		if (t->ops->read_mem(t->pid, progress_addr, &p, sizeof(p)) == 0 && p != progress) {
			progress = p;
			moved_at = now_ns();
		} else if (now_ns() > moved_at + INJ_CALL_TIMEOUT_NS) {
			/* a call that blocks (close() of a lingering socket):
			 * interrupt it; the executor goes on with the next */
			t->ops->interrupt(th->tid);
			moved_at = now_ns();
		}
		if (!together) {
			if (spin > 64)
				sched_yield();
		} else if (now_ns() > moved_at + INJ_SPIN_NS) {
			nanosleep(&(struct timespec){ 0, 50000 }, NULL);
		} else if (!progress && spin % 64 == 63 && now_ns() > started + INJ_SPIN_NS / 4) {
			/* not begun yet: it may be queued behind us on our CPU.
			 * Not once it has begun: a yield while a row is slow
			 * (the machine took its CPU) gave ours away too, and
			 * the end of the program was seen 2.8 ms late */
			sched_yield();
		}
	}
	/* Every call ran: stop the thread in the executor's final wait. */
	if ((r = t->ops->interrupt(th->tid)) < 0)
		return fail(t, r, "cannot interrupt thread %d: %s", (int)th->tid, strerror(-r));
	while (!th->stopped) {
		int status;
		r = t->ops->wait(th->tid, &status, UINT64_MAX);
		if (r == -ECHILD || r == -ESRCH)
			return th->gone = true, fail_thread_gone(t, -ESRCH, " while our code ran in it");
		if (r < 0 || (r = note_status(t, th, status)) < 0)
			return r;
	}
	/* In the executor's final wait, unless sockreap was held up longer
	 * than that wait's timeout (SIGSTOP, a frozen cgroup): the executor
	 * has then restored the thread from its frame, registers and mask,
	 * and it runs its own code again. Writing the saved registers back
	 * (at release, or after a later call such as the munmap) would rewind
	 * it: what it is now, stopped in its own code, is what must go back. */
	struct arch_regs now;
	uint64_t mask;
	if (t->ops->getregs(th->tid, &now) == 0 &&
	    (arch_ip(&now) < code || arch_ip(&now) >= code + code_len)) {
		if ((r = t->ops->getsigmask(th->tid, &mask)) < 0)
			return fail(t, r, "cannot read the signal mask: %s", strerror(-r));
		t->saved = now;
		t->saved_mask = mask;
		t->guard_sp = 0; /* a guarded call's frame must hold this now */
		t->modified = t->masked = false;
		t->self_restored++;
		unsuspend(t); /* it runs its own code: its sandbox back now */
	}
	t->ncalls++;
	return 0;
}

static int unmap_scratch(struct inj *t)
{
	long ret;
	uint64_t args[6] = { t->scratch, t->scratch_len };
	if (!t->scratch)
		return 0;
	int r = scratch_call(t, ASYS_MUNMAP, args, &ret);
	t->scratch = t->scratch_len = 0;
	return r < 0 ? r : ret < 0 ? fail(t, (int)ret, "munmap of the scratch mapping failed") : 0;
}

int inj_scratch(struct inj *t, uint64_t len, int prot, uint64_t *addr)
{
	const uint64_t page = page_size();
	long ret;
	int r;

	len = (len + page - 1) / page * page;
	if (t->scratch && t->scratch_len >= len && t->scratch_prot == prot) {
		*addr = t->scratch;
		return 0;
	}
	/* a mapping that grows doubles, so that batches of changing sizes
	 * do not each pay for a new one (its pages cost nothing untouched) */
	if (t->scratch && t->scratch_prot == prot)
		len = MAX(len, 2 * t->scratch_len);
	if ((r = unmap_scratch(t)) < 0)
		return r;
	uint64_t args[6] = { 0, len, (uint64_t)prot, MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0 };
	if ((r = scratch_call(t, ASYS_MMAP, args, &ret)) < 0)
		return r;
	if (ret < 0 && ret > -4096)
		return fail(t, (int)ret, "mmap of a scratch page in the target failed: %s", strerror((int)-ret));
	t->scratch = (uint64_t)ret;
	t->scratch_len = len;
	t->scratch_prot = prot;
	t->scratch_marked = false;
	*addr = t->scratch;
	if (prot & PROT_WRITE) {
		/* Not for a child the application forks between our batches,
		 * nor for its core dumps. (The executor's mapping does this from
		 * inside, see rp_run_inside.) */
		uint64_t fork_args[6] = { t->scratch, len, MADV_DONTFORK }, dump_args[6] = { t->scratch, len, MADV_DONTDUMP };
		if ((r = scratch_call(t, ASYS_MADVISE, fork_args, &ret)) < 0 ||
		    (r = scratch_call(t, ASYS_MADVISE, dump_args, &ret)) < 0)
			return r;
	}
	return 0;
}

/* Is the scratch mapping still ours after the threads ran? An execve() in
 * between replaced the whole address space: the address may now be
 * anything of the new program's, never to be written or unmapped. */
static void check_scratch(struct inj *t)
{
	_cleanup_free_ char *maps = NULL;
	if (!t->scratch)
		return;
	/* The executor makes its data pages writable itself, so the mapping
	 * shows as several entries: they must cover it exactly, from its
	 * start to its end, with nothing of another mapping in between. */
	uint64_t end = t->scratch + t->scratch_len, at = t->scratch;
	if (t->ops->read_maps(t->pid, &maps) == 0)
		for (const char *line = maps; line && *line && at < end;
		     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			uint64_t lo, hi;
			if (sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2 && lo == at && hi <= end)
				at = hi;
		}
	if (at != end)
		t->scratch = t->scratch_len = 0;
	if (maps)
		guard_maps(t, maps);
	else
		t->guard_call = 0, t->guard_why = "its maps unread after the threads ran";
}

/* Put the injection thread back as it was (mask, then registers, from a
 * stop inside signal delivery). 0 or the first error. */
static int restore_thread(struct inj *t)
{
	int first = 0, r;
	struct inj_thread *th = t->nth ? &t->th[t->it] : NULL;

	unsuspend(t); /* its sandbox back before it runs its own code */

	if (th && t->prepared && !th->gone) {
		/* The mask first: if sockreap died right after, the thread would
		 * still be in our code (which ends by restoring everything) or
		 * in its own with its own mask; never in its own code with every
		 * signal blocked. */
		if (t->masked && (r = t->ops->setsigmask(th->tid, t->saved_mask)) < 0 && !first)
			first = fail(t, r, "cannot restore the signal mask: %s", strerror(-r));
		/* The saved registers, exactly, from a stop inside signal
		 * delivery: the kernel then applies the restart rules itself
		 * (see the top of inject.h). A syscall stop of ours is left for
		 * one first. */
		if (t->modified) {
			if ((r = t->ops->setregs(th->tid, &t->saved)) < 0 && !first)
				first = fail(t, r, "cannot restore registers: %s", strerror(-r));
			if (!th->in_signal_path && to_signal_path(t, th, UINT64_MAX) == 0)
				t->ops->setregs(th->tid, &t->saved);
			if (!th->gone && !th->in_signal_path) {
				/* could not get there: the kernel will not apply
				 * the rules, so apply them here */
				struct arch_regs restore = t->saved;
				arch_restart_fixup(&restore);
				t->ops->setregs(th->tid, &restore);
			}
		}
	}
	t->modified = t->masked = false;
	if (t->prepared)
		sigprocmask(SIG_SETMASK, &t->own_mask, NULL);
	t->prepared = false;
	t->guard_sp = 0;
	return first;
}

/* signal(7): epoll_wait() and friends fail with EINTR after any stop, even
 * one that delivered no signal, and nginx logs each. When the only reason
 * is our interrupt (no signal pending that the thread's mask lets through)
 * and the call waits without a timeout, re-entering it is invisible. With
 * a timeout it is not (the time already waited is lost): those keep their
 * EINTR, as signal(7) allows. early: while our code runs, some time before
 * the thread resumes (a signal may still come in between: recheck_eintr). */
static void unmask_eintr(struct inj *t, struct inj_thread *th, bool early)
{
	struct arch_regs r;

	if (!th->stopped || th->gone || th->eintr_seen || !th->in_signal_path || th->pending_sig)
		return;
	th->eintr_seen = true;
	if (t->ops->getregs(th->tid, &r) < 0)
		return;
	long nr = arch_current_syscall(&r);
	if (nr < 0 || arch_syscall_ret(&r) != -EINTR)
		return;
	bool forever = ((nr == arch_sysno(&r, ASYS_EPOLL_WAIT) || nr == arch_sysno(&r, ASYS_EPOLL_PWAIT)) &&
			(int)arch_syscall_arg(&r, 3) == -1) ||
		       (nr == arch_sysno(&r, ASYS_EPOLL_PWAIT2) && arch_syscall_arg(&r, 3) == 0);
	if (!forever || signal_due(t, th) != 0)
		return; /* a signal will be delivered (or may be): its EINTR is real */
	if (early) {
		th->eintr_regs = r;
		th->reentered_early = true;
	}
	arch_reenter_syscall(&r);
	t->ops->setregs(th->tid, &r);
}

/* Right before the threads resume: a signal that came in since an early
 * unmask_eintr (the program's own calls can raise one: SIGIO, SIGCHLD, a
 * timer) will run its handler, and then the call must end with EINTR as
 * it would have: its registers go back. */
static void recheck_eintr(struct inj *t)
{
	for (size_t i = 0; i < t->nth; i++) {
		struct inj_thread *th = &t->th[i];
		if (th->reentered_early && th->stopped && !th->gone && signal_due(t, th) != 0)
			t->ops->setregs(th->tid, &th->eintr_regs);
		th->reentered_early = false;
	}
}

int inj_pause(struct inj *t)
{
	int first = restore_thread(t);
	for (size_t i = 0; i < t->nth; i++)
		unmask_eintr(t, &t->th[i], false);
	recheck_eintr(t);
	boost(t, true);
	for (size_t i = 0; i < t->nth; i++) {
		struct inj_thread *th = &t->th[i];
		if (!th->stopped || th->gone)
			continue;
		/* signals that arrived meanwhile are delivered now */
		int r = t->ops->resume(th->tid, false, th->pending_sig);
		if (r == -ESRCH)
			th->gone = true;
		else if (r < 0 && !first)
			first = fail(t, r, "cannot resume thread %d: %s", (int)th->tid, strerror(-r));
		th->pending_sig = 0;
		th->stopped = false;
		th->eintr_seen = false;
	}
	t->released_at_ns = now_ns();
	boost(t, false);
	/* while the threads run, not while they are stopped: a big process's
	 * maps take milliseconds to read */
	check_scratch(t);
	drop_reaper(t);
	return first;
}

int inj_tend(struct inj *t)
{
	int resumed = 0;
	/* every thread runs between batches: those stopped now stopped on
	 * their own, and their reports are taken here */
	if (drain_reports(t) < 0)
		return 0;
	for (size_t i = 0; i < t->nth; i++) {
		struct inj_thread *th = &t->th[i];
		if (th->gone || !th->stopped)
			continue;
		int status = th->status, event = status >> 16, sig = WSTOPSIG(status);
		bool stale_trap = event == PTRACE_EVENT_STOP && sig == SIGTRAP; /* an owed interrupt, a new thread */
		bool own_signal = event == 0 && !stop_signal(sig) && sig != (SIGTRAP | 0x80);
		if (!stale_trap && !own_signal && event != PTRACE_EVENT_CLONE)
			continue; /* a group stop, an exec: for inj_restop */
		/* a signal-delivery stop's signal is delivered from it */
		if (t->ops->resume(th->tid, false, own_signal ? th->pending_sig : 0) == 0) {
			th->stopped = false;
			th->pending_sig = 0;
			resumed++;
		}
	}
	return resumed;
}

int inj_restop(struct inj *t)
{
	int r;
	t->why[0] = '\0';
	if ((r = drain_reports(t)) < 0)
		return fail(t, r, "out of memory");
	boost(t, true);
	for (size_t i = 0; i < t->nth && r == 0; i++)
		if ((r = interrupt_unless_stopped(t, &t->th[i])) < 0)
			fail(t, r, "cannot interrupt thread %d: %s", (int)t->th[i].tid, strerror(-r));
	boost(t, false);
	if (r < 0 || (r = wait_all_stopped(t, now_ns() + INJ_ATTACH_TIMEOUT_NS)) < 0)
		return r;
	bool alive = false;
	for (size_t i = 0; i < t->nth; i++)
		alive |= t->th[i].stopped && !t->th[i].gone && !t->th[i].foreign;
	if (!alive || t->threads_killed)
		/* its exec event may not have been seen; a thread killed in
		 * its stop: the process is exiting, or executing a program */
		r = fail_gone(t);
	else if (t->exec_seen)
		r = fail(t, -EAGAIN, "the process executed a new program (execve) between two batches: nothing "
				     "more is done to it");
	if (t->exec_seen) /* a new address space: our mapping is not in it */
		t->scratch = t->scratch_len = 0;
	return alive && !t->exec_seen && !t->threads_killed ? (t->stopped_at_ns = now_ns(), 0) : r;
}

int inj_release(struct inj *t)
{
	int first = 0, r;

	/* Threads left running (released between batches, then an error):
	 * stopped again, so the mapping can go and every one can be detached
	 * (PTRACE_DETACH needs a stop). */
	bool running = false;
	for (size_t i = 0; i < t->nth; i++)
		running |= !t->th[i].gone && !t->th[i].stopped;
	if (running && t->scratch)
		inj_restop(t);
	/* from any stopped thread (inj_call picks one); after an exec the
	 * address space is a new one: our mapping is not in it */
	if (t->exec_seen)
		t->scratch = t->scratch_len = 0;
	if (t->scratch && t->nth && (r = unmap_scratch(t)) < 0)
		first = r;
	if ((r = restore_thread(t)) < 0 && !first)
		first = r;
	for (size_t i = 0; i < t->nth; i++)
		unmask_eintr(t, &t->th[i], false);
	recheck_eintr(t);
	detach_all(t);
	/* threads we lost track of (an exec, a leader that looked dead while
	 * de_thread() ran) may still be traced by us: never leave one */
	bool lost = t->exec_seen;
	for (size_t i = 0; i < t->nth; i++)
		lost |= t->th[i].gone;
	if (lost)
		detach_strays(t);
	for (size_t i = 0; i < t->nth; i++)
		if (t->th[i].resend_sig && !t->th[i].gone)
			syscall(SYS_tgkill, t->pid, t->th[i].tid, t->th[i].resend_sig);
	t->released_at_ns = now_ns();
	drop_reaper(t);
	free(t->th);
	free(t->kids);
	t->th = NULL;
	t->kids = NULL;
	t->nth = t->cap = t->nkids = t->capkids = 0;
	return first;
}
