/* The plan: every (socket, owner) pair the query matched becomes one row
 * with the action to take or the reason it is refused. act fills in what
 * happened, verify what is true afterwards; report and audit print rows. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "diag.h"
#include "procfd.h"
#include "session.h"

enum result { RES_PLANNED, RES_DONE, RES_SKIPPED, RES_REFUSED, RES_FAILED };

struct row {
	size_t sock;         /* index into the socket list */
	ssize_t owner;       /* index into the owner list, -1: no owner */
	unsigned nowners;    /* how many (pid, fd) hold this socket */
	ssize_t via;         /* --destroy: the row that acts for this socket, -1: itself */
	bool epoll;          /* the owner's epoll set watches this fd */
	enum result result;
	bool acted;          /* was planned when acting began: anything but
			      * done then means the run fell short */
	const char *reason;  /* static text; refusals and skips always have one */
	const char *note;    /* a warning that does not stop the action */
	int err;             /* positive errno when failed */
	char verify[192];    /* what verify saw afterwards, "" before */
	char detail[200];    /* storage for a reason composed at run time */
	double stall_ms;     /* how long the owner was stopped for us, -1: never */
	char *backtrace;     /* --backtrace: the owner's threads' stacks (owned) */
	int backtrace_fd;    /* -1, or: the stacks are on the row of this fd of the same owner */
};

struct plan {
	struct sock_list socks;
	struct owner_list owners;
	size_t n, cap;
	struct row *rows;
	size_t nsockets_acting;  /* distinct sockets with a planned action */
	size_t nprocs_acting;    /* distinct processes with a planned action */
};

/* Everything plan needs to know about the world besides the options: the
 * /proc root, our own pid and our ancestors' pids (so tests can fake them). */
struct plan_env {
	const char *proc_root;
	pid_t self;
	const pid_t *ancestors;
	size_t nancestors;
	const struct session_list *sessions; /* SSH_CONNECTION/SSH_CLIENT of self and ancestors */
	/* Why nothing can be injected in this build (arch_inject_refusal()),
	 * NULL if it can: a method that must act inside the target is then
	 * refused with this reason. */
	const char *no_inject;
};

/* Build rows from sockets and owners matching the query, sorted by socket
 * then pid and fd, and apply the safety policy. Takes ownership of socks and
 * owners. 0 or -errno. */
int plan_build(struct plan *p, struct sock_list *socks, struct owner_list *owners,
	       const struct options *o, const struct plan_env *env);

/* Collect the pids of pid's ancestors (parent, grandparent, ... up to 1)
 * from <proc_root>/PID/stat into a malloc'ed array. */
int plan_ancestors(const char *proc_root, pid_t pid, pid_t **ret, size_t *n);

/* Distinct pids among the rows (only rows still planned, if asked). */
size_t plan_count_pids(const struct plan *p, bool planned_only);
const char *method_name(const struct options *o);
const char *result_name(enum result r);
void plan_free(struct plan *p);
