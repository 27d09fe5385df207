#include "audit.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"
#include "report.h"
#include "util.h"

static int refuse(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EPERM;
}

bool audit_under_sudo(void)
{
	return getenv("SUDO_UID") || getuid() != geteuid();
}

/* One "key = value" line of the configuration; 1 if it allows path. */
static int conf_line(char *line, unsigned lineno, const char *conf, const char *path, char *why, size_t whylen)
{
	char *p = line + strspn(line, " \t");
	if (!*p || *p == '#')
		return 0;
	char *eq = strchr(p, '=');
	if (!eq)
		return refuse(why, whylen, "%s line %u: expected 'audit-log-allow = /path'", conf, lineno);
	char *kend = eq;
	while (kend > p && (kend[-1] == ' ' || kend[-1] == '\t'))
		kend--;
	*kend = '\0';
	char *v = eq + 1;
	v += strspn(v, " \t");
	size_t vl = strlen(v);
	while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	if (strcmp(p, "audit-log-allow") != 0)
		return refuse(why, whylen, "%s line %u: unknown setting '%.40s'", conf, lineno, p);
	if (v[0] != '/')
		return refuse(why, whylen, "%s line %u: audit-log-allow needs an absolute path", conf, lineno);
	return strcmp(v, path) == 0;
}

int audit_path_allowed(const char *path, bool under_sudo, const char *conf, char *why, size_t whylen)
{
	if (!under_sudo || !strcmp(path, AUDIT_DEFAULT_PATH))
		return 0;
	int fd = open(conf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return refuse(why, whylen, "under sudo only %s or a path allowed in %s may be the audit log (%s: %s)",
			      AUDIT_DEFAULT_PATH, conf, conf, strerror(errno));
	_cleanup_fclose_ FILE *f = fdopen(fd, "r");
	struct stat st;
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return refuse(why, whylen, "%s is not a regular file owned by root and writable only by root: "
					   "it is ignored", conf);
	char line[4096];
	unsigned lineno = 0;
	bool allowed = false;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		size_t n = strlen(line);
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f))
			return refuse(why, whylen, "%s line %u: too long", conf, lineno);
		int r = conf_line(line, lineno, conf, path, why, whylen);
		if (r < 0)
			return r;
		allowed |= r > 0;
	}
	if (!allowed)
		return refuse(why, whylen, "under sudo only %s or a path allowed in %s (audit-log-allow = PATH) "
					   "may be the audit log", AUDIT_DEFAULT_PATH, conf);
	return 0;
}

/* Who may own the log and its directory: root, and the invoking user
 * when sockreap does not run as root. */
static bool trusted_owner(uid_t uid)
{
	return uid == 0 || (geteuid() != 0 && uid == getuid());
}

static const char *kind(mode_t m)
{
	return S_ISLNK(m) ? "a symbolic link" : S_ISFIFO(m) ? "a FIFO" : S_ISDIR(m) ? "a directory" :
	       S_ISSOCK(m) ? "a socket" : S_ISCHR(m) || S_ISBLK(m) ? "a device" : "not a regular file";
}

static int open_dev_null(bool *regular, char *why, size_t whylen)
{
	struct stat st;
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return snprintf(why, whylen, "%s", strerror(errno)), -errno;
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		close(fd);
		return refuse(why, whylen, "/dev/null is not the null device");
	}
	*regular = false;
	return fd;
}

/* Is the directory one others cannot use to swap the file under us? */
static int check_dir(int dfd, const char *dir, char *why, size_t whylen)
{
	struct stat st;
	if (fstat(dfd, &st) < 0)
		return snprintf(why, whylen, "%s: %s", dir, strerror(errno)), -errno;
	bool sticky_root = (st.st_mode & S_ISVTX) && st.st_uid == 0;
	if ((st.st_mode & S_IWOTH) && !sticky_root)
		return refuse(why, whylen, "its directory %s is world-writable and not a sticky root-owned one", dir);
	if (!trusted_owner(st.st_uid) && !sticky_root)
		return refuse(why, whylen, "its directory %s belongs to uid %u, who could replace the file", dir,
			      (unsigned)st.st_uid);
	return 0;
}

/* The properties of the file itself, on the opened descriptor: what we
 * check is what we write to. */
static int check_file(int fd, char *why, size_t whylen)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return snprintf(why, whylen, "%s", strerror(errno)), -errno;
	if (!S_ISREG(st.st_mode))
		return refuse(why, whylen, "it is %s", kind(st.st_mode));
	if (!trusted_owner(st.st_uid))
		return refuse(why, whylen, "it belongs to uid %u, not to %s", (unsigned)st.st_uid,
			      geteuid() == 0 ? "root" : "root or you");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return refuse(why, whylen, "it is %s-writable (mode %04o)", st.st_mode & S_IWOTH ? "world" : "group",
			      (unsigned)(st.st_mode & 07777));
	if (st.st_nlink != 1)
		return refuse(why, whylen, "it has %lu hard links: it may be another file too",
			      (unsigned long)st.st_nlink);
	return 0;
}

int audit_open_safe(const char *path, bool *regular, char *why, size_t whylen)
{
	if (!strcmp(path, "/dev/null"))
		return open_dev_null(regular, why, whylen);
	size_t n = strlen(path);
	if (!n || path[n - 1] == '/')
		return refuse(why, whylen, "it names a directory");
	_cleanup_free_ char *d = strdup(path), *b = strdup(path);
	if (!d || !b)
		return -ENOMEM;
	const char *dir = dirname(d), *base = basename(b);
	if (!strcmp(base, ".") || !strcmp(base, ".."))
		return refuse(why, whylen, "it names a directory");

	_cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return snprintf(why, whylen, "%s: %s", dir, strerror(errno)), -errno;
	int r = check_dir(dfd, dir, why, whylen);
	if (r < 0)
		return r;
	/* Look before opening: opening a device or FIFO can have effects. */
	struct stat st;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode))
		return refuse(why, whylen, "it is %s", kind(st.st_mode));
	/* O_NOFOLLOW: a link planted since is refused (ELOOP); O_NONBLOCK: a
	 * FIFO swapped in since never blocks the open (ENXIO or refused by
	 * check_file). */
	int fd = openat(dfd, base, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		r = -errno;
		if (r == -ELOOP)
			return refuse(why, whylen, "it is a symbolic link");
		if (r == -ENXIO)
			return refuse(why, whylen, "it is a FIFO");
		snprintf(why, whylen, "%s", strerror(-r));
		return r;
	}
	if ((r = check_file(fd, why, whylen)) < 0) {
		close(fd);
		return r;
	}
	*regular = true;
	return fd;
}

static void user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *res = NULL;
	char tmp[1024];
	buf[0] = '\0';
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
		snprintf(buf, size, "%s", res->pw_name);
}

/* Really under sudo: our parent runs a setuid-root program named sudo
 * (with use_pty that is sudo's monitor process, the same program). Only
 * then is SUDO_USER what sudo itself put there. */
static bool parent_is_sudo(void)
{
	char path[64], exe[4096];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)getppid());
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	const char *base = strrchr(exe, '/');
	return base && !strcmp(base + 1, "sudo") && stat(path, &st) == 0 && st.st_uid == 0 &&
	       (st.st_mode & S_ISUID);
}

static void identify(struct audit *a)
{
	char buf[32];
	uint64_t v;

	a->real_uid = getuid();
	user_name(a->real_uid, a->real_user, sizeof(a->real_user));
	/* (uid_t)-1 means "not set": a process that never logged in. */
	if (read_small_file(AT_FDCWD, "/proc/self/loginuid", buf, sizeof(buf)) > 0 &&
	    (buf[strcspn(buf, "\n")] = '\0', parse_u64(buf, UINT32_MAX - 1, &v) == 0)) {
		a->has_login_uid = true;
		a->login_uid = (uid_t)v;
		user_name(a->login_uid, a->login_user, sizeof(a->login_user));
	}
	a->actor_uid = a->has_login_uid ? a->login_uid : a->real_uid;
	snprintf(a->actor, sizeof(a->actor), "%s", a->has_login_uid ? a->login_user : a->real_user);
	const char *su = getenv("SUDO_USER"), *sid = getenv("SUDO_UID");
	if ((su || sid) && parent_is_sudo()) {
		a->sudo = true;
		snprintf(a->sudo_user, sizeof(a->sudo_user), "%s", su ? su : "");
		snprintf(a->sudo_uid, sizeof(a->sudo_uid), "%s", sid ? sid : "");
	}
}

/* "argv":[...], and "argv_hex":[...] as well when an argument is not UTF-8. */
static char *argv_to_json(int argc, char **argv)
{
	char *buf = NULL;
	size_t len = 0;
	bool lossy = false;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	fputs("\"argv\":[", f);
	for (int i = 0; i < argc; i++) {
		if (i)
			fputc(',', f);
		lossy |= esc_json(f, argv[i]);
	}
	fputc(']', f);
	if (lossy) {
		fputs(",\"argv_hex\":[", f);
		for (int i = 0; i < argc; i++) {
			fputs(i ? ",\"" : "\"", f);
			for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
				fprintf(f, "%02x", *p);
			fputc('"', f);
		}
		fputc(']', f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int audit_open(struct audit *a, const char *path, const struct options *o)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	int r = audit_path_allowed(path, audit_under_sudo(), SOCKREAP_CONF, a->why, sizeof(a->why));
	if (r < 0) {
		a->refused = r == -EPERM;
		return r;
	}
	r = audit_open_safe(path, &a->regular, a->why, sizeof(a->why));
	if (r < 0) {
		a->refused = r == -EPERM;
		return r;
	}
	a->fd = r;
	gethostname(a->host, sizeof(a->host) - 1);
	identify(a);
	a->argv_json = argv_to_json(o->argc, o->argv);
	a->exe_cache = calloc(AUDIT_EXE_CACHE, sizeof(*a->exe_cache));
	if (!a->argv_json || !a->exe_cache) {
		audit_close(a);
		snprintf(a->why, sizeof(a->why), "%s", strerror(ENOMEM));
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

/* The whole link, however long (the kernel gives up to PATH_MAX). */
static char *read_link(const char *path)
{
	for (size_t size = 256; size <= 65536; size *= 2) {
		char *buf = malloc(size);
		if (!buf)
			return NULL;
		ssize_t n = readlink(path, buf, size);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if ((size_t)n < size) {
			buf[n] = '\0';
			return buf;
		}
		free(buf);
	}
	return NULL;
}

/* The owner's executable, read once per process (a small direct-mapped
 * cache: rows of one process come in runs). NULL if unknown. */
static const char *exe_of(struct audit *a, pid_t pid)
{
	struct audit_exe *e = &a->exe_cache[(size_t)pid % AUDIT_EXE_CACHE];
	if (e->pid != pid) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
		free(e->exe);
		e->exe = read_link(path);
		e->pid = pid;
	}
	return e->exe;
}

/* The file is ours and nothing was appended after our bytes: cut them. */
static void cut_torn(int fd, size_t written)
{
	struct stat st;
	off_t end = lseek(fd, 0, SEEK_CUR);
	if (end >= (off_t)written && fstat(fd, &st) == 0 && st.st_size == end &&
	    ftruncate(fd, end - (off_t)written) < 0) {
		/* nothing more we can do: the caller reports the failure */
	}
}

/* A short write does not say why: with RLIMIT_FSIZE reached it is EFBIG,
 * otherwise the disk or quota is full. */
static int short_write_errno(int fd)
{
	struct rlimit rl;
	off_t end = lseek(fd, 0, SEEK_CUR);
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && end >= (off_t)rl.rlim_cur)
		return EFBIG;
	return ENOSPC;
}

/* Other sockreap runs appending to the same log: serialize flushes so a
 * cut-off never takes their records with it. Bounded: a holder that
 * never lets go only costs that protection. */
static bool lock_log(int fd)
{
	uint64_t deadline = now_ns() + 2000ull * 1000 * 1000;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK || now_ns() >= deadline)
			return false;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return true;
}

static int write_whole(struct audit *a)
{
	struct stat st;
	ssize_t w;
	int err = 0;

	bool locked = a->regular && lock_log(a->fd);
	/* Reserve the blocks first: when the disk is full we learn it
	 * before writing a byte. */
	if (a->regular && fstat(a->fd, &st) == 0 &&
	    fallocate(a->fd, FALLOC_FL_KEEP_SIZE, st.st_size, (off_t)a->len) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS && errno != EINTR) {
		err = errno;
		goto out;
	}
	do
		w = write(a->fd, a->buf, a->len);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		err = errno;
	else if ((size_t)w < a->len) {
		err = short_write_errno(a->fd);
		if (a->regular)
			cut_torn(a->fd, (size_t)w);
	}
out:
	if (locked)
		flock(a->fd, LOCK_UN);
	return -err;
}

int audit_flush(struct audit *a)
{
	int r = 0;
	if (!a->len)
		return 0;
	r = a->fd < 0 ? -EBADF : write_whole(a);
	if (r < 0) {
		a->lost_intent += a->q_intent;
		a->lost_result += a->q_result;
		a->lost_done += a->q_done;
		a->lost_verify += a->q_verify;
		a->lost_verify_done += a->q_verify_done;
		a->lost_err = -r;
	}
	a->len = a->q_intent = a->q_result = a->q_done = a->q_verify = a->q_verify_done = 0;
	return r;
}

static void actor_json(FILE *f, const struct audit *a)
{
	fputs("\"actor\":", f);
	esc_json(f, a->actor[0] ? a->actor : NULL);
	fprintf(f, ",\"actor_uid\":%u,\"actor_from\":\"%s\",\"real_uid\":%u,\"real_user\":", (unsigned)a->actor_uid,
		a->has_login_uid ? "loginuid" : "uid", (unsigned)a->real_uid);
	esc_json(f, a->real_user[0] ? a->real_user : NULL);
	if (a->has_login_uid)
		fprintf(f, ",\"login_uid\":%u", (unsigned)a->login_uid);
	else
		fputs(",\"login_uid\":null", f);
	if (a->sudo) {
		fputc(',', f);
		esc_json_field(f, "sudo_user", a->sudo_user);
		fputs(",\"sudo_uid\":", f);
		esc_json(f, a->sudo_uid);
	}
}

static int queue(struct audit *a, const char *rec, size_t len)
{
	if (a->len + len > a->cap) {
		int r = audit_flush(a);
		if (r < 0)
			return r;
		if (len > a->cap) {
			size_t cap = MAX(len, (size_t)65536);
			char *nb = realloc(a->buf, cap);
			if (!nb)
				return -ENOMEM;
			a->buf = nb;
			a->cap = cap;
		}
	}
	memcpy(a->buf + a->len, rec, len);
	a->len += len;
	return 0;
}

int audit_record(struct audit *a, const struct plan *p, const struct row *rw,
		 const struct options *o, const char *phase)
{
	char *buf = NULL, when[40];
	const char *exe = NULL;
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
	esc_json(f, a->host);
	fputc(',', f);
	actor_json(f, a);
	fprintf(f, ",%s,\"phase\":\"%s\",\"method\":\"%s\",", a->argv_json, phase, method_name(o));
	esc_json_field(f, "exe", exe);
	fputc(',', f);
	report_row_json_fields(f, p, rw, o);
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	/* Whole records only, and each batch one O_APPEND write(2): records
	 * of concurrent runs never interleave. */
	bool intent = !strcmp(phase, "intent"), result = !strcmp(phase, "result");
	bool verify = !strcmp(phase, "verify");
	bool done = result && rw->result == RES_DONE, verify_done = verify && rw->result == RES_DONE;
	int r = queue(a, buf, len);
	if (r == 0) {
		a->q_intent += intent;
		a->q_result += result;
		a->q_done += done;
		a->q_verify += verify;
		a->q_verify_done += verify_done;
	} else {
		/* the batch before it could not be written: this one is
		 * lost with it (callers may not look at our result) */
		a->lost_intent += intent;
		a->lost_result += result;
		a->lost_done += done;
		a->lost_verify += verify;
		a->lost_verify_done += verify_done;
	}
	if (a->syslog)
		syslog(LOG_NOTICE, "%.*s", (int)(len - 1), buf);
	free(buf);
	return r;
}

int audit_close(struct audit *a)
{
	int r = audit_flush(a);
	free(a->buf);
	a->buf = NULL;
	if (a->exe_cache)
		for (size_t i = 0; i < AUDIT_EXE_CACHE; i++)
			free(a->exe_cache[i].exe);
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
	return r;
}
