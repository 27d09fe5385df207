/* The audit trail: one JSON line per (socket, owner) row appended to the
 * log (O_APPEND) and sent to syslog. Acting rows get an "intent" record
 * before anything is done and a "result" record after, so a crash cannot
 * leave an action unrecorded; refusals, skips and dry runs get one record.
 *
 * sockreap runs as root, often through sudo: the log must never become a
 * way to write into another file. audit_open refuses symbolic links,
 * FIFOs and devices (but /dev/null), files that are not root's (or, when
 * not root, the invoking user's), group- or world-writable files, files
 * with other hard links, and directories that others may write (unless
 * sticky and root-owned, like /tmp). Under sudo only the default log or a
 * path that the root-owned configuration file allows may be named. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "cli.h"
#include "plan.h"

#define AUDIT_DEFAULT_PATH "/var/log/sockreap.log"
#ifndef SOCKREAP_CONF
#define SOCKREAP_CONF "/etc/sockreap.conf"
#endif
#define AUDIT_EXE_CACHE 1024

struct audit {
	int fd;
	bool regular;    /* a regular file (not /dev/null): reserve, truncate */
	char host[256];
	/* Who acts: never taken from the environment. actor is the login
	 * user (/proc/self/loginuid, set at login, kept across su and sudo)
	 * or, without one, the real uid's user. */
	uid_t real_uid, login_uid, actor_uid;
	bool has_login_uid;
	char real_user[64], login_user[64], actor[64];
	bool sudo;       /* really under sudo: our parent is a setuid-root sudo */
	char sudo_user[64], sudo_uid[16]; /* what sudo put in SUDO_USER/SUDO_UID */
	bool syslog;     /* a syslog daemon listens on /dev/log */
	char *buf;       /* whole records not yet written */
	size_t len, cap;
	/* Records queued in buf, and those that could not be written, by
	 * kind: intent records, result records, results of done actions,
	 * verify records (the kernel's view after acting), verify records of
	 * done actions. */
	size_t q_intent, q_result, q_done, q_verify, q_verify_done;
	size_t lost_intent, lost_result, lost_done, lost_verify, lost_verify_done;
	int lost_err;    /* errno of the last failed write */
	struct audit_exe { pid_t pid; char *exe; } *exe_cache; /* AUDIT_EXE_CACHE */
	char *argv_json; /* the command line as JSON members "argv":[...] */
	bool refused;    /* audit_open: the path was refused, not just unwritable */
	char why[320];   /* audit_open: why it failed, for main's message */
};

/* Under sudo: SUDO_UID is set, or the real uid is not the effective one.
 * Only restricts (the environment may make sockreap stricter, never laxer). */
bool audit_under_sudo(void);

/* May path be the log? Always, when not under sudo; under sudo only the
 * default log or a path listed in conf_path, a root-owned file that no
 * one else may write, with lines "audit-log-allow = /absolute/path"
 * (blank lines and lines starting with '#' are ignored). 0, or -EPERM
 * with why. */
int audit_path_allowed(const char *path, bool under_sudo, const char *conf_path, char *why, size_t whylen);

/* Open path for appending, safely (see above): the fd, or -errno with why;
 * *regular tells a regular file from /dev/null. */
int audit_open_safe(const char *path, bool *regular, char *why, size_t whylen);

/* Open the log (created 0600 if missing). 0 or -errno with a->why; a->refused
 * when the path itself is refused (unsafe, or not allowed under sudo). */
int audit_open(struct audit *a, const char *path, const struct options *o);
/* Queue one record for row; phase is "intent", "result" or "plan".
 * Records are written in batches of whole records, each batch one
 * O_APPEND write(2): call audit_flush() before acting on what an intent
 * describes. 0 or -errno (then nothing may be acted on). */
int audit_record(struct audit *a, const struct plan *p, const struct row *rw,
		 const struct options *o, const char *phase);
/* Write what is queued with one write(2), whole or not at all: the blocks
 * are reserved first (fallocate), and a short write is cut off again. On
 * failure the queued records count as lost (lost_*). 0 or -errno. */
int audit_flush(struct audit *a);
/* Flush and close; 0 or the flush's -errno. */
int audit_close(struct audit *a);
