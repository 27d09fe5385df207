#include "procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool procinfo_maps_wine(const char *maps)
{
	return maps && strstr(maps, "/ntdll.so");
}

int procinfo_read_file(int dirfd, const char *path, char **text, size_t *len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	size_t n = 0, cap = 4096;
	char *buf;

	if (fd < 0)
		return -errno;
	if (!(buf = malloc(cap)))
		return -ENOMEM;
	for (;;) {
		if (cap - n < 2) {
			char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				return -ENOMEM;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + n, cap - n - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int err = -errno;
			free(buf);
			return err;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	buf[n] = '\0';
	*text = buf;
	if (len)
		*len = n;
	return 0;
}

int procinfo_status_field(const char *text, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);

	if (size)
		out[0] = '\0';
	for (const char *line = text; line && *line;) {
		const char *eol = strchr(line, '\n');
		if (!strncmp(line, name, nl) && line[nl] == ':') {
			const char *v = line + nl + 1;
			v += strspn(v, " \t");
			size_t k = eol ? (size_t)(eol - v) : strlen(v);
			if (k >= size)
				return -ENOBUFS;
			memcpy(out, v, k);
			out[k] = '\0';
			return 0;
		}
		line = eol ? eol + 1 : NULL;
	}
	return -ENOENT;
}

int procinfo_pid_status_field(const char *proc_root, pid_t pid, const char *name, char *out, size_t size)
{
	char path[96];
	_cleanup_free_ char *text = NULL;

	snprintf(path, sizeof(path), "%s/%d/status", proc_root, (int)pid);
	int r = procinfo_read_file(AT_FDCWD, path, &text, NULL);
	if (r < 0)
		return r;
	return procinfo_status_field(text, name, out, size);
}

const char *procinfo_stat_fields(const char *stat)
{
	const char *p = strrchr(stat, ')');
	return p && p[1] == ' ' && p[2] ? p + 2 : NULL;
}

int procinfo_stat_start_time(const char *stat, uint64_t *ret)
{
	return procinfo_stat_u64(stat, 22, ret);
}

int procinfo_stat_u64(const char *stat, int n, uint64_t *ret)
{
	const char *p = procinfo_stat_fields(stat);
	if (n < 4)
		return -EINVAL; /* 1, 2: pid and comm; 3: the state letter */
	/* p is field 3 (state); skip fields 3..n-1 */
	for (int field = 3; p && field < n; field++) {
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	if (!p)
		return -EINVAL;
	char num[24];
	size_t k = strspn(p, "0123456789");
	if (!k || k >= sizeof(num) || (p[k] != ' ' && p[k] != '\n' && p[k] != '\0'))
		return -EINVAL;
	memcpy(num, p, k);
	num[k] = '\0';
	return parse_u64(num, UINT64_MAX, ret) < 0 ? -EINVAL : 0;
}

int procinfo_pid_start_time(const char *proc_root, pid_t pid, uint64_t *start_time, char *state)
{
	char path[96];
	_cleanup_free_ char *text = NULL;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	int r = procinfo_read_file(AT_FDCWD, path, &text, NULL);
	if (r < 0)
		return r;
	const char *f = procinfo_stat_fields(text);
	if (!f || (r = procinfo_stat_start_time(text, start_time)) < 0)
		return -EINVAL;
	if (state)
		*state = f[0];
	return 0;
}
