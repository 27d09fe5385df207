/* The audit trail: one JSON line per (socket, owner) row appended to the
 * log (O_APPEND) and sent to syslog. Acting rows get an "intent" record
 * before anything is done and a "result" record after, so a crash cannot
 * leave an action unrecorded; refusals, skips and dry runs get one record. */
#pragma once
#include <stdbool.h>

#include "cli.h"
#include "plan.h"

#define AUDIT_DEFAULT_PATH "/var/log/sockreap.log"
#define AUDIT_EXE_CACHE 1024

struct audit {
	int fd;
	char host[256];
	char user[64];   /* SUDO_USER or the login name, "" if unknown */
	uid_t uid;
	bool syslog;     /* a syslog daemon listens on /dev/log */
	char *buf;       /* whole records not yet written */
	size_t len, cap;
	struct audit_exe { pid_t pid; char exe[256]; } *exe_cache; /* AUDIT_EXE_CACHE */
	char *argv_json; /* the command line as a JSON array */
};

/* Open the log (created 0600 if missing). 0 or -errno. */
int audit_open(struct audit *a, const char *path, const struct options *o);
/* Queue one record for row; phase is "intent", "result" or "plan".
 * Records are written in batches of whole records, each batch one
 * O_APPEND write(2): call audit_flush() before acting on what an intent
 * describes. 0 or -errno (then nothing may be acted on). */
int audit_record(struct audit *a, const struct plan *p, const struct row *rw,
		 const struct options *o, const char *phase);
int audit_flush(struct audit *a);
void audit_close(struct audit *a);
