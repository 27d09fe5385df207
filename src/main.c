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
#include "audit.h"
#include "cli.h"
#include "diag.h"
#include "discover.h"
#include "explain.h"
#include "netns.h"
#include "placeholders.h"
#include "plan.h"
#include "procfd.h"
#include "procinfo.h"
#include "report.h"
#include "util.h"

enum { EXIT_MATCH = 0, EXIT_NOMATCH = 1, EXIT_USAGE = 2, EXIT_PARTIAL = 3, EXIT_ENV = 4 };

#define PROC_ROOT "/proc"

/* A bit of CapEff: 19 CAP_SYS_PTRACE, needed to attach to (and pidfd_getfd
 * from) processes of other users; 12 CAP_NET_ADMIN, needed for SOCK_DESTROY.
 * 1 yes, 0 no, -errno if CapEff cannot be read (then we do not act: fail
 * closed, with the reason). The whole status file is read: with many
 * supplementary groups it passes 4 KiB before the CapEff line. */
static int have_cap(int bit)
{
	char buf[32], *end;
	int r = procinfo_pid_status_field(PROC_ROOT, getpid(), "CapEff", buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	uint64_t caps = strtoull(buf, &end, 16);
	if (errno || end == buf || *end)
		return -EINVAL;
	return (caps >> bit) & 1;
}

static int have_cap_sys_ptrace(void)
{
	return have_cap(19);
}

/* Can we act at all? A message naming the cause and the fix, or NULL. */
static const char *environment_problem(const struct options *o)
{
	static char why[160];
	/* --destroy is netlink only: no ptrace, so neither Yama nor
	 * CAP_SYS_PTRACE matter; the kernel checks CAP_NET_ADMIN against the
	 * socket's network namespace, and our CapEff is what it sees here. */
	if (o->method == METHOD_DESTROY)
		return have_cap(12) == 1 ? NULL
				    : "no CAP_NET_ADMIN: the kernel's SOCK_DESTROY needs it in the socket's network "
				      "namespace; run sockreap as root (sudo), or in a container with --cap-add NET_ADMIN";
	char buf[16];
	if (read_small_file(AT_FDCWD, "/proc/sys/kernel/yama/ptrace_scope", buf, sizeof(buf)) > 0 &&
	    atoi(buf) >= 3)
		return "Yama ptrace_scope is 3: no process may be traced until reboot "
		       "(set kernel.yama.ptrace_scope to 2 or lower at boot)";
	int cap = have_cap_sys_ptrace();
	if (cap < 0) {
		snprintf(why, sizeof(why), "cannot read CapEff from %s/%d/status (%s), so CAP_SYS_PTRACE is unknown",
			 PROC_ROOT, (int)getpid(), cap == -ENOENT ? "no such field" : strerror(-cap));
		return why;
	}
	if (!cap)
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

static void census_line(pid_t pid, const char *comm, bool acted)
{
	struct fd_census c;
	if (placeholders_census(PROC_ROOT, pid, &c) < 0 || (!acted && !c.placeholders))
		return;
	char limit[32] = "unlimited";
	if (c.limit != UINT64_MAX)
		snprintf(limit, sizeof(limit), "%llu", (unsigned long long)c.limit);
	fprintf(stderr, "sockreap: pid %d (%s): %llu of its %llu open fds (limit %s) are sockreap placeholders: "
			"they read EOF until the application closes them\n", (int)pid, comm,
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

static int run(const struct options *o)
{
	struct discovery disc;
	struct plan plan = { 0 };
	struct audit audit = { .fd = -1 };
	_cleanup_free_ pid_t *anc = NULL;
	size_t nanc = 0;
	char derr[512] = "";
	int r, status;

	if ((r = discover_run(o, PROC_ROOT, &disc, derr, sizeof(derr))) < 0) {
		fprintf(stderr, "sockreap: %s\n", derr);
		netns_reset();
		return r == -EINVAL ? EXIT_USAGE : EXIT_ENV;
	}
	discovery_warnings(&disc, o, false);
	if (plan_ancestors(PROC_ROOT, getpid(), &anc, &nanc) < 0)
		nanc = 0;
	struct plan_env env = { .proc_root = PROC_ROOT, .self = getpid(), .ancestors = anc, .nancestors = nanc };
	if ((r = plan_build(&plan, &disc.socks, &disc.owners, o, &env)) < 0) {
		fprintf(stderr, "sockreap: %s\n", strerror(-r));
		discovery_free(&disc);
		plan_free(&plan);
		netns_reset();
		return EXIT_ENV;
	}
	if (o->explain) {
		/* read-only, always: no consent, no audit record, no attach */
		explain_print(stdout, &plan, o);
		status = plan.n ? EXIT_MATCH : EXIT_NOMATCH;
		goto out;
	}

	const char *log = o->audit_log ? o->audit_log : AUDIT_DEFAULT_PATH;
	bool acting = !o->dry_run && plan.nsockets_acting > 0;

	if (acting) {
		const char *why = environment_problem(o);
		if (why) {
			report_print(stdout, &plan, o);
			fprintf(stderr, "sockreap: cannot act: %s\n", why);
			status = EXIT_ENV;
			goto out;
		}
	}
	r = plan.n ? audit_open(&audit, log, o) : 0;
	if (r < 0) {
		if (acting) {
			report_print(stdout, &plan, o);
			fprintf(stderr, "sockreap: cannot write the audit log %s: %s; nothing is done unlogged "
					"(choose another with --audit-log PATH)\n", log, strerror(-r));
			status = EXIT_ENV;
			goto out;
		}
		fprintf(stderr, "sockreap: warning: cannot write the audit log %s: %s (dry run: nothing is touched)\n",
			log, strerror(-r));
	}

	if (acting && !o->yes) {
		bool tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO);
		if (!tty) {
			report_print(stdout, &plan, o);
			fprintf(stderr, "sockreap: refusing to act without a terminal to ask on: add --yes to act, "
					"or --dry-run to see the plan\n");
			status = EXIT_ENV;
			goto out;
		}
		report_print(stderr, &plan, o);
		if (!consent(&plan, o)) {
			fprintf(stderr, "sockreap: not confirmed; nothing was touched\n");
			status = EXIT_PARTIAL;
			goto out;
		}
	}

	if (audit.fd >= 0 && (r = record_all(&audit, &plan, o, acting)) < 0 && acting) {
		fprintf(stderr, "sockreap: cannot write the audit log %s: %s; nothing is done unlogged\n", log,
			strerror(-r));
		status = EXIT_ENV;
		goto out;
	}
	if (acting) {
		install_signal_handlers();
		r = act_run(&plan, o, &audit);
		if (act_interrupted)
			fprintf(stderr, "sockreap: interrupted by signal %d: every target was restored and detached\n",
				(int)act_interrupted);
	}
	report_print(stdout, &plan, o);
	status = exit_status(&plan, o);
	if (acting && r < 0) {
		/* act_run fails as a whole only when the audit log could not
		 * be written: it stopped before touching anything more */
		fprintf(stderr, "sockreap: cannot write the audit log %s: %s; stopped, nothing more was done\n", log,
			strerror(-r));
		status = EXIT_ENV;
	}
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
	plan_free(&plan);
	discovery_free(&disc);
	netns_reset();
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	char err[256];

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
	int status = run(&o);
	options_free(&o);
	return status;
}
