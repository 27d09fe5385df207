#include "audit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "util.h"

static char *argv_to_json(int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputc('[', f);
	for (int i = 0; i < argc; i++) {
		if (i)
			fputc(',', f);
		json_str(f, argv[i]);
	}
	fputc(']', f);
	fclose(f);
	return buf;
}

int audit_open(struct audit *a, const char *path, const struct options *o)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->uid = getuid();
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (a->fd < 0)
		return -errno;
	gethostname(a->host, sizeof(a->host) - 1);
	const char *user = getenv("SUDO_USER");
	if (!user || !*user)
		user = getlogin();
	snprintf(a->user, sizeof(a->user), "%s", user ? user : "");
	a->argv_json = argv_to_json(o->argc, o->argv);
	a->exe_cache = calloc(AUDIT_EXE_CACHE, sizeof(*a->exe_cache));
	if (!a->argv_json || !a->exe_cache) {
		audit_close(a);
		return -ENOMEM;
	}
	/* Without a syslog daemon (containers, minimal systems) glibc would
	 * try to connect for every record: skip syslog there. */
	a->syslog = access("/dev/log", W_OK) == 0;
	if (a->syslog)
		openlog("sockreap", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	return 0;
}

static void rfc3339_ms(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char zone[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(zone, sizeof(zone), "%z", &tm); /* +0100 -> +01:00 */
	size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ld%.3s:%s", ts.tv_nsec / 1000000, zone, zone + 3);
}

/* The owner's executable, read once per process (a small direct-mapped
 * cache: rows of one process come in runs). */
static const char *exe_of(struct audit *a, pid_t pid)
{
	size_t slot = (size_t)pid % AUDIT_EXE_CACHE;
	if (a->exe_cache[slot].pid != pid) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		ssize_t n = readlink(path, a->exe_cache[slot].exe, sizeof(a->exe_cache[slot].exe) - 1);
		a->exe_cache[slot].exe[n > 0 ? n : 0] = '\0';
		a->exe_cache[slot].pid = pid;
	}
	return a->exe_cache[slot].exe;
}

int audit_flush(struct audit *a)
{
	size_t off = 0;
	if (a->fd < 0)
		return a->len ? -EBADF : 0;
	while (off < a->len) {
		ssize_t w = write(a->fd, a->buf + off, a->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int r = w < 0 ? -errno : -EIO;
			a->len = 0;
			return r;
		}
		off += (size_t)w;
	}
	a->len = 0;
	return 0;
}

int audit_record(struct audit *a, const struct plan *p, const struct row *rw,
		 const struct options *o, const char *phase)
{
	char *buf = NULL, when[40];
	const char *exe = "";
	size_t len = 0;

	if (a->fd < 0)
		return -EBADF;
	if (rw->owner >= 0)
		exe = exe_of(a, p->owners.v[rw->owner].pid);
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	rfc3339_ms(when, sizeof(when));
	fprintf(f, "{\"time\":\"%s\",\"host\":", when);
	json_str(f, a->host);
	fprintf(f, ",\"actor_uid\":%u,\"actor\":", (unsigned)a->uid);
	json_str(f, a->user[0] ? a->user : NULL);
	fprintf(f, ",\"argv\":%s,\"phase\":\"%s\",\"method\":\"%s\",\"exe\":", a->argv_json, phase,
		method_name(o));
	json_str(f, exe[0] ? exe : NULL);
	fputc(',', f);
	report_row_json_fields(f, p, rw, o);
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	/* Whole records only, and each batch one O_APPEND write(2): records
	 * of concurrent runs never interleave. */
	int r = 0;
	if (a->len + len > a->cap) {
		if ((r = audit_flush(a)) < 0) {
			free(buf);
			return r;
		}
		if (len > a->cap) {
			size_t cap = MAX(len, (size_t)65536);
			char *nb = realloc(a->buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			a->buf = nb;
			a->cap = cap;
		}
	}
	memcpy(a->buf + a->len, buf, len);
	a->len += len;
	if (a->syslog)
		syslog(LOG_NOTICE, "%.*s", (int)(len - 1), buf);
	free(buf);
	return r;
}

void audit_close(struct audit *a)
{
	audit_flush(a);
	free(a->buf);
	a->buf = NULL;
	free(a->exe_cache);
	a->exe_cache = NULL;
	a->len = a->cap = 0;
	if (a->fd >= 0)
		close(a->fd);
	if (a->syslog)
		closelog();
	a->syslog = false;
	a->fd = -1;
	free(a->argv_json);
	a->argv_json = NULL;
}
