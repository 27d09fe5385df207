/* sockreap: find sockets, find their owners, plan, ask, act, verify, report.
 * Modules return -errno; only main prints errors and chooses the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "act.h"
#include "arch/arch.h"
#include "audit.h"
#include "check.h"
#include "cli.h"
#include "diag.h"
#include "discover.h"
#include "escape.h"
#include "explain.h"
#include "netns.h"
#include "placeholders.h"
#include "plan.h"
#include "privs.h"
#include "procfd.h"
#include "procinfo.h"
#include "report.h"
#include "util.h"
#include "verify.h"

enum { EXIT_MATCH = 0, EXIT_NOMATCH = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3, EXIT_ENV = 4 };

#define PROC_ROOT "/proc"

/* Can we act at all? A message naming the cause and the fix, or NULL. */
static const char *environment_problem(const struct options *o)
{
	static char why[160];
	uint64_t eff = 0;
	/* The whole status file is read (privs.c): with many supplementary
	 * groups it passes 4 KiB before the CapEff line. */
	int cap = privs_cap_eff(PROC_ROOT, getpid(), &eff);
	/* --destroy is netlink only: no ptrace, so neither Yama nor
	 * CAP_SYS_PTRACE matter; the kernel checks CAP_NET_ADMIN against the
	 * socket's network namespace, and our CapEff is what it sees here. */
	if (o->method == METHOD_DESTROY)
		return cap == 0 && (eff >> PRIV_CAP_NET_ADMIN) & 1
			       ? NULL
			       : "no CAP_NET_ADMIN: the kernel's SOCK_DESTROY needs it in the socket's network "
				 "namespace; run sockreap as root (sudo), or in a container with --cap-add NET_ADMIN";
	if (privs_yama_scope() >= 3)
		return "Yama ptrace_scope is 3: no process may be traced until reboot "
		       "(set kernel.yama.ptrace_scope to 2 or lower at boot)";
	/* CAP_SYS_PTRACE: to attach to (and pidfd_getfd from) processes of
	 * other users. If CapEff cannot be read we do not act: fail closed,
	 * with the reason. */
	if (cap < 0) {
		snprintf(why, sizeof(why), "cannot read CapEff from %s/%d/status (%s), so CAP_SYS_PTRACE is unknown",
			 PROC_ROOT, (int)getpid(), cap == -ENOENT ? "no such field" : strerror(-cap));
		return why;
	}
	if (!((eff >> PRIV_CAP_SYS_PTRACE) & 1))
		return "no CAP_SYS_PTRACE: run sockreap as root (sudo), or in a container started with "
		       "--cap-add SYS_PTRACE";
	return NULL;
}

/* Ask once on the terminal. true: go on. */
static bool consent(const struct plan *p, const struct options *o)
{
	char line[32];
	FILE *tty = fopen("/dev/tty", "r+");
	if (!tty)
		return false;
	fprintf(tty, "sockreap: about to %s %zu socket%s in %zu process%s (see the plan above). Proceed? [y/N] ",
		method_name(o), p->nsockets_acting, p->nsockets_acting == 1 ? "" : "s", p->nprocs_acting,
		p->nprocs_acting == 1 ? "" : "es");
	fflush(tty);
	bool yes = fgets(line, sizeof(line), tty) &&
		   (!strcmp(line, "y\n") || !strcmp(line, "yes\n") || !strcmp(line, "Y\n") ||
		    !strcmp(line, "YES\n"));
	fclose(tty);
	return yes;
}

static void on_signal(int sig)
{
	act_interrupted = sig;
}

static void install_signal_handlers(void)
{
	/* No SA_RESTART: a wait in the engine must see EINTR and check the flag. */
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* The engine sleeps until the kernel's SIGCHLD for a tracee's stop
	 * (tracee.c): an ignored SIGCHLD inherited from the caller would make
	 * every such wait its full timeout. */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, NULL);
}

/* 0 when every planned action was done; 3 when something was refused,
 * failed, or was planned but ended skipped (the target exited, the fd was
 * reused, ...). Ownerless sockets, skipped from the start, do not count. */
static int exit_status(const struct plan *p, const struct options *o)
{
	bool bad = false;
	if (!p->n)
		return EXIT_NOMATCH;
	for (size_t i = 0; i < p->n; i++) {
		const struct row *rw = &p->rows[i];
		if (rw->result == RES_FAILED || rw->result == RES_REFUSED || (rw->acted && rw->result != RES_DONE))
			bad = true;
	}
	return bad && !o->dry_run ? EXIT_PARTIAL : EXIT_MATCH;
}

static int record_all(struct audit *a, const struct plan *p, const struct options *o, bool only_unplanned)
{
	for (size_t i = 0; i < p->n; i++) {
		if (only_unplanned && p->rows[i].result == RES_PLANNED)
			continue;
		int r = audit_record(a, p, &p->rows[i], o, "plan");
		if (r < 0)
			return r;
	}
	return audit_flush(a);
}

/* After acting: the kernel's view (verify.h), recorded after every other
 * record of the run: the verify records, or for --destroy, whose outcome
 * that view decides, its result records. 0 or -errno of the write. */
static int verify_and_record(struct plan *p, const struct options *o, struct audit *a)
{
	_cleanup_free_ size_t *idx = malloc((p->n + 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	verify_rows(p, o);
	size_t n = act_acted_rows(p, o, idx);
	const char *phase = o->method == METHOD_DESTROY ? "result" : "verify";
	for (size_t k = 0; k < n; k++)
		audit_record(a, p, &p->rows[idx[k]], o, phase);
	return audit_flush(a);
}

/* What discovery could not search: namespaces it could not enter, and
 * (by default) sockets processes hold in namespaces it did not search. */
static void discovery_warnings(const struct discovery *d, const struct options *o, bool after)
{
	char hint[400];
	if (!after) {
		for (size_t i = 0; i < d->nskipped && i < 3; i++)
			fprintf(stderr, "sockreap: warning: cannot enter network namespace net:[%llu] (pid %d's): %s; "
					"its sockets were not searched\n",
				(unsigned long long)d->skipped[i].ino, (int)d->skipped[i].pid, strerror(d->skipped[i].err));
		if (d->nskipped > 3)
			fprintf(stderr, "sockreap: warning: ... and %zu more network namespaces that could not be "
					"entered\n", d->nskipped - 3);
		return;
	}
	if (!o->quiet && discover_hint(d, hint, sizeof(hint)))
		fprintf(stderr, "sockreap: %s\n", hint);
}

/* --verbose: say which namespace sockreap itself is in now; only a
 * short-lived helper thread ever entered the others. */
static void verbose_own_netns(void)
{
	char link[64] = "";
	ssize_t n = readlink(PROC_ROOT "/self/ns/net", link, sizeof(link) - 1);
	link[n > 0 ? n : 0] = '\0';
	fprintf(stderr, "sockreap: own network namespace %s at the end (net:[%llu] at the start), %zu searched\n",
		link, (unsigned long long)netns_self(), netns_searched());
}

/* The run will not act: every planned row is refused with the reason, and
 * recorded as such (the audit trail shows attempts that went nowhere). */
static void refuse_run(struct plan *p, const struct options *o, struct audit *a, const char *reason)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].result == RES_PLANNED) {
			p->rows[i].result = RES_REFUSED;
			p->rows[i].reason = reason;
		}
	if (a->fd >= 0 && record_all(a, p, o, false) < 0)
		fprintf(stderr, "sockreap: warning: the refusal could not be recorded in the audit log: %s\n",
			strerror(a->lost_err));
}

/* What the audit log could not take, said exactly. The status stays what
 * the actions earned; losing intents stopped the run (main sets 4). */
static void report_lost_records(const struct audit *a, const char *log)
{
	char elog[512];
	esc_term_buf(elog, sizeof(elog), log);
	if (a->lost_done)
		fprintf(stderr, "sockreap: warning: %zu action%s done, their result records could not be written "
				"to the audit log %s (%s)\n", a->lost_done, a->lost_done == 1 ? "" : "s", elog,
			strerror(a->lost_err));
	if (a->lost_result > a->lost_done && !a->lost_intent)
		fprintf(stderr, "sockreap: warning: %zu result record%s of rows not done could not be written to "
				"the audit log %s (%s)\n", a->lost_result - a->lost_done,
			a->lost_result - a->lost_done == 1 ? "" : "s", elog, strerror(a->lost_err));
	/* The verify records (what the kernel showed after acting) come last:
	 * after a lost intent only those of actions done are worth a word. */
	size_t nverify = a->lost_intent ? a->lost_verify_done : a->lost_verify;
	if (nverify)
		fprintf(stderr, "sockreap: warning: %zu verify record%s%s could not be written to the audit log %s "
				"(%s)\n", nverify, nverify == 1 ? "" : "s", a->lost_intent ? " of actions done" : "",
			elog, strerror(a->lost_err));
}

/* Processes whose fds we could not read, among those the owner filters
 * select, when a matched socket could have an owner: owners may hide
 * there. A message naming them and the missing capability into buf. */
static size_t hidden_owners(const struct plan *p, const struct options *o, bool *fixable, char *buf, size_t size)
{
	const struct owner_list *ol = &p->owners;
	size_t n = 0, shown = 0, off = 0;
	bool dir = false, links = false, any_inode = false;
	bool dac = privs_have(PRIV_CAP_DAC_READ_SEARCH), ptr = privs_have(PRIV_CAP_SYS_PTRACE);

	for (size_t i = 0; i < p->socks.n; i++)
		any_inode |= p->socks.v[i].inode != 0;
	if (!any_inode)
		return 0;
	char pids[200] = "";
	for (size_t i = 0; i < ol->nhidden; i++) {
		struct owner fake = { .pid = ol->hidden[i].pid };
		memcpy(fake.comm, ol->hidden[i].comm, sizeof(fake.comm));
		if (!query_match_owner(&o->q, &fake))
			continue;
		n++;
		dir |= ol->hidden[i].dir;
		links |= !ol->hidden[i].dir;
		if (shown < 4 && off < sizeof(pids)) {
			char comm[64];
			esc_term_buf(comm, sizeof(comm), fake.comm);
			int k = snprintf(pids + off, sizeof(pids) - off, "%s%d (%s)", shown ? ", " : "",
					 (int)fake.pid, comm);
			off += k > 0 ? (size_t)k : 0;
			shown++;
		}
	}
	if (!n)
		return 0;
	/* Fixable: a capability we lack would let us read them. Otherwise
	 * they are beyond any privilege we could have here (they hold
	 * capabilities outside our bounding set, or live in a user
	 * namespace above ours): refusing would only make sockreap unusable. */
	*fixable = (dir && !dac) || (links && !ptr);
	const char *missing_dir = dir && !dac ? "CAP_DAC_READ_SEARCH (other users' /proc/PID/fd)" : "";
	const char *missing_links = links && !ptr ? "CAP_SYS_PTRACE (the fd links of more privileged processes)" : "";
	if (*fixable)
		snprintf(buf, size, "owners may be hidden: the fds of %zu process%s could not be read (pid %s%s); "
				    "missing %s%s%s", n, n == 1 ? "" : "es", pids, n > shown ? ", ..." : "", missing_dir,
			 *missing_dir && *missing_links ? " and " : "", missing_links);
	else
		snprintf(buf, size, "owners may be hidden: the fds of %zu process%s could not be read (pid %s%s) even "
				    "with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: they are more privileged than sockreap "
				    "can be here", n, n == 1 ? "" : "es", pids, n > shown ? ", ..." : "");
	return n;
}

/* Rows of sockets that have an inode (so an owner) but no owner we saw. */
static bool ownerless_rows(const struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->rows[i].owner < 0 && p->socks.v[p->rows[i].sock].inode)
			return true;
	return false;
}

/* Open the audit log; false (and *status) when the run must stop. */
static bool open_log(struct audit *a, const char *log, const struct plan *p, const struct options *o,
		     bool acting, int *status)
{
	char elog[512];
	int r = p->n ? audit_open(a, log, o) : 0;
	if (r >= 0)
		return true;
	esc_term_buf(elog, sizeof(elog), log);
	if (a->refused || acting) {
		report_print(stdout, p, o);
		if (a->refused)
			fprintf(stderr, "sockreap: refusing the audit log %s: %s; nothing is done unlogged%s\n", elog,
				a->why, audit_under_sudo() ? "" : " (choose another with --audit-log PATH)");
		else
			fprintf(stderr, "sockreap: cannot write the audit log %s: %s; nothing is done unlogged "
					"(choose another with --audit-log PATH)\n", elog, a->why);
		*status = EXIT_ENV;
		return false;
	}
	fprintf(stderr, "sockreap: warning: cannot write the audit log %s: %s (dry run: nothing is touched)\n", elog,
		a->why);
	return true;
}

static void census_line(pid_t pid, const char *comm, bool acted)
{
	struct fd_census c;
	if (placeholders_census(PROC_ROOT, pid, &c) < 0 || (!acted && !c.placeholders))
		return;
	char ecomm[80];
	esc_term_buf(ecomm, sizeof(ecomm), comm); /* comm is the process's own choice: escaped like every name */
	if (!c.counted) {
		fprintf(stderr, "sockreap: pid %d (%s): %llu open fds; how many are sockreap placeholders cannot be "
				"told here (no pidfd_getfd)\n", (int)pid, ecomm, (unsigned long long)c.open);
		return;
	}
	char limit[32] = "unlimited";
	if (c.limit != UINT64_MAX)
		snprintf(limit, sizeof(limit), "%llu", (unsigned long long)c.limit);
	fprintf(stderr, "sockreap: pid %d (%s): %llu of its %llu open fds (limit %s) are sockreap placeholders: "
			"they read EOF until the application closes them\n", (int)pid, ecomm,
		(unsigned long long)c.placeholders, (unsigned long long)c.open, limit);
}

/* After acting: each process acted on with a placeholder method, its
 * placeholders and fd headroom. On any run naming --pid: placeholders left
 * there by earlier runs, which no socket dump lists. */
static void print_census(const struct plan *p, const struct options *o)
{
	bool placeholder = method_info(o->method)->placeholder && !o->dry_run;
	/* owners are sorted by pid: one line per distinct acted-on pid */
	for (size_t i = 0; placeholder && i < p->owners.n; i++) {
		const struct owner *ow = &p->owners.v[i];
		if (i > 0 && p->owners.v[i - 1].pid == ow->pid)
			continue;
		bool acted = false;
		for (size_t k = 0; k < p->n && !acted; k++)
			acted = p->rows[k].acted && p->rows[k].owner >= 0 && p->owners.v[p->rows[k].owner].pid == ow->pid;
		if (acted)
			census_line(ow->pid, ow->comm, true);
	}
	for (size_t i = 0; i < o->q.pid.n; i++) {
		bool seen = false;
		for (size_t k = 0; placeholder && k < p->n && !seen; k++)
			seen = p->rows[k].acted && p->rows[k].owner >= 0 &&
			       p->owners.v[p->rows[k].owner].pid == (pid_t)o->q.pid.v[i];
		char comm[32] = "?", path[64];
		snprintf(path, sizeof(path), PROC_ROOT "/%llu/comm", (unsigned long long)o->q.pid.v[i]);
		if (read_small_file(AT_FDCWD, path, comm, sizeof(comm)) > 0)
			comm[strcspn(comm, "\n")] = '\0';
		if (!seen)
			census_line((pid_t)o->q.pid.v[i], comm, false);
	}
}

/* Between the plan and acting: the environment, owners we cannot see,
 * consent. -1 to go on, or the exit status (the rows refused and
 * recorded). hidden holds the reason rows may point to. */
static int gates(struct plan *p, const struct options *o, struct audit *a, bool acting, char *hidden,
		 size_t size)
{
	const char *why = acting ? environment_problem(o) : NULL;
	if (why) {
		refuse_run(p, o, a, why);
		report_print(stdout, p, o);
		fprintf(stderr, "sockreap: cannot act: %s\n", why);
		return EXIT_ENV;
	}
	bool fixable = false;
	if (hidden_owners(p, o, &fixable, hidden, size) &&
	    (fixable || o->verbose || (ownerless_rows(p) && !o->quiet))) {
		if (!o->dry_run && fixable) {
			refuse_run(p, o, a, hidden);
			report_print(stdout, p, o);
			fprintf(stderr, "sockreap: cannot act: %s\n", hidden);
			return EXIT_ENV;
		}
		fprintf(stderr, "sockreap: warning: %s\n", hidden);
	}
	if (!acting || o->yes)
		return -1;
	if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) {
		refuse_run(p, o, a, "no terminal to ask for consent on, and no --yes");
		report_print(stdout, p, o);
		fprintf(stderr, "sockreap: refusing to act without a terminal to ask on: add --yes to act, "
				"or --dry-run to see the plan\n");
		return EXIT_ENV;
	}
	report_print(stderr, p, o);
	if (!consent(p, o)) {
		refuse_run(p, o, a, "not confirmed at the prompt");
		fprintf(stderr, "sockreap: not confirmed; nothing was touched\n");
		return EXIT_PARTIAL;
	}
	return -1;
}

/* The status after acting: what the rows earned, unless the audit log
 * stopped the run (intents lost: 4) or acting failed as a whole. */
static int after_act(const struct plan *p, const struct audit *a, int r, int status)
{
	if (a->lost_intent) {
		size_t done = 0;
		for (size_t i = 0; i < p->n; i++)
			done += p->rows[i].acted && p->rows[i].result == RES_DONE;
		if (done)
			fprintf(stderr, "sockreap: cannot write the audit log: %s; stopped after %zu action%s, "
					"nothing more is done unlogged\n", strerror(a->lost_err), done, done == 1 ? "" : "s");
		else
			fprintf(stderr, "sockreap: cannot write the audit log: %s; nothing is done unlogged, "
					"no action was taken\n", strerror(a->lost_err));
		return EXIT_ENV;
	}
	if (r < 0 && !a->lost_result && !a->lost_verify) {
		fprintf(stderr, "sockreap: %s\n", strerror(-r));
		return EXIT_ENV;
	}
	return status;
}

static int run(const struct options *o)
{
	struct discovery disc;
	struct plan plan = { 0 };
	struct audit audit = { .fd = -1 };
	_cleanup_free_ pid_t *anc = NULL;
	size_t nanc = 0;
	char derr[512] = "";
	int r = 0, status;
	char hidden[512];

	if ((r = discover_run(o, PROC_ROOT, &disc, derr, sizeof(derr))) < 0) {
		fprintf(stderr, "sockreap: %s\n", derr);
		netns_reset();
		return r == -EINVAL ? EXIT_USAGE : EXIT_ENV;
	}
	discovery_warnings(&disc, o, false);
	if (plan_ancestors(PROC_ROOT, getpid(), &anc, &nanc) < 0)
		nanc = 0;
	/* The operator's ssh connection, even when its sshd is no ancestor
	 * (tmux, screen, setsid, nohup). */
	struct session_list sessions = { 0 };
	if (session_collect(PROC_ROOT, getpid(), anc, nanc, &sessions) < 0)
		session_list_free(&sessions);
	struct plan_env env = { .proc_root = PROC_ROOT, .self = getpid(), .ancestors = anc, .nancestors = nanc,
				.sessions = &sessions, .no_inject = arch_inject_refusal() };
	r = plan_build(&plan, &disc.socks, &disc.owners, o, &env);
	session_list_free(&sessions);
	if (r < 0) {
		fprintf(stderr, "sockreap: %s\n", strerror(-r));
		discovery_free(&disc);
		plan_free(&plan);
		netns_reset();
		return EXIT_ENV;
	}
	const char *log = o->audit_log ? o->audit_log : AUDIT_DEFAULT_PATH;
	if (o->explain) {
		/* read-only, always: no consent, no audit record, no attach;
		 * but "nobody holds it" may be an owner we could not see */
		bool fixable = false;
		explain_print(stdout, &plan, o);
		if (hidden_owners(&plan, o, &fixable, hidden, sizeof(hidden)) && !o->quiet)
			fprintf(stderr, "sockreap: warning: %s\n", hidden);
		status = plan.n ? EXIT_MATCH : EXIT_NOMATCH;
		goto out;
	}

	bool acting = !o->dry_run && plan.nsockets_acting > 0;

	if (!open_log(&audit, log, &plan, o, acting, &status))
		goto out;
	if ((status = gates(&plan, o, &audit, acting, hidden, sizeof(hidden))) >= 0)
		goto out;

	if (audit.fd >= 0 && (r = record_all(&audit, &plan, o, acting)) < 0) {
		if (acting) {
			fprintf(stderr, "sockreap: cannot write the audit log: %s; nothing is done unlogged\n",
				strerror(-r));
			status = EXIT_ENV;
			goto out;
		}
		fprintf(stderr, "sockreap: warning: the plan records could not be written to the audit log: %s\n",
			strerror(-r));
	}
	r = 0;
	if (acting) {
		install_signal_handlers();
		r = act_run(&plan, o, &audit, &act_real);
		int w = verify_and_record(&plan, o, &audit);
		if (!r)
			r = w;
		if (act_interrupted)
			fprintf(stderr, "sockreap: interrupted by signal %d: every target was restored and detached\n",
				(int)act_interrupted);
	}
	report_print(stdout, &plan, o);
	status = exit_status(&plan, o);
	if (acting)
		status = after_act(&plan, &audit, r, status);
out:
	if (!o->quiet && o->explain)
		explain_summary(stderr, &plan);
	else if (!o->quiet) {
		report_summary(stderr, &plan, o);
		print_census(&plan, o);
	}
	discovery_warnings(&disc, o, true);
	if (o->verbose)
		verbose_own_netns();
	fflush(stdout);
	audit_close(&audit);
	report_lost_records(&audit, log);
	plan_free(&plan);
	discovery_free(&disc);
	netns_reset();
	return status;
}

/* --check --pid N: 0 acting would work, 4 it would not, 1 no such process. */
static int run_check(const struct options *o)
{
	struct check_report r;
	pid_t pid = (pid_t)o->q.pid.v[0];
	if (check_run(PROC_ROOT, pid, o, &r) < 0) {
		fprintf(stderr, "sockreap: --check: no process %d\n", (int)pid);
		return EXIT_NOMATCH;
	}
	check_print(stdout, &r, o->json);
	return r.would_work ? EXIT_MATCH : EXIT_ENV;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[256];

	/* An inherited RLIMIT_FSIZE must not kill us in the middle of an
	 * injection: the write fails with EFBIG instead, which we handle. */
	signal(SIGXFSZ, SIG_IGN);
	int r = cli_parse(argc, argv, &o, err, sizeof(err));
	if (r == CLI_EXIT) {
		options_free(&o);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "sockreap: %s\n", err);
		options_free(&o);
		return EXIT_USAGE;
	}
	int status = o.check ? run_check(&o) : run(&o);
	options_free(&o);
	return status;
}
